package media

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// isolateAWS gives the SDK static credentials and hides the machine's AWS files and
// instance metadata, so the test depends on nothing outside it.
func isolateAWS(t *testing.T) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for name, value := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             none,
		"AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(name, value)
	}
}

// startS3 runs gofakes3 over HTTP with an empty bucket and returns an S3 store on it.
// gofakes3 does not verify signatures, so these tests prove the requests the store and
// its presigned URLs make, not that S3 would refuse a tampered URL.
func startS3(t *testing.T) *S3 {
	t.Helper()
	isolateAWS(t)
	backend := s3mem.New()
	if err := backend.CreateBucket("media"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(srv.Close)
	s, err := NewS3(context.Background(), S3Config{Bucket: "media", Endpoint: srv.URL, UsePathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3(t *testing.T) {
	ctx := context.Background()
	s := startS3(t)
	image := bytes.Repeat([]byte("png!"), 1000)

	for _, tt := range []struct {
		name string
		size int64
	}{{"known size", int64(len(image))}, {"unknown size", 0}} {
		t.Run(tt.name, func(t *testing.T) {
			key := ObjectKey("mer_1", "prd_1", "img_"+strings.ReplaceAll(tt.name, " ", "_"), "Photo.PNG")
			before := time.Now()
			up, err := s.PresignPut(ctx, key, "image/png", tt.size)
			if err != nil {
				t.Fatal(err)
			}
			if up.Method != http.MethodPut {
				t.Errorf("Method = %q, want PUT", up.Method)
			}
			if diff := cmp.Diff(map[string]string{"Content-Type": "image/png"}, up.Headers); diff != "" {
				t.Errorf("Headers (-want +got):\n%s", diff)
			}
			if d := up.ExpiresAt.Sub(before); d < 14*time.Minute || d > 15*time.Minute {
				t.Errorf("ExpiresAt is %s after presigning, want about 15m", d)
			}
			u, err := url.Parse(up.URL)
			if err != nil {
				t.Fatal(err)
			}
			signed := u.Query().Get("X-Amz-SignedHeaders")
			wantSigned := "content-type;host"
			if tt.size > 0 {
				wantSigned = "content-length;content-type;host"
			}
			if signed != wantSigned {
				t.Errorf("X-Amz-SignedHeaders = %q, want %q", signed, wantSigned)
			}
			// A browser's plain PUT cannot send a checksum the URL commits to.
			for name := range u.Query() {
				if strings.Contains(strings.ToLower(name), "checksum") {
					t.Errorf("the URL carries %s", name)
				}
			}

			resp, body := do(t, newUploadRequest(t, up, bytes.NewReader(image)))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("upload: %s %s", resp.Status, body)
			}
			obj, err := s.Stat(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(Object{Size: int64(len(image)), ContentType: "image/png"}, obj); diff != "" {
				t.Errorf("Stat (-want +got):\n%s", diff)
			}

			resp, body = get(t, http.MethodGet, s.PublicURL(key))
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, image) {
				t.Fatalf("GET %s: %s, %d bytes", s.PublicURL(key), resp.Status, len(body))
			}
			if ct := resp.Header.Get("Content-Type"); ct != "image/png" {
				t.Errorf("GET Content-Type = %q", ct)
			}

			if err := s.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			wantNotFound(t, s, key)
			if err := s.Delete(ctx, key); err != nil {
				t.Fatalf("deleting a missing object: %v", err)
			}
		})
	}

	t.Run("missing object is not_found", func(t *testing.T) {
		wantNotFound(t, s, "merchants/nobody/products/none/img-x.png")
	})
	t.Run("invalid arguments are refused before any request", func(t *testing.T) {
		for _, c := range []struct {
			key, contentType string
			size             int64
		}{{"../x.png", "image/png", 1}, {"a/b.png", "image\n/png", 1}, {"a/b.png", "image/png", -1}} {
			if _, err := s.PresignPut(ctx, c.key, c.contentType, c.size); err == nil {
				t.Errorf("PresignPut(%q, %q, %d) succeeded", c.key, c.contentType, c.size)
			}
		}
	})
}

func TestS3PublicURL(t *testing.T) {
	isolateAWS(t)
	tests := []struct {
		name string
		cfg  S3Config
		want string
	}{
		{"AWS virtual-hosted", S3Config{Region: "eu-west-1"}, "https://media.s3.eu-west-1.amazonaws.com/a/b.png"},
		{"AWS default region", S3Config{}, "https://media.s3.us-east-1.amazonaws.com/a/b.png"},
		{"AWS path style", S3Config{Region: "eu-west-1", UsePathStyle: true}, "https://s3.eu-west-1.amazonaws.com/media/a/b.png"},
		{"endpoint path style", S3Config{Endpoint: "http://minio:9000/", UsePathStyle: true}, "http://minio:9000/media/a/b.png"},
		{"endpoint virtual-hosted", S3Config{Endpoint: "https://r2.example"}, "https://media.r2.example/a/b.png"},
		{"CDN", S3Config{Endpoint: "http://minio:9000", PublicBaseURL: "https://cdn.example/img/"}, "https://cdn.example/img/a/b.png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Bucket = "media"
			s, err := NewS3(context.Background(), tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.PublicURL("a/b.png"); got != tt.want {
				t.Fatalf("PublicURL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewS3Refuses(t *testing.T) {
	isolateAWS(t)
	for name, cfg := range map[string]S3Config{
		"no bucket":         {},
		"TTL over 7 days":   {Bucket: "media", PresignTTL: 8 * 24 * time.Hour},
		"relative endpoint": {Bucket: "media", Endpoint: "minio:9000"},
	} {
		if _, err := NewS3(context.Background(), cfg); err == nil {
			t.Errorf("%s: NewS3 succeeded", name)
		}
	}
}
