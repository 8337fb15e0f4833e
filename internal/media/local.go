package media

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mercantile/mercantile/internal/apperr"
)

// Local stores objects as files under a directory and serves them itself: the store of
// the embedded default, where there is no S3. Its upload URLs point at this server and
// carry an HMAC signature in place of S3's.
//
// Under the directory, objects/<key> holds the bytes as uploaded, types/<key> the content
// type they were uploaded with, and .signing-key the generated signing key (when none is
// configured). Files are only ever reached through an os.Root on the directory, so not
// even a symlink planted inside can lead a request out of it.
type Local struct {
	dir        string
	publicBase string
	key        []byte
	maxBytes   int64
	now        func() time.Time
}

const (
	objectsDir     = "objects"
	typesDir       = "types"
	signingKeyFile = ".signing-key"
	// minSigningKeyLen is SHA-256's output size: a shorter HMAC key weakens the signature.
	minSigningKeyLen = 32
	// routePrefix and uploadPrefix are the paths Handler answers under.
	routePrefix  = "/media/"
	uploadPrefix = routePrefix + "upload/"
)

// NewLocal returns a store under dir whose URLs start with publicBaseURL (how clients
// reach this server). signingKey signs upload URLs; when it is empty, a key generated on
// the first start and kept in dir/.signing-key is used, so URLs handed out stay valid
// across restarts. maxBytes caps every upload, whatever size was signed.
func NewLocal(dir, publicBaseURL string, signingKey []byte, maxBytes int64) (*Local, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("media: the upload limit must be positive, got %d", maxBytes)
	}
	for _, sub := range []string{objectsDir, typesDir} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			return nil, fmt.Errorf("media: %w", err)
		}
	}
	if len(signingKey) == 0 {
		var err error
		if signingKey, err = loadOrCreateKey(dir); err != nil {
			return nil, err
		}
	}
	if len(signingKey) < minSigningKeyLen {
		return nil, fmt.Errorf("media: the signing key must be at least %d bytes, got %d", minSigningKeyLen, len(signingKey))
	}
	return &Local{
		dir:        dir,
		publicBase: strings.TrimRight(publicBaseURL, "/"),
		key:        signingKey,
		maxBytes:   maxBytes,
		now:        time.Now,
	}, nil
}

// loadOrCreateKey returns the key kept in dir, creating it first if needed. The new key
// is written to a temporary file and hard-linked into place: a link never replaces an
// existing file, so two processes starting at once end up sharing the first one's key
// and nobody ever reads a half-written file.
func loadOrCreateKey(dir string) ([]byte, error) {
	name := filepath.Join(dir, signingKeyFile)
	key, err := readKey(name)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key = make([]byte, minSigningKeyLen)
	rand.Read(key)
	tmp, err := os.CreateTemp(dir, signingKeyFile+"-*") // CreateTemp makes it 0600.
	if err != nil {
		return nil, fmt.Errorf("media: creating the signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = fmt.Fprintln(tmp, hex.EncodeToString(key))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), name)
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("media: creating the signing key: %w", err)
	}
	return readKey(name)
}

// readKey reads a key file: hex, the same format MEDIA_SIGNING_KEY takes, so an operator
// can move a generated key into the environment.
func readKey(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("media: %s does not hold a hex key", name)
	}
	return key, nil
}

// PresignPut returns a URL on this server that accepts one upload of key, until it
// expires, with exactly contentType and (when size > 0) exactly size bytes.
func (l *Local) PresignPut(_ context.Context, key, contentType string, size int64) (Upload, error) {
	if err := checkUpload(key, contentType, size); err != nil {
		return Upload{}, err
	}
	if strings.HasPrefix(key, "upload/") {
		// Handler takes /media/upload/... for uploads, so such an object could not be read.
		return Upload{}, apperr.New(apperr.Invalid, "%q is not a valid object key: upload/ is reserved.", key)
	}
	if size > l.maxBytes {
		return Upload{}, tooLarge(l.maxBytes)
	}
	expires := l.now().UTC().Truncate(time.Second).Add(defaultPresignTTL)
	q := url.Values{
		"type":    {contentType},
		"size":    {strconv.FormatInt(size, 10)},
		"expires": {strconv.FormatInt(expires.Unix(), 10)},
		"sig":     {base64.RawURLEncoding.EncodeToString(l.sign(key, contentType, size, expires.Unix()))},
	}
	return Upload{
		Method:    http.MethodPut,
		URL:       l.publicBase + uploadPrefix + escapeKey(key) + "?" + q.Encode(),
		Headers:   map[string]string{"Content-Type": contentType},
		ExpiresAt: expires,
	}, nil
}

// sign is the HMAC of an upload's terms. Fields are separated by newlines, which none can
// contain (keys and content types are validated, the rest are numbers), so two different
// uploads never share a message; the leading label keeps these signatures from ever
// being valid for something else signed with the same key.
func (l *Local) sign(key, contentType string, size, expires int64) []byte {
	mac := hmac.New(sha256.New, l.key)
	fmt.Fprintf(mac, "mercantile-media-upload-v1\nPUT\n%s\n%s\n%d\n%d", key, contentType, size, expires)
	return mac.Sum(nil)
}

// Stat reports the object's size and the content type it was uploaded with.
func (l *Local) Stat(_ context.Context, key string) (Object, error) {
	if err := checkKey(key); err != nil {
		return Object{}, err
	}
	root, err := os.OpenRoot(l.dir)
	if err != nil {
		return Object{}, fmt.Errorf("media: %w", err)
	}
	defer root.Close()
	info, err := root.Stat(objectsDir + "/" + key)
	if isNotExist(err) || err == nil && !info.Mode().IsRegular() {
		return Object{}, notFound(key)
	}
	if err != nil {
		return Object{}, fmt.Errorf("media: %w", err)
	}
	contentType, err := readContentType(root, key)
	if err != nil {
		return Object{}, err
	}
	return Object{Size: info.Size(), ContentType: contentType}, nil
}

// PublicURL returns the object's URL on this server.
func (l *Local) PublicURL(key string) string {
	return l.publicBase + routePrefix + escapeKey(key)
}

// Delete removes the object, then its content type, so that a concurrent read never
// finds an object without its type.
func (l *Local) Delete(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	root, err := os.OpenRoot(l.dir)
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	defer root.Close()
	for _, name := range []string{objectsDir + "/" + key, typesDir + "/" + key} {
		if err := root.Remove(name); err != nil && !isNotExist(err) {
			return fmt.Errorf("media: %w", err)
		}
	}
	return nil
}

// Handler receives uploads and serves objects. It routes on the full request path:
//
//	PUT       /media/upload/<key>?type=&size=&expires=&sig=   (a URL from PresignPut)
//	GET, HEAD /media/<key>                                    (PublicURL)
//
// so mount it unchanged under /media: chi's r.Mount("/media", h), or "/media/" on an
// http.ServeMux; never behind http.StripPrefix. It enforces its own upload limits (the
// signed size and maxBytes), so it must not sit behind a smaller request body limit.
func (l *Local) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, routePrefix)
		if !ok {
			writeProblem(w, r, apperr.New(apperr.NotFound, "No route %s %s.", r.Method, r.URL.Path))
			return
		}
		key, upload := strings.CutPrefix(r.URL.Path, uploadPrefix)
		var err error
		switch {
		case upload && r.Method == http.MethodPut:
			err = l.receive(w, r, key)
		case !upload && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			err = l.serve(w, r, rest)
		case upload:
			err = methodNotAllowed(w, r, "PUT")
		default:
			err = methodNotAllowed(w, r, "GET, HEAD")
		}
		if err != nil {
			writeProblem(w, r, err)
		}
	})
}

// receive stores the body of a PUT to a presigned URL. The signature is checked before
// anything about the upload, so an unsigned request learns nothing about the store; the limits
// are checked on Content-Length first so an honest oversized upload is refused before
// it is sent (with Expect: 100-continue), and again while reading for everyone else.
func (l *Local) receive(w http.ResponseWriter, r *http.Request, key string) error {
	if !validKey(key) {
		return apperr.Malformed("%q is not a valid object key.", key)
	}
	q := r.URL.Query()
	contentType := q.Get("type")
	size, sizeErr := strconv.ParseInt(q.Get("size"), 10, 64)
	expires, expiresErr := strconv.ParseInt(q.Get("expires"), 10, 64)
	sig, sigErr := base64.RawURLEncoding.DecodeString(q.Get("sig"))
	if sizeErr != nil || expiresErr != nil || sigErr != nil ||
		!hmac.Equal(sig, l.sign(key, contentType, size, expires)) {
		return apperr.New(apperr.Forbidden, "The upload URL is not valid: its signature does not match.")
	}
	if l.now().Unix() > expires {
		return apperr.New(apperr.Forbidden, "The upload URL expired at %s.", time.Unix(expires, 0).UTC().Format(time.RFC3339))
	}
	if got := r.Header.Get("Content-Type"); got != contentType {
		e := apperr.New(apperr.Invalid, "The upload must be sent with Content-Type %s, not %q.", contentType, got)
		e.Status = http.StatusUnsupportedMediaType
		return e
	}
	limit := l.maxBytes
	if size > 0 {
		limit = min(size, limit)
	}
	if r.ContentLength > limit {
		return tooLarge(limit)
	}
	if size > 0 && r.ContentLength >= 0 && r.ContentLength != size {
		return apperr.Malformed("The upload must be exactly %d bytes, not %d.", size, r.ContentLength)
	}

	root, err := os.OpenRoot(l.dir)
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	defer root.Close()
	for _, dir := range []string{objectsDir, typesDir} {
		if err := root.MkdirAll(dir+"/"+path.Dir(key), 0o750); err != nil {
			return fmt.Errorf("media: %w", err)
		}
	}
	body := requestBody{http.MaxBytesReader(w, r.Body, limit)}
	err = writeAtomic(root, objectsDir+"/"+key, body, func(n int64) error {
		switch {
		case n == 0:
			return apperr.Malformed("The upload is empty.")
		case size > 0 && n != size:
			return apperr.Malformed("The upload must be exactly %d bytes, not %d.", size, n)
		}
		// Written before the object appears, so whoever sees the object finds its type.
		return writeAtomic(root, typesDir+"/"+key, strings.NewReader(contentType), nil)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// serve writes the object with the content type it was uploaded with. Keys hold the
// image's unique id, so a URL always means the same bytes and may be cached for a year.
// The object came from a client, so browsers are told not to sniff it into something
// else and, if it is opened directly, to run nothing in it.
func (l *Local) serve(w http.ResponseWriter, r *http.Request, key string) error {
	if !validKey(key) {
		return notFound(key)
	}
	root, err := os.OpenRoot(l.dir)
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	defer root.Close()
	f, err := root.Open(objectsDir + "/" + key)
	if isNotExist(err) {
		return notFound(key)
	}
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	if !info.Mode().IsRegular() {
		return notFound(key) // a directory: there is no listing
	}
	contentType, err := readContentType(root, key)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", info.ModTime(), f)
	return nil
}

// writeAtomic writes src to name through a temporary file in the same directory that is
// renamed into place, so readers never see a partial file. beforeRename, when set, runs
// once the bytes are on disk; its error abandons the file.
func writeAtomic(root *os.Root, name string, src io.Reader, beforeRename func(n int64) error) (err error) {
	// A leading dot keeps the temporary file out of every valid key.
	tmp := path.Dir(name) + "/.tmp-" + rand.Text()
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	defer func() {
		if err != nil {
			_ = root.Remove(tmp)
		}
	}()
	n, err := io.Copy(f, src)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("media: %w", cerr)
	}
	if err == nil && beforeRename != nil {
		err = beforeRename(n)
	}
	if err != nil {
		return err
	}
	if err := root.Rename(tmp, name); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	return nil
}

// requestBody turns errors reading an upload into the client's errors (413 past the
// limit, else 400), apart from errors writing the file, which are the server's.
type requestBody struct{ r io.Reader }

func (b requestBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	var tooBig *http.MaxBytesError
	switch {
	case err == nil || errors.Is(err, io.EOF):
		return n, err
	case errors.As(err, &tooBig):
		return n, tooLarge(tooBig.Limit)
	}
	return n, apperr.Malformed("The upload could not be read: %v.", err)
}

// readContentType returns the type key was uploaded with. Files put there by hand have
// none and are served as opaque bytes.
func readContentType(root *os.Root, key string) (string, error) {
	b, err := root.ReadFile(typesDir + "/" + key)
	if isNotExist(err) {
		return "application/octet-stream", nil
	}
	if err != nil {
		return "", fmt.Errorf("media: %w", err)
	}
	return string(b), nil
}

// isNotExist also counts ENOTDIR: a key below an object's name ("a/b" when "a" is a
// file) does not exist either.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func notFound(key string) error {
	return apperr.New(apperr.NotFound, "No object %s.", key)
}

func tooLarge(limit int64) error {
	return apperr.New(apperr.PayloadTooLarge, "The upload is larger than %d bytes.", limit)
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) error {
	w.Header().Set("Allow", allow)
	e := apperr.New(apperr.Invalid, "%s is not allowed on %s.", r.Method, r.URL.Path)
	e.Status = http.StatusMethodNotAllowed
	return e
}
