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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/redis/go-redis/v9"

	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/platform/kv/kvtest"
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
// Several may run side by side, like replicas: each has read its configuration and
// reported its address before startServer returns, so the next call may change both.
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
	// Rate limited in process by default, with the documented burst.
	if got := resp.Header.Get("RateLimit-Limit"); got != "200" {
		t.Errorf("RateLimit-Limit %q, want the default burst 200", got)
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
	base, _, stop := startServer(t, map[string]string{"REDIS_URL": kvtest.URL(), "METRICS_ADDR": metricsAddr})
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
	opts, _ := redis.ParseURL(kvtest.URL())
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	// Rate limits are kept in Redis, where every replica sees them: a request without
	// credentials is charged to the client's address (the key lives until its budget is
	// full again, a second or so).
	anonymous, err := http.Get(base + "/api/v1/session")
	if err != nil {
		t.Fatal(err)
	}
	anonymous.Body.Close()
	if n, err := rdb.Exists(context.Background(), "rate:mercantile:rest:ip:127.0.0.1").Result(); err != nil || n != 1 {
		t.Errorf("no rate limit budget in Redis for the request: %d %v", n, err)
	}
	if got := anonymous.Header.Get("RateLimit-Limit"); got != "100" {
		t.Errorf("RateLimit-Limit %q, want the per-IP default burst 100", got)
	}
	sum := sha256.Sum256([]byte(login.Cookies()[0].Value))
	if n, err := rdb.Exists(context.Background(), "mercantile:session:"+hex.EncodeToString(sum[:])).Result(); err != nil || n != 1 {
		t.Fatalf("session not stored in Redis: %d %v", n, err)
	}
}

// send sends a JSON request with an API key to a server and returns the reply.
func send(base, key, method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// api is send for the test's goroutine: it decodes the JSON reply into out (when not
// nil) and returns the status.
func api(t *testing.T, base, key, method, path string, body, out any) int {
	t.Helper()
	status, raw, err := send(base, key, method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, status, raw)
		}
	}
	return status
}

// TestTwoServersShareStock runs two servers on one PostgreSQL database, as two replicas
// would, and sells 30 units to 100 concurrent orders sent to both: exactly 30 succeed,
// the ledger balances, and a stock change made through one server reaches a
// subscription on the other.
func TestTwoServersShareStock(t *testing.T) {
	dbURL := dbtest.PostgresURL(t)
	t.Setenv("DATABASE_URL", dbURL)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"merchant", "create", "--name", "Replicas", "--email", "owner@replicas.example.com"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var keys map[string]string
	if err := json.Unmarshal(out.Bytes(), &keys); err != nil {
		t.Fatal(err)
	}
	sk, pk := keys["secret_key"], keys["publishable_key"]
	env := map[string]string{"DEMO_MERCHANT": "false"}
	a, _, stopA := startServer(t, env)
	b, _, stopB := startServer(t, env)

	if status := api(t, a, sk, "POST", "/api/v1/products", map[string]any{
		"title": "Limited", "variants": []map[string]any{{"sku": "LTD", "price": 5000}},
	}, nil); status != http.StatusCreated {
		t.Fatalf("creating the product: %d", status)
	}
	warehouses := map[string]string{}
	for code, server := range map[string]string{"W1": a, "W2": b} {
		var w struct{ ID string }
		if status := api(t, server, sk, "POST", "/api/v1/warehouses", map[string]any{"code": code, "name": code}, &w); status != http.StatusCreated {
			t.Fatalf("creating %s: %d", code, status)
		}
		warehouses[w.ID] = code
		if status := api(t, server, sk, "POST", "/api/v1/inventory/set", map[string]any{"sku": "LTD", "warehouse_code": code, "on_hand": 15}, nil); status != http.StatusOK {
			t.Fatalf("stocking %s: %d", code, status)
		}
	}

	// B's subscriber sees what A commits: the change crosses PostgreSQL's NOTIFY.
	events := subscribeStock(t, b, pk, "LTD")
	if first := <-events; first != 30 {
		t.Fatalf("B's subscription starts at %d available, want 30", first)
	}
	if status := api(t, a, sk, "POST", "/api/v1/inventory/adjust", map[string]any{"sku": "LTD", "warehouse_code": "W1", "delta": 1, "reason": "found"}, nil); status != http.StatusOK {
		t.Fatalf("adjusting through A: %d", status)
	}
	// The stocking may still be on its way (15, then 30) before A's adjustment.
	for available := range events {
		if available == 31 {
			break
		}
		if available != 15 && available != 30 {
			t.Fatalf("B's subscription saw %d available, want 31 after A's adjustment", available)
		}
	}
	if status := api(t, b, sk, "POST", "/api/v1/inventory/adjust", map[string]any{"sku": "LTD", "warehouse_code": "W1", "delta": -1, "reason": "miscounted"}, nil); status != http.StatusOK {
		t.Fatalf("adjusting through B: %d", status)
	}

	const orders = 100
	type outcome struct {
		status int
		code   string
		err    error
	}
	outcomes := make(chan outcome, orders)
	var wg sync.WaitGroup
	for i := range orders {
		server := []string{a, b}[i%2]
		wg.Go(func() {
			status, raw, err := send(server, pk, "POST", "/api/v1/orders", map[string]any{
				"email": fmt.Sprintf("buyer%d@example.com", i),
				"shipping_address": map[string]any{
					"name": "Buyer", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US",
				},
				"line_items": []map[string]any{{"sku": "LTD", "quantity": 1}},
			})
			var reply struct{ Code string }
			if err == nil {
				err = json.Unmarshal(raw, &reply)
			}
			outcomes <- outcome{status: status, code: reply.Code, err: err}
		})
	}
	wg.Wait()
	close(outcomes)
	count := map[string]int{}
	for o := range outcomes {
		if o.err != nil {
			t.Fatal(o.err)
		}
		count[fmt.Sprintf("%d %s", o.status, o.code)]++
	}
	if count["201 "] != 30 || count["409 insufficient_inventory"] != orders-30 {
		t.Fatalf("outcomes %v; want 30 placed and the rest insufficient_inventory", count)
	}

	var stock struct {
		Levels []struct {
			WarehouseCode string `json:"warehouse_code"`
			OnHand        int64  `json:"on_hand"`
			Reserved      int64  `json:"reserved"`
		} `json:"levels"`
	}
	api(t, b, pk, "GET", "/api/v1/inventory/LTD", nil, &stock)
	var ledger struct {
		Data []struct {
			WarehouseID   string `json:"warehouse_id"`
			OnHandDelta   int64  `json:"on_hand_delta"`
			ReservedDelta int64  `json:"reserved_delta"`
		} `json:"data"`
		PageInfo struct {
			HasNextPage bool `json:"has_next_page"`
		} `json:"page_info"`
	}
	api(t, a, sk, "GET", "/api/v1/inventory/LTD/movements?limit=250", nil, &ledger)
	if ledger.PageInfo.HasNextPage {
		t.Fatal("more movements than one page")
	}
	onHand, reserved := map[string]int64{}, map[string]int64{}
	for _, m := range ledger.Data {
		onHand[warehouses[m.WarehouseID]] += m.OnHandDelta
		reserved[warehouses[m.WarehouseID]] += m.ReservedDelta
	}
	for _, l := range stock.Levels {
		if l.OnHand != 15 || l.Reserved != 15 || onHand[l.WarehouseCode] != l.OnHand || reserved[l.WarehouseCode] != l.Reserved {
			t.Errorf("%s: level %d/%d, ledger %d/%d; want 15/15", l.WarehouseCode, l.OnHand, l.Reserved, onHand[l.WarehouseCode], reserved[l.WarehouseCode])
		}
	}
	if len(stock.Levels) != 2 {
		t.Fatalf("levels %+v", stock.Levels)
	}
	for _, stop := range []func() error{stopA, stopB} {
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
}

// subscribeStock subscribes to a SKU's inventoryChanged over a websocket to base and
// delivers each event's available.
func subscribeStock(t *testing.T, base, key, sku string) <-chan int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	type message struct {
		ID      string          `json:"id,omitempty"`
		Type    string          `json:"type"`
		Payload json.RawMessage `json:"payload,omitempty"`
	}
	init, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + key})
	subscribe, _ := json.Marshal(map[string]any{
		"query":     `subscription($sku: String) { inventoryChanged(sku: $sku) { available } }`,
		"variables": map[string]any{"sku": sku},
	})
	for _, m := range []message{{Type: "connection_init", Payload: init}, {ID: "1", Type: "subscribe", Payload: subscribe}} {
		if err := wsjson.Write(ctx, conn, m); err != nil {
			t.Fatal(err)
		}
	}
	events := make(chan int64)
	go func() {
		defer close(events)
		for {
			var m message
			if err := wsjson.Read(ctx, conn, &m); err != nil {
				return
			}
			if m.Type != "next" {
				continue
			}
			var next struct {
				Data struct {
					InventoryChanged struct{ Available int64 } `json:"inventoryChanged"`
				} `json:"data"`
			}
			if json.Unmarshal(m.Payload, &next) != nil {
				continue
			}
			select {
			case events <- next.Data.InventoryChanged.Available:
			case <-ctx.Done():
				return
			}
		}
	}()
	return events
}
