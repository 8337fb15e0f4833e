package rest

import (
	"net/http"
	"strings"
	"testing"
)

// TestEveryRouteHidesOtherMerchants walks every route that names an object in its path
// and asks for merchant A's object with merchant B's secret key: each must answer 404
// not_found, as if the object did not exist, and change nothing. A route added without
// a case here fails the test, so new routes cannot skip the check. The routes of
// optional services the harness leaves out (imports) check the same in their own tests.
func TestEveryRouteHidesOtherMerchants(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := newShop(t, h, "walk-a")
	b := newShop(t, h, "walk-b")

	// Objects only A has: B's shop has its own TEE-S and TEE-M, so A's SKU and handle
	// must be A's alone for a miss to mean isolation.
	var product struct {
		ID       string `json:"id"`
		Variants []struct {
			ID string `json:"id"`
		} `json:"variants"`
	}
	a.secret("POST", "/api/v1/products", map[string]any{"title": "A only", "handle": "a-only",
		"variants": []map[string]any{{"sku": "A-ONLY", "price": 700}}}).decode(t, http.StatusCreated, &product)
	a.setStock("A-ONLY", "W1", 3)
	a.setStock("TEE-S", "W1", 5)
	order := a.place(orderBody("TEE-S", 1))
	var keys struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	a.secret("GET", "/api/v1/keys", nil).decode(t, http.StatusOK, &keys)

	ids := map[string]string{
		"/api/v1/keys/":       keys.Data[0].ID,
		"/api/v1/products/":   product.ID,
		"/api/v1/variants/":   product.Variants[0].ID,
		"/api/v1/warehouses/": a.warehouseIDs()["W1"],
		"/api/v1/orders/":     order.ID,
		"/api/v1/shipments/":  order.Shipments[0].ID,
	}
	// The path of each route for A's object, and a body B's request would be valid with,
	// so that only the lookup can refuse it.
	cases := map[string]struct {
		path string
		body any
		// status and code of the answer when it is not 404 not_found.
		status int
		code   string
	}{
		"DELETE /api/v1/keys/{id}":                {path: "/api/v1/keys/{id}"},
		"GET /api/v1/products/{id}":               {path: "/api/v1/products/{id}"},
		"PATCH /api/v1/products/{id}":             {path: "/api/v1/products/{id}", body: map[string]any{"title": "Mine now"}},
		"DELETE /api/v1/products/{id}":            {path: "/api/v1/products/{id}"},
		"GET /api/v1/products/by-handle/{handle}": {path: "/api/v1/products/by-handle/a-only"},
		"POST /api/v1/products/{id}/variants":     {path: "/api/v1/products/{id}/variants", body: map[string]any{"sku": "B-NEW", "price": 100}},
		"POST /api/v1/products/{id}/images":       {path: "/api/v1/products/{id}/images", body: map[string]any{"filename": "a.jpg", "content_type": "image/jpeg"}},
		"GET /api/v1/variants/{id}":               {path: "/api/v1/variants/{id}"},
		"PATCH /api/v1/variants/{id}":             {path: "/api/v1/variants/{id}", body: map[string]any{"price": 1}},
		"DELETE /api/v1/variants/{id}":            {path: "/api/v1/variants/{id}"},
		"GET /api/v1/variants/by-sku/{sku}":       {path: "/api/v1/variants/by-sku/A-ONLY"},
		"PATCH /api/v1/warehouses/{id}":           {path: "/api/v1/warehouses/{id}", body: map[string]any{"name": "Mine now"}},
		"GET /api/v1/inventory/{sku}":             {path: "/api/v1/inventory/A-ONLY"},
		"GET /api/v1/inventory/{sku}/movements":   {path: "/api/v1/inventory/A-ONLY/movements"},
		"GET /api/v1/orders/{id}":                 {path: "/api/v1/orders/{id}"},
		"POST /api/v1/orders/{id}/cancel":         {path: "/api/v1/orders/{id}/cancel"},
		"POST /api/v1/orders/{id}/mark-paid":      {path: "/api/v1/orders/{id}/mark-paid"},
		"POST /api/v1/orders/{id}/refunds":        {path: "/api/v1/orders/{id}/refunds", body: map[string]any{"amount": 100, "reason": "mine"}},
		// Without Stripe the route refuses every order alike, before looking it up.
		"POST /api/v1/orders/{id}/payment-intent": {path: "/api/v1/orders/{id}/payment-intent", status: http.StatusConflict, code: "invalid_state_transition"},
		"POST /api/v1/shipments/{id}/ship":        {path: "/api/v1/shipments/{id}/ship", body: map[string]any{"carrier": "UPS", "tracking_number": "1Z999"}},
		"POST /api/v1/shipments/{id}/deliver":     {path: "/api/v1/shipments/{id}/deliver"},
	}
	walked := 0
	for _, rt := range h.api.routes() {
		if !strings.Contains(rt.path, "{") {
			continue // no object in the path; /media/* is signed per object instead
		}
		route := rt.method + " " + rt.path
		c, ok := cases[route]
		if !ok {
			t.Errorf("%s names an object but has no case in this walk: add one", route)
			continue
		}
		path := c.path
		for prefix, id := range ids {
			if strings.HasPrefix(path, prefix) {
				path = strings.Replace(path, "{id}", id, 1)
			}
		}
		status, code := http.StatusNotFound, "not_found"
		if c.status != 0 {
			status, code = c.status, c.code
		}
		t.Run(route, func(t *testing.T) {
			b.secret(rt.method, path, c.body).expectProblem(t, status, code)
		})
		walked++
	}
	if walked != len(cases) {
		t.Errorf("walked %d routes for %d cases: a case names a route that is gone", walked, len(cases))
	}

	// Nothing of A's changed.
	var got orderOut
	a.secret("GET", "/api/v1/orders/"+order.ID, nil).decode(t, http.StatusOK, &got)
	if got.Status != "open" || got.FinancialStatus != "pending" || got.AmountRefunded != 0 || got.FulfillmentStatus != "unfulfilled" {
		t.Fatalf("A's order after B's attempts: %+v", got)
	}
	var v struct {
		Price int64 `json:"price"`
	}
	a.secret("GET", "/api/v1/variants/"+product.Variants[0].ID, nil).decode(t, http.StatusOK, &v)
	if v.Price != 700 {
		t.Fatalf("A's variant price %d after B's attempts", v.Price)
	}
	var houses struct{ Data []warehouseOut }
	a.secret("GET", "/api/v1/warehouses", nil).decode(t, http.StatusOK, &houses)
	for _, wh := range houses.Data {
		if wh.Name == "Mine now" {
			t.Fatalf("B renamed A's warehouse: %+v", wh)
		}
	}
	a.expectStock("A-ONLY", 3, 0)
}
