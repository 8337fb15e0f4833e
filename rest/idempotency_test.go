package rest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mercantile/mercantile/internal/auth/viewer"
)

// withKey is a request carrying an Idempotency-Key.
func (s shop) withKey(key, method, path, apiKey string, body any) reply {
	s.t.Helper()
	return s.h.do(request{method: method, path: path, key: apiKey, body: body, header: map[string]string{idempotencyHeader: key}})
}

func testIdempotency(t *testing.T, h *harness) {
	s := newShop(t, h, "idempotency")
	s.setStock("TEE-S", "W1", 5)

	first := s.withKey("order-1", "POST", "/api/v1/orders", s.PublishableKey, orderBody("TEE-S", 2))
	var o orderOut
	first.decode(t, http.StatusCreated, &o)
	if first.header.Get(replayedHeader) != "" {
		t.Fatal("the first response is marked replayed")
	}
	again := s.withKey("order-1", "POST", "/api/v1/orders", s.PublishableKey, orderBody("TEE-S", 2))
	if again.status != http.StatusCreated || !bytes.Equal(again.body, first.body) || again.header.Get(replayedHeader) != "true" ||
		again.header.Get("Content-Type") != "application/json" {
		t.Fatalf("retry: %d %v %s", again.status, again.header, again.body)
	}
	var list orderList
	s.secret("GET", "/api/v1/orders", nil).decode(t, http.StatusOK, &list)
	if len(list.Data) != 1 {
		t.Fatalf("a retry placed another order: %d orders", len(list.Data))
	}
	s.expectStock("TEE-S", 5, 2)

	s.withKey("order-1", "POST", "/api/v1/orders", s.PublishableKey, orderBody("TEE-S", 3)).
		expectProblem(t, http.StatusConflict, "idempotency_conflict")
	s.withKey("order-1", "POST", "/api/v1/orders", s.SecretKey, orderBody("TEE-S", 3)).
		expectProblem(t, http.StatusConflict, "idempotency_conflict")
	s.expectStock("TEE-S", 5, 2)

	t.Run("keys are per route and per path", func(t *testing.T) {
		s.withKey("order-1", "POST", "/api/v1/warehouses", s.SecretKey, map[string]any{"code": "W3", "name": "Three"}).
			decode(t, http.StatusCreated, &map[string]any{})
		other := s.place(orderBody("TEE-S", 1))
		for _, id := range []string{o.ID, other.ID} {
			s.act("/api/v1/orders/"+id+"/mark-paid", nil, http.StatusOK)
		}
		s.withKey("refund-1", "POST", "/api/v1/orders/"+o.ID+"/refunds", s.SecretKey, map[string]any{"amount": 100}).
			decode(t, http.StatusCreated, &map[string]any{})
		s.withKey("refund-1", "POST", "/api/v1/orders/"+other.ID+"/refunds", s.SecretKey, map[string]any{"amount": 100}).
			expectProblem(t, http.StatusConflict, "idempotency_conflict")
		var got orderOut
		s.secret("GET", "/api/v1/orders/"+other.ID, nil).decode(t, http.StatusOK, &got)
		if got.AmountRefunded != 0 {
			t.Fatalf("the refund of another order was replayed onto %+v", got)
		}
	})

	t.Run("client errors are replayed", func(t *testing.T) {
		below := map[string]any{"sku": "TEE-S", "warehouse_code": "W1", "delta": -5, "reason": "lost"}
		s.withKey("adjust-1", "POST", "/api/v1/inventory/adjust", s.SecretKey, below).expectProblem(t, http.StatusConflict, "conflict")
		r := s.withKey("adjust-1", "POST", "/api/v1/inventory/adjust", s.SecretKey, below)
		if r.status != http.StatusConflict || r.header.Get(replayedHeader) != "true" || r.header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("replayed problem: %d %v %s", r.status, r.header, r.body)
		}
	})

	t.Run("without a key nothing is recorded", func(t *testing.T) {
		body := map[string]any{"sku": "TEE-S", "warehouse_code": "W1", "delta": 1, "reason": "found"}
		for want := int64(6); want <= 7; want++ {
			s.secret("POST", "/api/v1/inventory/adjust", body).decode(t, http.StatusOK, &map[string]any{})
			s.expectStock("TEE-S", want, 3)
		}
	})

	s.withKey(strings.Repeat("k", 256), "POST", "/api/v1/orders", s.PublishableKey, orderBody("TEE-S", 1)).
		expectProblem(t, http.StatusUnprocessableEntity, "invalid")
	s.withKey("too-big", "POST", "/api/v1/orders", s.PublishableKey, map[string]any{"note": strings.Repeat("x", 32<<10)}).
		expectProblem(t, http.StatusRequestEntityTooLarge, "payload_too_large")
}

// TestIdempotencyForgetsFailures: a 5xx or a panic is not recorded, so the retry runs;
// a retry while the first request runs is a conflict.
func TestIdempotencyForgetsFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.merchant("failures", "")
	ctx := viewer.NewContext(t.Context(), viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: m.Merchant.ID, ActorID: "key_t"})
	var calls atomic.Int32
	var outcome func(w http.ResponseWriter)
	handler := h.api.idempotent("POST /test", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		outcome(w)
	}))
	send := func(key string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequestWithContext(ctx, "POST", "/test", strings.NewReader(`{"a":1}`))
		r.Header.Set(idempotencyHeader, key)
		rec := httptest.NewRecorder()
		func() {
			defer func() { _ = recover() }()
			handler.ServeHTTP(rec, r)
		}()
		return rec
	}

	outcome = func(w http.ResponseWriter) { writeJSON(w, http.StatusServiceUnavailable, map[string]string{}) }
	send("k")
	outcome = func(http.ResponseWriter) { panic("boom") }
	send("k")
	outcome = func(w http.ResponseWriter) { writeJSON(w, http.StatusCreated, map[string]string{"id": "x"}) }
	if rec := send("k"); rec.Code != http.StatusCreated || calls.Load() != 3 {
		t.Fatalf("after a 503 and a panic the retry got %d after %d calls", rec.Code, calls.Load())
	}
	if rec := send("k"); rec.Code != http.StatusCreated || calls.Load() != 3 || rec.Header().Get(replayedHeader) != "true" {
		t.Fatalf("a completed request ran again: %d after %d calls", rec.Code, calls.Load())
	}

	running := make(chan struct{})
	release := make(chan struct{})
	outcome = func(w http.ResponseWriter) {
		close(running)
		<-release
		w.WriteHeader(http.StatusCreated)
	}
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- send("slow") }()
	<-running
	if rec := send("slow"); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "idempotency_conflict") {
		t.Fatalf("retry while running: %d %s", rec.Code, rec.Body)
	}
	close(release)
	if rec := <-done; rec.Code != http.StatusCreated {
		t.Fatalf("first request: %d", rec.Code)
	}
}
