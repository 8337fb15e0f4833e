package media

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/platform/httperr"
)

// startLocal serves a Local store under dir mounted the way the router mounts it, with
// the server's own URL as the public base.
func startLocal(tb testing.TB, dir string, signingKey []byte, maxBytes int64) (*Local, *httptest.Server) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	l, err := NewLocal(dir, "http://"+ln.Addr().String()+"/", signingKey, maxBytes)
	if err != nil {
		tb.Fatal(err)
	}
	r := chi.NewRouter()
	r.Mount("/media", l.Handler())
	srv := httptest.NewUnstartedServer(r)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	tb.Cleanup(srv.Close)
	return l, srv
}

// wantProblem checks that a response is a problem+json document with status and code.
func wantProblem(tb testing.TB, resp *http.Response, body []byte, status int, code apperr.Code) {
	tb.Helper()
	if resp.StatusCode != status {
		tb.Fatalf("status %s, want %d; body %s", resp.Status, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		tb.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p httperr.Document
	if err := json.Unmarshal(body, &p); err != nil {
		tb.Fatalf("decoding %s: %v", body, err)
	}
	if p.Code != code || p.Status != status || p.Detail == "" {
		tb.Fatalf("problem %+v, want code %s and status %d", p, code, status)
	}
}

// wantOnlyFiles fails when dir holds any file besides those of keys (and the signing
// key): no temporary file survives a failed upload, and nothing lands elsewhere.
func wantOnlyFiles(tb testing.TB, dir string, keys ...string) {
	tb.Helper()
	want := map[string]bool{signingKeyFile: true}
	for _, k := range keys {
		want[objectsDir+"/"+k] = true
		want[typesDir+"/"+k] = true
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !want[filepath.ToSlash(rel)] {
			tb.Errorf("unexpected file %s", rel)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func TestLocal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	l, srv := startLocal(t, dir, nil, 1<<20)
	image := bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 2048)

	for _, tt := range []struct {
		name string
		size int64
	}{{"known size", int64(len(image))}, {"unknown size", 0}} {
		t.Run(tt.name, func(t *testing.T) {
			key := ObjectKey("mer_1", "prd_1", "img_"+strconv.FormatInt(tt.size, 10), "Photo.png")
			before := time.Now()
			up, err := l.PresignPut(ctx, key, "image/png", tt.size)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(up.URL, srv.URL+"/media/upload/"+key+"?") || up.Method != http.MethodPut {
				t.Fatalf("upload %s %s does not point at the server", up.Method, up.URL)
			}
			if diff := cmp.Diff(map[string]string{"Content-Type": "image/png"}, up.Headers); diff != "" {
				t.Errorf("Headers (-want +got):\n%s", diff)
			}
			if d := up.ExpiresAt.Sub(before); d < 14*time.Minute || d > 15*time.Minute {
				t.Errorf("ExpiresAt is %s after presigning, want about 15m", d)
			}

			resp, body := do(t, newUploadRequest(t, up, bytes.NewReader(image)))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("upload: %s %s", resp.Status, body)
			}
			obj, err := l.Stat(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(Object{Size: int64(len(image)), ContentType: "image/png"}, obj); diff != "" {
				t.Errorf("Stat (-want +got):\n%s", diff)
			}

			if got, want := l.PublicURL(key), srv.URL+"/media/"+key; got != want {
				t.Fatalf("PublicURL = %q, want %q", got, want)
			}
			resp, body = get(t, http.MethodGet, l.PublicURL(key))
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, image) {
				t.Fatalf("GET: %s, %d bytes", resp.Status, len(body))
			}
			for name, want := range map[string]string{
				"Content-Type":           "image/png",
				"Cache-Control":          "public, max-age=31536000, immutable",
				"X-Content-Type-Options": "nosniff",
			} {
				if got := resp.Header.Get(name); got != want {
					t.Errorf("GET %s = %q, want %q", name, got, want)
				}
			}
			resp, body = get(t, http.MethodHead, l.PublicURL(key))
			if resp.StatusCode != http.StatusOK || len(body) != 0 || resp.ContentLength != int64(len(image)) {
				t.Errorf("HEAD: %s, Content-Length %d", resp.Status, resp.ContentLength)
			}

			if err := l.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			wantNotFound(t, l, key)
			resp, body = get(t, http.MethodGet, l.PublicURL(key))
			wantProblem(t, resp, body, http.StatusNotFound, apperr.NotFound)
			if err := l.Delete(ctx, key); err != nil {
				t.Fatalf("deleting a missing object: %v", err)
			}
		})
	}
}

func TestLocalRefusesUploads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	l, _ := startLocal(t, dir, nil, 1<<20)
	const size = 100
	image := bytes.Repeat([]byte("x"), size)

	// chunked hides the length, so only the limit on reading can catch the size.
	chunked := func(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) }
	// withQuery returns rawURL with name set to value.
	withQuery := func(rawURL, name, value string) string {
		u, _ := url.Parse(rawURL)
		q := u.Query()
		q.Set(name, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	tests := []struct {
		name    string
		tamper  func(req *http.Request)
		body    io.Reader
		status  int
		code    apperr.Code
		sizeArg int64
	}{
		{name: "tampered signature", tamper: func(req *http.Request) {
			sig, _ := base64.RawURLEncoding.DecodeString(req.URL.Query().Get("sig"))
			sig[0] ^= 1
			req.URL, _ = url.Parse(withQuery(req.URL.String(), "sig", base64.RawURLEncoding.EncodeToString(sig)))
		}, status: 403, code: apperr.Forbidden},
		{name: "signature of another key", tamper: func(req *http.Request) {
			req.URL.Path = strings.Replace(req.URL.Path, "img_", "img_other", 1)
		}, status: 403, code: apperr.Forbidden},
		{name: "raised size", tamper: func(req *http.Request) {
			req.URL, _ = url.Parse(withQuery(req.URL.String(), "size", "200"))
		}, body: bytes.NewReader(bytes.Repeat([]byte("x"), 200)), status: 403, code: apperr.Forbidden},
		{name: "extended expiry", tamper: func(req *http.Request) {
			req.URL, _ = url.Parse(withQuery(req.URL.String(), "expires", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)))
		}, status: 403, code: apperr.Forbidden},
		{name: "other signed type", tamper: func(req *http.Request) {
			req.URL, _ = url.Parse(withQuery(req.URL.String(), "type", "text/html"))
			req.Header.Set("Content-Type", "text/html")
		}, status: 403, code: apperr.Forbidden},
		{name: "no signature", tamper: func(req *http.Request) { req.URL.RawQuery = "" }, status: 403, code: apperr.Forbidden},
		{name: "wrong content type", tamper: func(req *http.Request) { req.Header.Set("Content-Type", "text/html") }, status: 415, code: apperr.Invalid},
		{name: "no content type", tamper: func(req *http.Request) { req.Header.Del("Content-Type") }, status: 415, code: apperr.Invalid},
		{name: "longer than signed", body: bytes.NewReader(append(image, 'x')), status: 413, code: apperr.PayloadTooLarge},
		{name: "longer than signed, chunked", body: chunked(append(image, 'x')), status: 413, code: apperr.PayloadTooLarge},
		{name: "shorter than signed", body: bytes.NewReader(image[1:]), status: 400, code: apperr.Invalid},
		{name: "shorter than signed, chunked", body: chunked(image[1:]), status: 400, code: apperr.Invalid},
		{name: "empty", sizeArg: -1, body: http.NoBody, status: 400, code: apperr.Invalid},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := ObjectKey("mer_1", "prd_1", "img_"+strconv.Itoa(i), "a.png")
			signedSize := int64(size)
			if tt.sizeArg < 0 {
				signedSize = 0
			}
			up, err := l.PresignPut(ctx, key, "image/png", signedSize)
			if err != nil {
				t.Fatal(err)
			}
			body := tt.body
			if body == nil {
				body = bytes.NewReader(image)
			}
			req := newUploadRequest(t, up, body)
			if tt.tamper != nil {
				tt.tamper(req)
			}
			resp, respBody := do(t, req)
			wantProblem(t, resp, respBody, tt.status, tt.code)
			wantNotFound(t, l, key)
		})
	}
	t.Cleanup(func() { wantOnlyFiles(t, dir) })
}

func TestLocalExpiredURL(t *testing.T) {
	t.Parallel()
	l, _ := startLocal(t, t.TempDir(), nil, 1<<20)
	l.now = func() time.Time { return time.Now().Add(-16 * time.Minute) }
	key := ObjectKey("mer_1", "prd_1", "img_1", "a.png")
	up, err := l.PresignPut(context.Background(), key, "image/png", 3)
	if err != nil {
		t.Fatal(err)
	}
	l.now = time.Now
	resp, body := do(t, newUploadRequest(t, up, strings.NewReader("abc")))
	wantProblem(t, resp, body, http.StatusForbidden, apperr.Forbidden)
	wantNotFound(t, l, key)
}

func TestLocalMaxBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	const max = 64
	l, _ := startLocal(t, dir, nil, max)

	if _, err := l.PresignPut(ctx, "a/b.png", "image/png", max+1); apperr.CodeOf(err) != apperr.PayloadTooLarge {
		t.Fatalf("presigning past the limit = %v, want payload_too_large", err)
	}
	for name, body := range map[string]func() io.Reader{
		"declared": func() io.Reader { return bytes.NewReader(make([]byte, max+1)) },
		"chunked":  func() io.Reader { return io.MultiReader(bytes.NewReader(make([]byte, max+1))) },
	} {
		t.Run(name, func(t *testing.T) {
			up, err := l.PresignPut(ctx, "a/"+name+".png", "image/png", 0)
			if err != nil {
				t.Fatal(err)
			}
			resp, respBody := do(t, newUploadRequest(t, up, body()))
			wantProblem(t, resp, respBody, http.StatusRequestEntityTooLarge, apperr.PayloadTooLarge)
			wantNotFound(t, l, "a/"+name+".png")
		})
	}
	up, err := l.PresignPut(ctx, "fits.png", "image/png", 0)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := do(t, newUploadRequest(t, up, bytes.NewReader(make([]byte, max)))); resp.StatusCode != http.StatusOK {
		t.Fatalf("upload at the limit: %s %s", resp.Status, body)
	}
	wantOnlyFiles(t, dir, "fits.png")
}

func TestLocalPathTraversal(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "media")
	l, srv := startLocal(t, dir, nil, 1<<20)
	outside := []byte("bytes outside the store")
	secret, err := os.ReadFile(filepath.Join(dir, signingKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "outside.png"), outside, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, objectsDir, "merchants"), 0o750); err != nil {
		t.Fatal(err)
	}
	// A symlink inside the store that points out of it must not be followed.
	if err := os.Symlink(filepath.Join(root, "outside.png"), filepath.Join(dir, objectsDir, "merchants", "link.png")); err != nil {
		t.Fatal(err)
	}

	for _, p := range []string{
		"/media/.signing-key",
		"/media/../.signing-key",
		"/media/..%2f.signing-key",
		"/media/%2e%2e/.signing-key",
		"/media/%2e%2e/%2e%2e/outside.png",
		"/media/..%2F..%2Foutside.png",
		"/media/merchants/",
		"/media/merchants",
		"/media/",
		"/media/merchants/link.png",
		"/media/a%00b.png",
	} {
		t.Run("GET "+p, func(t *testing.T) {
			resp, body := get(t, http.MethodGet, srv.URL+p)
			if resp.StatusCode == http.StatusOK || bytes.Contains(body, bytes.TrimSpace(secret)) || bytes.Contains(body, outside) {
				t.Fatalf("GET %s: %s %q", p, resp.Status, body)
			}
		})
	}

	// Even a correctly signed URL for a climbing key is refused: the key is checked
	// before the signature.
	for _, key := range []string{"../escape.png", "../../escape.png", ".signing-key", "merchants/../../escape.png"} {
		t.Run("PUT "+key, func(t *testing.T) {
			if _, err := l.PresignPut(context.Background(), key, "image/png", 3); err == nil {
				t.Fatalf("PresignPut(%q) succeeded", key)
			}
			expires := time.Now().Add(time.Minute).Unix()
			q := url.Values{
				"type": {"image/png"}, "size": {"3"}, "expires": {strconv.FormatInt(expires, 10)},
				"sig": {base64.RawURLEncoding.EncodeToString(l.sign(key, "image/png", 3, expires))},
			}
			for _, escaped := range []string{key, strings.ReplaceAll(key, "/", "%2F"), strings.ReplaceAll(key, ".", "%2e")} {
				req, err := http.NewRequest(http.MethodPut, srv.URL+"/media/upload/"+escaped+"?"+q.Encode(), strings.NewReader("abc"))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "image/png")
				if resp, body := do(t, req); resp.StatusCode == http.StatusOK {
					t.Fatalf("PUT %s: %s %s", escaped, resp.Status, body)
				}
			}
		})
	}
	t.Cleanup(func() {
		for _, name := range []string{filepath.Join(root, "escape.png"), filepath.Join(filepath.Dir(root), "escape.png"), filepath.Join(dir, "escape.png")} {
			if _, err := os.Stat(name); err == nil {
				t.Errorf("%s was written", name)
			}
		}
		if got, _ := os.ReadFile(filepath.Join(dir, signingKeyFile)); !bytes.Equal(got, secret) {
			t.Error("the signing key changed")
		}
	})
}

func TestLocalMethods(t *testing.T) {
	t.Parallel()
	l, srv := startLocal(t, t.TempDir(), nil, 1<<20)
	for _, c := range []struct{ method, path, allow string }{
		{http.MethodPut, "/media/a/b.png", "GET, HEAD"},
		{http.MethodDelete, "/media/a/b.png", "GET, HEAD"},
		{http.MethodGet, "/media/upload/a/b.png", "PUT"},
		{http.MethodPost, "/media/upload/a/b.png", "PUT"},
	} {
		resp, body := get(t, c.method, srv.URL+c.path)
		wantProblem(t, resp, body, http.StatusMethodNotAllowed, apperr.Invalid)
		if got := resp.Header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}
	if _, err := l.PresignPut(context.Background(), "upload/a.png", "image/png", 0); err == nil {
		t.Error("presigned a key the handler could never serve")
	}
}

func TestLocalSigningKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("generated once and kept across restarts", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		first, err := NewLocal(dir, "http://old.example", nil, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(filepath.Join(dir, signingKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("key file mode %v, want 0600", perm)
		}
		key := ObjectKey("mer_1", "prd_1", "img_1", "a.png")
		up, err := first.PresignPut(ctx, key, "image/png", 3)
		if err != nil {
			t.Fatal(err)
		}

		restarted, srv := startLocal(t, dir, nil, 1<<20)
		if !bytes.Equal(first.key, restarted.key) {
			t.Fatal("the restarted store has another key")
		}
		up.URL = srv.URL + strings.TrimPrefix(up.URL, "http://old.example")
		if resp, body := do(t, newUploadRequest(t, up, strings.NewReader("abc"))); resp.StatusCode != http.StatusOK {
			t.Fatalf("upload after a restart: %s %s", resp.Status, body)
		}
	})

	t.Run("concurrent starts share one key", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		keys := make([][]byte, 8)
		var wg sync.WaitGroup
		for i := range keys {
			wg.Go(func() {
				l, err := NewLocal(dir, "http://x", nil, 1<<20)
				if err != nil {
					t.Error(err)
					return
				}
				keys[i] = l.key
			})
		}
		wg.Wait()
		for i := range keys {
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("start %d got another key", i)
			}
		}
		wantOnlyFiles(t, dir)
	})

	t.Run("configured key is used and not stored", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		configured := bytes.Repeat([]byte{7}, 32)
		l, srv := startLocal(t, dir, configured, 1<<20)
		if _, err := os.Stat(filepath.Join(dir, signingKeyFile)); !os.IsNotExist(err) {
			t.Fatalf("a key file was written: %v", err)
		}
		other, err := NewLocal(t.TempDir(), srv.URL, bytes.Repeat([]byte{8}, 32), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		up, err := other.PresignPut(ctx, "a/b.png", "image/png", 1)
		if err != nil {
			t.Fatal(err)
		}
		resp, body := do(t, newUploadRequest(t, up, strings.NewReader("x")))
		wantProblem(t, resp, body, http.StatusForbidden, apperr.Forbidden)
		if up, err = l.PresignPut(ctx, "a/b.png", "image/png", 1); err != nil {
			t.Fatal(err)
		}
		if resp, body := do(t, newUploadRequest(t, up, strings.NewReader("x"))); resp.StatusCode != http.StatusOK {
			t.Fatalf("upload: %s %s", resp.Status, body)
		}
	})

	t.Run("short key is refused", func(t *testing.T) {
		t.Parallel()
		if _, err := NewLocal(t.TempDir(), "http://x", []byte("short"), 1<<20); err == nil {
			t.Fatal("NewLocal accepted a 5-byte key")
		}
	})
}
