package rest

import (
	"net/http"
	"strings"
	"testing"
)

// TestProblemsAreCounted: error answers are counted by route and problem code, which is
// how a refused reservation (insufficient_inventory on order placement) shows on
// /metrics.
func TestProblemsAreCounted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := newShop(t, h, "metrics")
	s.storefront("POST", "/api/v1/orders", orderBody("TEE-S", 1)).expectProblem(t, http.StatusConflict, "insufficient_inventory")
	s.secret("GET", "/api/v1/products/prd_01HZZZZZZZZZZZZZZZZZZZZZZZ", nil).expectProblem(t, http.StatusNotFound, "not_found")
	r := h.do(request{method: "GET", path: "/metrics"})
	if r.status != http.StatusOK {
		t.Fatalf("/metrics: %d", r.status)
	}
	for _, want := range []string{
		`mercantile_http_problems_total{code="insufficient_inventory",route="/api/v1/orders"} 1`,
		`mercantile_http_problems_total{code="not_found",route="/api/v1/products/{id}"} 1`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
