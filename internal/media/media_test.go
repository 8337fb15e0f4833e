package media

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/platform/config"
)

func TestCheckImage(t *testing.T) {
	t.Parallel()
	const max = 1000
	tests := []struct {
		name        string
		contentType string
		size        int64
		wantCode    apperr.Code
		wantStatus  int
		wantFields  []string
	}{
		{"jpeg", "image/jpeg", 10, "", 0, nil},
		{"png at the limit", "image/png", max, "", 0, nil},
		{"webp of unknown size", "image/webp", 0, "", 0, nil},
		{"gif", "image/gif", 1, "", 0, nil},
		{"avif", "image/avif", 1, "", 0, nil},
		{"svg can carry scripts", "image/svg+xml", 10, apperr.Invalid, 422, []string{"content_type"}},
		{"not an image", "text/html", 10, apperr.Invalid, 422, []string{"content_type"}},
		{"type with parameters", "image/png; charset=utf-8", 10, apperr.Invalid, 422, []string{"content_type"}},
		{"empty type", "", 10, apperr.Invalid, 422, []string{"content_type"}},
		{"negative size", "image/png", -1, apperr.Invalid, 422, []string{"size_bytes"}},
		{"both wrong", "text/plain", -5, apperr.Invalid, 422, []string{"content_type", "size_bytes"}},
		{"too large", "image/png", max + 1, apperr.PayloadTooLarge, 413, []string{"size_bytes"}},
		{"invalid type wins over size", "text/plain", max + 1, apperr.Invalid, 422, []string{"content_type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckImage(tt.contentType, tt.size, max)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("CheckImage = %v, want nil", err)
				}
				return
			}
			e := apperr.From(err)
			if e.Code != tt.wantCode || e.HTTPStatus() != tt.wantStatus {
				t.Fatalf("CheckImage = %v (status %d), want %s (%d)", err, e.HTTPStatus(), tt.wantCode, tt.wantStatus)
			}
			var fields []string
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
			if strings.Join(fields, ",") != strings.Join(tt.wantFields, ",") {
				t.Fatalf("fields %v, want %v", fields, tt.wantFields)
			}
		})
	}
}

func TestObjectKey(t *testing.T) {
	t.Parallel()
	const prefix = "merchants/mer_1/products/prd_2/img_3-"
	tests := []struct {
		filename string
		want     string
	}{
		{"photo.jpg", prefix + "photo.jpg"},
		{"My Summer Photo (1).JPEG", prefix + "my-summer-photo-1.jpeg"},
		{"../../etc/passwd", prefix + "passwd"},
		{"..", prefix + "image"},
		{"/abs/path/shot.png", prefix + "shot.png"},
		{`C:\Users\me\Pictures\cat.webp`, prefix + "cat.webp"},
		{"page.html", prefix + "page"},
		{"vector.svg", prefix + "vector"},
		{"archive.tar.gz", prefix + "archive-tar"},
		{".hidden.png", prefix + "hidden.png"},
		{"café-crème.avif", prefix + "caf-cr-me.avif"},
		{"", prefix + "image"},
		{".png", prefix + "image.png"},
		{strings.Repeat("a", 300) + ".gif", prefix + strings.Repeat("a", maxStemLen) + ".gif"},
	}
	for _, tt := range tests {
		t.Run(tt.filename, func(t *testing.T) {
			got := ObjectKey("mer_1", "prd_2", "img_3", tt.filename)
			if got != tt.want {
				t.Fatalf("ObjectKey(%q) = %q, want %q", tt.filename, got, tt.want)
			}
			if !validKey(got) {
				t.Fatalf("ObjectKey(%q) = %q, which is not a valid key", tt.filename, got)
			}
		})
	}

	t.Run("IDs cannot leave their folder", func(t *testing.T) {
		got := ObjectKey("../m", "p/../../q", "", "x.png")
		if want := "merchants/m/products/p-q/_-x.png"; got != want {
			t.Fatalf("ObjectKey = %q, want %q", got, want)
		}
	})
}

func TestValidKey(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]bool{
		"merchants/m/products/p/i-a.png": true,
		"a":                              true,
		"a.b-c_D/e":                      true,
		"":                               false,
		"/a":                             false,
		"a/":                             false,
		"a//b":                           false,
		"..":                             false,
		"a/../b":                         false,
		"a/./b":                          false,
		".signing-key":                   false,
		"a/.tmp-x":                       false,
		`a\b`:                            false,
		"a b":                            false,
		"a%2fb":                          false,
		strings.Repeat("a", maxKeyLen+1): false,
	} {
		if got := validKey(key); got != want {
			t.Errorf("validKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestOpen(t *testing.T) {
	t.Run("local without a bucket", func(t *testing.T) {
		cfg := config.Config{MediaDir: t.TempDir(), PublicBaseURL: "http://shop.example", MaxImageBytes: 1 << 20}
		store, h, err := Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := store.(*Local); !ok || h == nil {
			t.Fatalf("Open = %T, handler %v; want *Local and its handler", store, h)
		}
		if got, want := store.PublicURL("a/b.png"), "http://shop.example/media/a/b.png"; got != want {
			t.Fatalf("PublicURL = %q, want %q", got, want)
		}
	})
	t.Run("S3 with a bucket", func(t *testing.T) {
		isolateAWS(t)
		cfg := config.Config{S3Bucket: "media", S3Endpoint: "http://127.0.0.1:9000", S3Region: "us-east-1", S3UsePathStyle: true}
		store, h, err := Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := store.(*S3); !ok || h != nil {
			t.Fatalf("Open = %T, handler %v; want *S3 and no handler", store, h)
		}
	})
}

// do sends req and returns the response with its body read.
func do(tb testing.TB, req *http.Request) (*http.Response, []byte) {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, body
}

// newUploadRequest builds the request a client makes from up: a plain PUT with the
// returned headers.
func newUploadRequest(tb testing.TB, up Upload, body io.Reader) *http.Request {
	tb.Helper()
	req, err := http.NewRequest(up.Method, up.URL, body)
	if err != nil {
		tb.Fatal(err)
	}
	for name, value := range up.Headers {
		req.Header.Set(name, value)
	}
	return req
}

func get(tb testing.TB, method, url string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return do(tb, req)
}

func wantNotFound(tb testing.TB, store Store, key string) {
	tb.Helper()
	_, err := store.Stat(context.Background(), key)
	if code := apperr.CodeOf(err); code != apperr.NotFound {
		tb.Fatalf("Stat(%s) = %v, want not_found", key, err)
	}
}
