package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
)

// redisServer runs a Redis of the test's own on addr until stop is called.
func redisServer(t *testing.T, addr string) (stop func()) {
	t.Helper()
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Skip("redis-server is not installed:", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	for deadline := time.Now().Add(10 * time.Second); rdb.Ping(context.Background()).Err() != nil; {
		if time.Now().After(deadline) {
			t.Fatal("the test's Redis did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	t.Cleanup(stop)
	return stop
}

// TestRedisDownAndBack: with Redis killed under it, the server keeps serving reads and
// taking orders (caches are bypassed, rate limits fail open) and /readyz says Redis is
// down; when Redis is back, so is readiness, with no restart.
func TestRedisDownAndBack(t *testing.T) {
	t.Setenv("DATABASE_URL", dbtest.PostgresURL(t))
	var out bytes.Buffer
	if err := run(context.Background(), []string{"merchant", "create", "--name", "Outage", "--email", "owner@outage.example.com"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var keys map[string]string
	if err := json.Unmarshal(out.Bytes(), &keys); err != nil {
		t.Fatal(err)
	}
	sk, pk := keys["secret_key"], keys["publishable_key"]
	redisAddr := freeAddr(t)
	stopRedis := redisServer(t, redisAddr)
	base, _, stop := startServer(t, map[string]string{"REDIS_URL": "redis://" + redisAddr + "/0", "DEMO_MERCHANT": "false"})
	defer stop()

	var product struct{ ID string }
	if status := api(t, base, sk, "POST", "/api/v1/products", map[string]any{
		"title": "Sturdy", "variants": []map[string]any{{"sku": "STURDY", "price": 900}},
	}, &product); status != http.StatusCreated {
		t.Fatalf("creating the product: %d", status)
	}
	if status := api(t, base, sk, "POST", "/api/v1/warehouses", map[string]any{"code": "W1", "name": "W1"}, nil); status != http.StatusCreated {
		t.Fatalf("creating the warehouse: %d", status)
	}
	if status := api(t, base, sk, "POST", "/api/v1/inventory/set", map[string]any{"sku": "STURDY", "warehouse_code": "W1", "on_hand": 10}, nil); status != http.StatusOK {
		t.Fatalf("stocking: %d", status)
	}
	order := map[string]any{"email": "buyer@example.com", "line_items": []map[string]any{{"sku": "STURDY", "quantity": 1}},
		"shipping_address": map[string]any{"name": "Buyer", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}}
	serves := func(when string) {
		t.Helper()
		for _, path := range []string{"/api/v1/products/" + product.ID, "/api/v1/inventory/STURDY", "/api/v1/products"} {
			if status := api(t, base, pk, "GET", path, nil, nil); status != http.StatusOK {
				t.Errorf("%s: GET %s answered %d", when, path, status)
			}
		}
		if status := api(t, base, pk, "POST", "/api/v1/orders", order, nil); status != http.StatusCreated {
			t.Errorf("%s: placing an order answered %d", when, status)
		}
	}
	ready := func() (int, string) {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Checks map[string]string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Checks["redis"]
	}

	serves("with Redis up")
	stopRedis()
	serves("with Redis down")
	if status, redisCheck := ready(); status == http.StatusOK || redisCheck == "ok" {
		t.Errorf("/readyz with Redis down: %d, redis %q", status, redisCheck)
	}
	redisServer(t, redisAddr)
	deadline := time.Now().Add(15 * time.Second)
	for status, _ := ready(); status != http.StatusOK; status, _ = ready() {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d after Redis came back", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	serves("with Redis back")
	var stock struct{ Reserved int64 }
	if api(t, base, sk, "GET", "/api/v1/inventory/STURDY", nil, &stock); stock.Reserved != 3 {
		t.Errorf("reserved %d after 3 orders, want 3", stock.Reserved)
	}
}
