package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
)

// syncBuffer is a bytes.Buffer safe to write from the server while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer runs `mercantile serve` in process, as main would, and returns its base URL
// and a function that sends the equivalent of SIGTERM and waits for run to return.
func startServer(t *testing.T, env map[string]string) (string, *syncBuffer, func() error) {
	t.Helper()
	t.Setenv("HTTP_ADDR", "127.0.0.1:0")
	// Images would otherwise go to var/media under the package directory.
	t.Setenv("MEDIA_DIR", t.TempDir())
	for k, v := range env {
		t.Setenv(k, v)
	}
	addr := make(chan string, 1)
	onListen = func(a string) { addr <- a }
	t.Cleanup(func() { onListen = nil })
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, out, io.Discard) }()
	select {
	case a := <-addr:
		stop := func() error { cancel(); return <-done }
		t.Cleanup(func() { cancel() })
		return "http://" + a, out, stop
	case err := <-done:
		t.Fatalf("server exited before listening: %v\n%s", err, out.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not start:\n%s", out.String())
	}
	return "", nil, nil
}

func TestEmbeddedDefaultCreatesDemoMerchant(t *testing.T) {
	dir := t.TempDir()
	base, out, stop := startServer(t, map[string]string{"DATABASE_URL": "sqlite:" + dir + "/var/m.db"})
	if !strings.Contains(out.String(), "Demo merchant created") {
		t.Fatalf("no demo banner:\n%s", out.String())
	}
	var demo map[string]string
	raw := strings.SplitN(out.String(), "secret key", 2)[1]
	sk := strings.Fields(raw)[0]
	req, _ := http.NewRequest("GET", base+"/api/v1/merchant", nil)
	req.Header.Set("Authorization", "Bearer "+sk)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&demo)
	resp.Body.Close()
	if resp.StatusCode != 200 || demo["handle"] != "demo" {
		t.Fatalf("demo key does not work: %d %v", resp.StatusCode, demo)
	}
	for _, path := range []string{"/healthz", "/readyz", "/docs", "/playground", "/api/v1/openapi.json", "/metrics"} {
		resp, err := http.Get(base + path)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("GET %s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// The second start finds the merchant and prints no new keys.
	_, out, stop = startServer(t, map[string]string{"DATABASE_URL": "sqlite:" + dir + "/var/m.db"})
	if strings.Contains(out.String(), "Demo merchant created") {
		t.Fatal("a second demo merchant was created")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestGracefulShutdown sends a request whose body is still arriving when the shutdown
// signal comes: it must complete, /readyz must turn 503 while draining, and run must
// return cleanly.
func TestGracefulShutdown(t *testing.T) {
	base, _, stop := startServer(t, map[string]string{
		"DATABASE_URL": dbtest.PostgresURL(t), "SHUTDOWN_DRAIN_DELAY": "500ms", "DEMO_MERCHANT": "false",
	})
	host := strings.TrimPrefix(base, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"email":"nobody@example.com","password":"whatever it is"}`
	fmt.Fprintf(conn, "POST /api/v1/session HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", host, len(body), body[:10])
	time.Sleep(200 * time.Millisecond)

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()

	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz never turned 503 while draining")
		}
		time.Sleep(20 * time.Millisecond)
	}

	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	reply, err := io.ReadAll(conn)
	if err != nil && !strings.Contains(err.Error(), "timeout") {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(reply), "HTTP/1.1 401") || !strings.Contains(string(reply), "application/problem+json") {
		t.Fatalf("in-flight request did not complete normally:\n%s", reply)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("run returned %v", err)
	}
}

func TestStartupErrorsAreOneLine(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bad config", map[string]string{"SHUTDOWN_TIMEOUT": "soon"}, "SHUTDOWN_TIMEOUT"},
		{"unreachable database", map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/none?connect_timeout=2"}, "cannot reach"},
		{"unreachable redis", map[string]string{"DATABASE_URL": "sqlite:" + t.TempDir() + "/m.db", "REDIS_URL": "redis://127.0.0.1:1/0"}, "redis: cannot reach"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			err := run(context.Background(), []string{"serve"}, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("run = %v, want one line naming %q", err, tt.want)
			}
		})
	}
}

func TestMerchantCreateCommand(t *testing.T) {
	t.Setenv("DATABASE_URL", dbtest.PostgresURL(t))
	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"merchant", "create", "--name", "Acme Goods", "--email", "owner@acme.example.com", "--currency", "EUR"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var created map[string]string
	if err := json.Unmarshal(out.Bytes(), &created); err != nil {
		t.Fatalf("output is not JSON: %s", out.String())
	}
	if !strings.HasPrefix(created["merchant_id"], "mer_") || !strings.HasPrefix(created["secret_key"], "sk_") || !strings.HasPrefix(created["publishable_key"], "pk_") {
		t.Fatalf("unexpected output %v", created)
	}

	out.Reset()
	if err := run(context.Background(), []string{"key", "create", "--merchant", created["merchant_id"], "--kind", "publishable"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var key map[string]string
	json.Unmarshal(out.Bytes(), &key)
	if err := run(context.Background(), []string{"key", "revoke", "--merchant", created["merchant_id"], "--key", key["id"]}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"user", "create", "--merchant", created["merchant_id"], "--email", "staff@acme.example.com", "--password", "long enough pw"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"merchant", "create", "--name", "Acme Goods", "--email", "other@acme.example.com"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate handle: %v", err)
	}
	if err := run(context.Background(), []string{"merchant", "create", "--name", "X"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "--email is required") {
		t.Fatalf("missing flag: %v", err)
	}
	if err := run(context.Background(), []string{"key", "revoke", "--merchant", "mer_nonexistent", "--key", key["id"]}, io.Discard, io.Discard); err == nil {
		t.Fatal("revoking for an unknown merchant succeeded")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func testRedisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// TestProductionMode runs on PostgreSQL and Redis with metrics on their own listener:
// sessions live in Redis (so any replica can serve them) and /readyz checks both.
func TestProductionMode(t *testing.T) {
	dbURL := dbtest.PostgresURL(t)
	t.Setenv("DATABASE_URL", dbURL)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"merchant", "create", "--name", "Prod", "--email", "owner@prod.example.com", "--password", "owner password 1"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	metricsAddr := freeAddr(t)
	base, _, stop := startServer(t, map[string]string{"REDIS_URL": testRedisURL(), "METRICS_ADDR": metricsAddr})
	defer stop()

	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct{ Checks map[string]string }
	json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if ready.Checks["database"] != "ok" || ready.Checks["redis"] != "ok" {
		t.Fatalf("readiness checks %v", ready.Checks)
	}
	if resp, _ := http.Get(base + "/metrics"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/metrics on the API listener: %d, want 404 when METRICS_ADDR is set", resp.StatusCode)
	}
	if resp, err := http.Get("http://" + metricsAddr + "/metrics"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/metrics on METRICS_ADDR: %v %v", resp, err)
	}

	login, err := http.Post(base+"/api/v1/session", "application/json",
		strings.NewReader(`{"email":"owner@prod.example.com","password":"owner password 1"}`))
	if err != nil || login.StatusCode != 201 {
		t.Fatalf("login: %v %v", login, err)
	}
	login.Body.Close()
	opts, _ := redis.ParseURL(testRedisURL())
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	sum := sha256.Sum256([]byte(login.Cookies()[0].Value))
	if n, err := rdb.Exists(context.Background(), "mercantile:session:"+hex.EncodeToString(sum[:])).Result(); err != nil || n != 1 {
		t.Fatalf("session not stored in Redis: %d %v", n, err)
	}
}
