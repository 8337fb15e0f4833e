// Package media owns object storage for uploaded files: S3 (or any S3-compatible service)
// through aws-sdk-go-v2, or a directory on local disk for the embedded default. It hands
// out presigned upload URLs so file bytes never pass through the API, reports what was
// stored, and says where clients read it.
//
// It must not know about products or merchants beyond the key layout of ObjectKey:
// callers decide what a key means, check ownership, and record images in the database.
package media

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/platform/config"
)

// Upload tells a client how to upload one object: a plain HTTP request with Method to URL
// carrying Headers, before ExpiresAt. Host and Content-Length are not in Headers: HTTP
// clients set them from the URL and the body (browsers refuse to set them by hand).
type Upload struct {
	Method    string
	URL       string
	Headers   map[string]string
	ExpiresAt time.Time
}

// Object describes a stored object.
type Object struct {
	Size        int64
	ContentType string
}

// Store is where objects live. Keys are slash-separated paths of [A-Za-z0-9._-] segments
// that never start with a dot; ObjectKey builds them.
type Store interface {
	// PresignPut returns where the client uploads key with a plain HTTP PUT. When size > 0 the
	// upload must be exactly that many bytes; contentType must be sent as Content-Type.
	PresignPut(ctx context.Context, key, contentType string, size int64) (Upload, error)
	// Stat reports the stored object, or an apperr not_found error when it isn't there.
	Stat(ctx context.Context, key string) (Object, error)
	// PublicURL is where clients read the object.
	PublicURL(key string) string
	// Delete removes the object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
}

// defaultPresignTTL is how long an upload URL stays valid unless configured otherwise:
// long enough for a large image on a slow link, short enough that a leaked URL soon dies.
const defaultPresignTTL = 15 * time.Minute

// Open returns the store cfg selects: S3 when a bucket is configured (the handler is nil:
// clients talk to S3 directly), else the local store under cfg.MediaDir with the handler
// that receives uploads and serves files, to be mounted at /media (see Local.Handler).
func Open(ctx context.Context, cfg config.Config) (Store, http.Handler, error) {
	if cfg.S3Bucket != "" {
		s, err := NewS3(ctx, S3Config{
			Bucket:        cfg.S3Bucket,
			Endpoint:      cfg.S3Endpoint,
			Region:        cfg.S3Region,
			PublicBaseURL: cfg.S3PublicBaseURL,
			UsePathStyle:  cfg.S3UsePathStyle,
		})
		if err != nil {
			return nil, nil, err
		}
		return s, nil, nil
	}
	l, err := NewLocal(cfg.MediaDir, cfg.PublicBaseURL, cfg.MediaSigningKey, cfg.MaxImageBytes)
	if err != nil {
		return nil, nil, err
	}
	return l, l.Handler(), nil
}

// imageTypes are the content types CheckImage accepts: formats every current browser
// renders. SVG is left out on purpose: it can carry scripts.
var imageTypes = []string{"image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"}

// imageExtensions are the filename extensions ObjectKey keeps; any other is dropped so a
// key never suggests a type (".html", ".svg") the object must not be taken for.
var imageExtensions = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".webp": true, ".gif": true, ".avif": true,
}

// CheckImage validates an image upload before it is presigned. It returns an invalid error
// (422) naming content_type when the type is not an accepted image type or size_bytes when
// size is negative, and a payload_too_large error (413) naming size_bytes when size
// exceeds maxBytes. A size of 0 means unknown; the store then enforces maxBytes itself.
func CheckImage(contentType string, size int64, maxBytes int64) error {
	var v apperr.Validation
	if !slices.Contains(imageTypes, contentType) {
		v.Add("content_type", "must be one of %s", strings.Join(imageTypes, ", "))
	}
	if size < 0 {
		v.Add("size_bytes", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return err
	}
	if size > maxBytes {
		return apperr.New(apperr.PayloadTooLarge, "The image is larger than %d bytes.", maxBytes).
			WithField("size_bytes", fmt.Sprintf("must be at most %d", maxBytes))
	}
	return nil
}

// ObjectKey returns the key of an image: merchants/<m>/products/<p>/<imageID>-<name>,
// where name is filename without any directory, lower-cased, reduced to [a-z0-9-], and
// followed by its extension when that is an image extension. IDs keep [A-Za-z0-9_-]; any
// other byte becomes "-", so no part can climb out of its folder.
func ObjectKey(merchantID, productID, imageID, filename string) string {
	name := path.Base(strings.ReplaceAll(filename, `\`, "/"))
	ext := strings.ToLower(path.Ext(name))
	stem := strings.TrimSuffix(name, path.Ext(name))
	if !imageExtensions[ext] {
		ext = ""
	}
	stem = sanitize(strings.ToLower(stem), isNameByte, maxStemLen)
	if stem == "" {
		stem = "image"
	}
	return "merchants/" + sanitizeID(merchantID) + "/products/" + sanitizeID(productID) + "/" +
		sanitizeID(imageID) + "-" + stem + ext
}

// maxStemLen keeps keys short enough for S3's 1024-byte limit and readable in URLs.
const maxStemLen = 64

func isNameByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// sanitizeID keeps an ID readable; an empty ID still yields a non-empty segment so the
// key stays well formed.
func sanitizeID(id string) string {
	if s := sanitize(id, isIDByte, 128); s != "" {
		return s
	}
	return "_"
}

// sanitize replaces every run of bytes not accepted by keep with one "-", trims dashes
// from both ends, and cuts the result to max bytes.
func sanitize(s string, keep func(byte) bool, max int) string {
	var b strings.Builder
	dash := false
	for i := 0; i < len(s); i++ {
		if keep(s[i]) {
			b.WriteByte(s[i])
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := b.String()
	if len(out) > max {
		out = out[:max]
	}
	return strings.Trim(out, "-")
}

// maxKeyLen is S3's limit on key length.
const maxKeyLen = 1024

// validKey reports whether key is a safe object key: slash-separated, non-empty segments
// of [A-Za-z0-9._-] that never start with a dot. That rules out ".." and absolute paths,
// and keeps the local store's hidden files (signing key, temporary uploads) out of reach.
func validKey(key string) bool {
	if key == "" || len(key) > maxKeyLen {
		return false
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg[0] == '.' {
			return false
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !isIDByte(c) && c != '-' && c != '.' {
				return false
			}
		}
	}
	return true
}

// checkKey is validKey as an error for Store methods.
func checkKey(key string) error {
	if !validKey(key) {
		return apperr.New(apperr.Invalid, "%q is not a valid object key.", key)
	}
	return nil
}

// escapeKey escapes key for a URL path. Valid keys need no escaping, but PublicURL has
// no error to return for an invalid one, so it must not build a URL that means another key.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// checkUpload validates PresignPut's arguments common to every store. The content type
// must parse because it is signed and later compared byte for byte; parsing also rules out
// the line breaks that would make a signed message ambiguous.
func checkUpload(key, contentType string, size int64) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if _, _, err := mime.ParseMediaType(contentType); err != nil {
		return apperr.New(apperr.Invalid, "%q is not a valid content type.", contentType).
			WithField("content_type", "must be a media type like image/png")
	}
	if size < 0 {
		return apperr.New(apperr.Invalid, "The size must not be negative.").
			WithField("size_bytes", "must not be negative")
	}
	return nil
}
