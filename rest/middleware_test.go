package rest

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mercantile/mercantile/internal/platform/httperr"
)

func TestRecovererHidesInternals(t *testing.T) {
	t.Parallel()
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	h := middleware.RequestID(exposeRequestID(recoverer(log)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("database password is hunter2")
	}))))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/merchant", nil))

	var p httperr.Document
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 500 || p.Code != "internal" || p.RequestID == "" || p.RequestID != rec.Header().Get("X-Request-Id") {
		t.Fatalf("panic response %d %+v", rec.Code, p)
	}
	if strings.Contains(rec.Body.String(), "hunter2") {
		t.Fatal("the panic value leaked to the client")
	}
	if !strings.Contains(logged.String(), "hunter2") || !strings.Contains(logged.String(), p.RequestID) {
		t.Fatalf("the panic was not logged with its request id: %s", logged.String())
	}
}

func TestCORSAllowsOnlyConfiguredOrigins(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	deps := h.deps
	deps.Config.CORSAllowedOrigins = []string{"https://shop.example.com"}
	deps.Registry = prometheus.NewRegistry()
	router := NewRouter(deps)
	for origin, allowed := range map[string]bool{"https://shop.example.com": true, "https://evil.example.com": false} {
		req := httptest.NewRequest("OPTIONS", "/api/v1/merchant", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "PATCH")
		req.Header.Set("Access-Control-Request-Headers", "Authorization, Content-Type")
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		got := rec.Header().Get("Access-Control-Allow-Origin")
		if allowed != (got == origin) {
			t.Errorf("origin %s: Access-Control-Allow-Origin %q", origin, got)
		}
	}
}
