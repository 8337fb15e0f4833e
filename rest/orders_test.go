package rest

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

type orderOut struct {
	ID                string `json:"id"`
	Number            int64  `json:"number"`
	Name              string `json:"name"`
	Status            string `json:"status"`
	FinancialStatus   string `json:"financial_status"`
	FulfillmentStatus string `json:"fulfillment_status"`
	Email             string `json:"email"`
	Currency          string `json:"currency"`
	Subtotal          int64  `json:"subtotal"`
	ShippingTotal     int64  `json:"shipping_total"`
	TaxTotal          int64  `json:"tax_total"`
	Total             int64  `json:"total"`
	AmountRefunded    int64  `json:"amount_refunded"`
	LineItems         []struct {
		ID        string `json:"id"`
		SKU       string `json:"sku"`
		Title     string `json:"title"`
		Quantity  int    `json:"quantity"`
		UnitPrice int64  `json:"unit_price"`
		Total     int64  `json:"total"`
	} `json:"line_items"`
	Shipments []shipmentOut `json:"shipments"`
	Payment   struct {
		Provider string `json:"provider"`
		Status   string `json:"status"`
	} `json:"payment"`
	ShippingAddress map[string]string `json:"shipping_address"`
	CreatedAt       string            `json:"created_at"`
}

type shipmentOut struct {
	ID             string `json:"id"`
	WarehouseCode  string `json:"warehouse_code"`
	Status         string `json:"status"`
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
	LineItems      []struct {
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
	} `json:"line_items"`
}

// shipment returns the order's shipment from warehouse code.
func (o orderOut) shipment(t *testing.T, code string) shipmentOut {
	t.Helper()
	for _, s := range o.Shipments {
		if s.WarehouseCode == code {
			return s
		}
	}
	t.Fatalf("order %s has no shipment from %s: %+v", o.ID, code, o.Shipments)
	return shipmentOut{}
}

type orderList struct {
	Data     []orderOut `json:"data"`
	PageInfo pageOut    `json:"page_info"`
}

func (l orderList) ids() string {
	ids := make([]string, len(l.Data))
	for i, o := range l.Data {
		ids[i] = o.ID
	}
	return strings.Join(ids, ",")
}

// orderBody is an order for lines (SKU, quantity, SKU, quantity, ...).
func orderBody(lines ...any) map[string]any {
	items := []map[string]any{}
	for i := 0; i < len(lines); i += 2 {
		items = append(items, map[string]any{"sku": lines[i], "quantity": lines[i+1]})
	}
	return map[string]any{
		"email": "Buyer@Example.com",
		"shipping_address": map[string]any{
			"name": "Ada Lovelace", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "us",
		},
		"line_items": items,
	}
}

func (s shop) place(body map[string]any) orderOut {
	s.t.Helper()
	var o orderOut
	s.storefront("POST", "/api/v1/orders", body).decode(s.t, http.StatusCreated, &o)
	return o
}

// act posts an order or shipment action and decodes the order it returns with status.
func (s shop) act(path string, body any, status int) orderOut {
	s.t.Helper()
	var o orderOut
	s.secret("POST", path, body).decode(s.t, status, &o)
	return o
}

func (s shop) expectStock(sku string, onHand, reserved int64) {
	s.t.Helper()
	if st := s.stock(sku); st.OnHand != onHand || st.Reserved != reserved || st.Available != onHand-reserved {
		s.t.Fatalf("%s stock %+v, want on_hand %d reserved %d", sku, st, onHand, reserved)
	}
}

func testOrderFlow(t *testing.T, h *harness) {
	s := newShop(t, h, "orders")
	s.setStock("TEE-S", "W1", 2)
	s.setStock("TEE-S", "W2", 2)
	s.setStock("TEE-M", "W1", 5)

	o := s.place(orderBody("TEE-S", 3))
	if o.Number < 1 || o.Name != "#"+strconv.FormatInt(o.Number, 10) || o.Status != "open" || o.FinancialStatus != "pending" || o.FulfillmentStatus != "unfulfilled" ||
		o.Email != "buyer@example.com" || o.Currency != "USD" || o.ShippingAddress["country"] != "US" {
		t.Fatalf("placed %+v", o)
	}
	if len(o.LineItems) != 1 || o.LineItems[0].UnitPrice != 1500 || o.LineItems[0].Total != 4500 || o.LineItems[0].Title != "Tee" ||
		o.Subtotal != 4500 || o.ShippingTotal != 0 || o.TaxTotal != 0 || o.Total != 4500 {
		t.Fatalf("prices %+v", o)
	}
	if o.Payment.Provider != "manual" || o.Payment.Status != "pending" {
		t.Fatalf("payment %+v", o.Payment)
	}
	// No warehouse holds 3: W1 (first by priority) ships its 2, W2 the third.
	w1, w2 := o.shipment(t, "W1"), o.shipment(t, "W2")
	if len(o.Shipments) != 2 || w1.LineItems[0].Quantity != 2 || w2.LineItems[0].Quantity != 1 || w1.Status != "pending" {
		t.Fatalf("shipments %+v", o.Shipments)
	}
	s.expectStock("TEE-S", 4, 3)

	t.Run("list and get", func(t *testing.T) {
		var got orderOut
		s.secret("GET", "/api/v1/orders/"+o.ID, nil).decode(t, http.StatusOK, &got)
		if got.ID != o.ID || len(got.Shipments) != 2 || got.Total != 4500 {
			t.Fatalf("GET order %+v", got)
		}
		for query, want := range map[string]string{
			"":                                       o.ID,
			"?status=open":                           o.ID,
			"?status=cancelled":                      "",
			"?financial_status=pending":              o.ID,
			"?fulfillment_status=partial":            "",
			"?email=BUYER@example.com":               o.ID,
			"?email=someone@example.com":             "",
			"?created_after=2000-01-01T00:00:00Z":    o.ID,
			"?created_after=2999-01-01T00:00:00Z":    "",
			"?limit=1&status=open&financial_status=": o.ID,
		} {
			var l orderList
			s.secret("GET", "/api/v1/orders"+query, nil).decode(t, http.StatusOK, &l)
			if l.ids() != want {
				t.Errorf("GET /api/v1/orders%s = %s, want %s", query, l.ids(), want)
			}
		}
		s.secret("GET", "/api/v1/orders?status=lost", nil).expectProblem(t, http.StatusUnprocessableEntity, "invalid")
		s.secret("GET", "/api/v1/orders?created_after=yesterday", nil).expectProblem(t, http.StatusUnprocessableEntity, "invalid")
		s.secret("GET", "/api/v1/orders/ord_01HZZZZZZZZZZZZZZZZZZZZZZZ", nil).expectProblem(t, http.StatusNotFound, "not_found")
	})

	t.Run("pay, ship, deliver, cancel, refund", func(t *testing.T) {
		illegal := func(path string, body any) {
			t.Helper()
			s.secret("POST", path, body).expectProblem(t, http.StatusConflict, "invalid_state_transition")
		}
		ship := map[string]any{"carrier": "UPS", "tracking_number": "1Z999"}
		illegal("/api/v1/shipments/"+w1.ID+"/ship", ship)
		illegal("/api/v1/orders/"+o.ID+"/refunds", nil)

		paid := s.act("/api/v1/orders/"+o.ID+"/mark-paid", nil, http.StatusOK)
		if paid.FinancialStatus != "paid" || paid.Payment.Status != "succeeded" {
			t.Fatalf("marked paid %+v", paid)
		}
		illegal("/api/v1/orders/"+o.ID+"/mark-paid", nil)
		illegal("/api/v1/shipments/"+w1.ID+"/deliver", nil)
		s.secret("POST", "/api/v1/shipments/"+w1.ID+"/ship", map[string]any{"tracking_number": "1Z"}).
			expectProblem(t, http.StatusUnprocessableEntity, "invalid")

		shipped := s.act("/api/v1/shipments/"+w1.ID+"/ship", ship, http.StatusOK)
		if shipped.FulfillmentStatus != "partial" || shipped.shipment(t, "W1").Status != "shipped" ||
			shipped.shipment(t, "W1").Carrier != "UPS" || shipped.shipment(t, "W1").TrackingNumber != "1Z999" {
			t.Fatalf("shipped %+v", shipped)
		}
		s.expectStock("TEE-S", 2, 1)
		illegal("/api/v1/shipments/"+w1.ID+"/ship", ship)

		delivered := s.act("/api/v1/shipments/"+w1.ID+"/deliver", nil, http.StatusOK)
		if delivered.shipment(t, "W1").Status != "delivered" || delivered.Status != "open" {
			t.Fatalf("delivered %+v", delivered)
		}
		illegal("/api/v1/shipments/"+w1.ID+"/deliver", nil)

		cancelled := s.act("/api/v1/orders/"+o.ID+"/cancel", map[string]any{"reason": "customer asked"}, http.StatusOK)
		if cancelled.Status != "cancelled" || cancelled.FinancialStatus != "paid" || cancelled.shipment(t, "W2").Status != "cancelled" ||
			cancelled.shipment(t, "W1").Status != "delivered" {
			t.Fatalf("cancelled %+v", cancelled)
		}
		s.expectStock("TEE-S", 2, 0)
		illegal("/api/v1/orders/"+o.ID+"/cancel", nil)
		illegal("/api/v1/shipments/"+w2.ID+"/ship", ship)

		part := s.act("/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": 1000, "reason": "late"}, http.StatusCreated)
		if part.FinancialStatus != "partially_refunded" || part.AmountRefunded != 1000 {
			t.Fatalf("partial refund %+v", part)
		}
		p := s.secret("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": 9999}).
			expectProblem(t, http.StatusUnprocessableEntity, "invalid")
		expectField(t, p, "amount")
		rest := s.act("/api/v1/orders/"+o.ID+"/refunds", nil, http.StatusCreated)
		if rest.FinancialStatus != "refunded" || rest.AmountRefunded != 4500 {
			t.Fatalf("refund of the rest %+v", rest)
		}
		illegal("/api/v1/orders/"+o.ID+"/refunds", map[string]any{})
	})

	t.Run("cancelling an unpaid order voids it and releases its stock", func(t *testing.T) {
		o := s.place(orderBody("TEE-S", 1, "TEE-M", 2))
		s.expectStock("TEE-M", 5, 2)
		cancelled := s.act("/api/v1/orders/"+o.ID+"/cancel", nil, http.StatusOK)
		if cancelled.Status != "cancelled" || cancelled.FinancialStatus != "voided" || cancelled.Payment.Status != "canceled" {
			t.Fatalf("cancelled %+v", cancelled)
		}
		s.expectStock("TEE-S", 2, 0)
		s.expectStock("TEE-M", 5, 0)
		s.secret("POST", "/api/v1/orders/"+o.ID+"/mark-paid", nil).expectProblem(t, http.StatusConflict, "invalid_state_transition")
	})

	t.Run("delivering every shipment closes the order", func(t *testing.T) {
		o := s.place(orderBody("TEE-M", 1))
		s.act("/api/v1/orders/"+o.ID+"/mark-paid", nil, http.StatusOK)
		s.act("/api/v1/shipments/"+o.Shipments[0].ID+"/ship", map[string]any{"carrier": "DHL"}, http.StatusOK)
		s.expectStock("TEE-M", 4, 0)
		closed := s.act("/api/v1/shipments/"+o.Shipments[0].ID+"/deliver", nil, http.StatusOK)
		if closed.Status != "closed" || closed.FulfillmentStatus != "fulfilled" {
			t.Fatalf("delivered in full %+v", closed)
		}
		s.secret("POST", "/api/v1/orders/"+o.ID+"/cancel", nil).expectProblem(t, http.StatusConflict, "invalid_state_transition")
	})

	t.Run("not enough stock reserves nothing", func(t *testing.T) {
		var before orderList
		s.secret("GET", "/api/v1/orders", nil).decode(t, http.StatusOK, &before)
		p := s.storefront("POST", "/api/v1/orders", orderBody("TEE-M", 1, "TEE-S", 3)).
			expectProblem(t, http.StatusConflict, "insufficient_inventory")
		expectField(t, p, "TEE-S")
		if errs := p["errors"].([]any); len(errs) != 1 {
			t.Fatalf("errors name SKUs that are not short: %v", errs)
		}
		s.expectStock("TEE-M", 4, 0)
		s.expectStock("TEE-S", 2, 0)
		var after orderList
		s.secret("GET", "/api/v1/orders", nil).decode(t, http.StatusOK, &after)
		if len(after.Data) != len(before.Data) {
			t.Fatalf("a refused order was written: %d orders, then %d", len(before.Data), len(after.Data))
		}
	})

	s.checkLedger("TEE-S")
	s.checkLedger("TEE-M")
	var reasons []string
	for _, m := range s.movements("TEE-S", 250) {
		if m.Reason == "reserve" && m.OrderID == nil {
			t.Errorf("reservation without its order: %+v", m)
		}
		reasons = append(reasons, m.Reason)
	}
	for _, want := range []string{"set", "reserve", "commit", "release"} {
		if !strings.Contains(strings.Join(reasons, " "), want) {
			t.Errorf("ledger %v has no %s", reasons, want)
		}
	}
}

func testOrderBadInput(t *testing.T, h *harness) {
	s := newShop(t, h, "badorders")
	s.setStock("TEE-S", "W1", 5)
	with := func(change func(map[string]any)) map[string]any {
		b := orderBody("TEE-S", 1)
		change(b)
		return b
	}
	address := func(b map[string]any) map[string]any { return b["shipping_address"].(map[string]any) }
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"quantity 0", orderBody("TEE-S", 0), 422, "line_items[0].quantity"},
		{"negative quantity", orderBody("TEE-S", -2), 422, "line_items[0].quantity"},
		{"unknown SKU", orderBody("TEE-S", 1, "NOPE", 1), 422, "line_items[1].sku"},
		{"duplicate lines", orderBody("TEE-S", 1, "TEE-S", 2), 422, "line_items[1].sku"},
		{"no lines", orderBody(), 422, "line_items"},
		{"missing city", with(func(b map[string]any) { delete(address(b), "city") }), 422, "shipping_address.city"},
		{"blank name", with(func(b map[string]any) { address(b)["name"] = " " }), 422, "shipping_address.name"},
		{"bad country", with(func(b map[string]any) { address(b)["country"] = "USA" }), 422, "shipping_address.country"},
		{"no address", with(func(b map[string]any) { delete(b, "shipping_address") }), 422, "shipping_address"},
		{"wrong currency", with(func(b map[string]any) { b["currency"] = "EUR" }), 422, "currency"},
		{"bad email", with(func(b map[string]any) { b["email"] = "not an email" }), 422, "email"},
		{"unknown field", with(func(b map[string]any) { b["discount"] = 100 }), 400, "discount"},
		{"client price", with(func(b map[string]any) { b["line_items"].([]map[string]any)[0]["price"] = 1 }), 400, "line_items[0].price"},
		{"quantity as text", orderBody("TEE-S", "1"), 400, "line_items.quantity"},
		{"malformed", `{"email":`, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := s.storefront("POST", "/api/v1/orders", tt.body).expectProblem(t, tt.status, "invalid")
			if tt.field != "" {
				expectField(t, p, tt.field)
			}
		})
	}
	if o := s.place(with(func(b map[string]any) { b["currency"] = "usd" })); o.Currency != "USD" {
		t.Fatalf("the merchant's currency in lower case: %+v", o)
	}
	var list orderList
	s.secret("GET", "/api/v1/orders", nil).decode(t, http.StatusOK, &list)
	if len(list.Data) != 1 {
		t.Fatalf("rejected orders were written: %d orders", len(list.Data))
	}
	s.expectStock("TEE-S", 5, 1)
	if moves := s.movements("TEE-S", 250); len(moves) != 2 {
		t.Fatalf("rejected orders touched the ledger: %+v", moves)
	}
}

func testOrderAccess(t *testing.T, h *harness) {
	a := newShop(t, h, "access-a")
	b := newShop(t, h, "access-b")
	a.setStock("TEE-S", "W1", 5)
	b.secret("POST", "/api/v1/products", map[string]any{"title": "B only", "variants": []map[string]any{{"sku": "B-ONLY", "price": 100}}}).
		decode(t, http.StatusCreated, &map[string]any{})

	o := a.place(orderBody("TEE-S", 1))
	if st := a.stock("TEE-S"); st.Available != 4 {
		t.Fatalf("a storefront reads availability: %+v", st)
	}

	t.Run("publishable keys only place orders and read stock", func(t *testing.T) {
		shp := "/api/v1/shipments/" + o.Shipments[0].ID
		for _, rq := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/orders", nil},
			{"GET", "/api/v1/orders/" + o.ID, nil},
			{"POST", "/api/v1/orders/" + o.ID + "/cancel", nil},
			{"POST", "/api/v1/orders/" + o.ID + "/mark-paid", nil},
			{"POST", "/api/v1/orders/" + o.ID + "/refunds", nil},
			{"POST", shp + "/ship", map[string]any{"carrier": "UPS"}},
			{"POST", shp + "/deliver", nil},
			{"POST", "/api/v1/inventory/set", map[string]any{"sku": "TEE-S", "warehouse_code": "W1", "on_hand": 99}},
			{"POST", "/api/v1/inventory/adjust", map[string]any{"sku": "TEE-S", "warehouse_code": "W1", "delta": 1, "reason": "x"}},
			{"POST", "/api/v1/inventory/transfer", map[string]any{"sku": "TEE-S", "from_warehouse_code": "W1", "to_warehouse_code": "W2", "quantity": 1}},
			{"GET", "/api/v1/inventory/TEE-S/movements", nil},
			{"GET", "/api/v1/warehouses", nil},
			{"POST", "/api/v1/warehouses", map[string]any{"code": "W9", "name": "x"}},
		} {
			a.storefront(rq.method, rq.path, rq.body).expectProblem(t, http.StatusForbidden, "forbidden")
		}
		a.expectStock("TEE-S", 5, 1)
	})

	t.Run("another merchant's objects are not found", func(t *testing.T) {
		shp := "/api/v1/shipments/" + o.Shipments[0].ID
		w1 := a.warehouseIDs()["W1"]
		for _, rq := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/orders/" + o.ID, nil},
			{"POST", "/api/v1/orders/" + o.ID + "/cancel", nil},
			{"POST", "/api/v1/orders/" + o.ID + "/mark-paid", nil},
			{"POST", "/api/v1/orders/" + o.ID + "/refunds", nil},
			{"POST", shp + "/ship", map[string]any{"carrier": "UPS"}},
			{"POST", shp + "/deliver", nil},
			{"PATCH", "/api/v1/warehouses/" + w1, map[string]any{"name": "Mine now"}},
		} {
			b.secret(rq.method, rq.path, rq.body).expectProblem(t, http.StatusNotFound, "not_found")
		}
		a.secret("GET", "/api/v1/inventory/B-ONLY", nil).expectProblem(t, http.StatusNotFound, "not_found")
		var list orderList
		b.secret("GET", "/api/v1/orders", nil).decode(t, http.StatusOK, &list)
		if len(list.Data) != 0 {
			t.Fatalf("B lists A's orders: %+v", list.Data)
		}
		// B's TEE-S is its own, with no stock.
		b.storefront("POST", "/api/v1/orders", orderBody("TEE-S", 1)).expectProblem(t, http.StatusConflict, "insufficient_inventory")
		b.storefront("POST", "/api/v1/orders", orderBody("TEE-M", 1)).expectProblem(t, http.StatusConflict, "insufficient_inventory")
		a.storefront("POST", "/api/v1/orders", orderBody("B-ONLY", 1)).expectProblem(t, http.StatusUnprocessableEntity, "invalid")
		a.expectStock("TEE-S", 5, 1)
		var got orderOut
		a.secret("GET", "/api/v1/orders/"+o.ID, nil).decode(t, http.StatusOK, &got)
		if got.Status != "open" {
			t.Fatalf("B changed A's order: %+v", got)
		}
	})
}

// commerceReplies are live responses of the warehouse, inventory and order routes, named
// by the schema each must match.
func commerceReplies(t *testing.T, h *harness) []struct {
	schema string
	reply  reply
} {
	s := newShop(t, h, "schemas")
	var w warehouseOut
	created := s.secret("POST", "/api/v1/warehouses", map[string]any{"code": "W3", "name": "Three", "address": map[string]any{"city": "Oslo"}})
	created.decode(t, http.StatusCreated, &w)
	set := s.secret("POST", "/api/v1/inventory/set", map[string]any{"sku": "TEE-S", "warehouse_code": "W1", "on_hand": 5})
	adjust := s.secret("POST", "/api/v1/inventory/adjust", map[string]any{"sku": "TEE-S", "warehouse_code": "W2", "delta": 2, "reason": "found"})
	transfer := s.secret("POST", "/api/v1/inventory/transfer", map[string]any{"sku": "TEE-S", "from_warehouse_code": "W1", "to_warehouse_code": "W3", "quantity": 1})
	placed := s.storefront("POST", "/api/v1/orders", orderBody("TEE-S", 7))
	var o orderOut
	placed.decode(t, http.StatusCreated, &o)
	paid := s.secret("POST", "/api/v1/orders/"+o.ID+"/mark-paid", nil)
	shipped := s.secret("POST", "/api/v1/shipments/"+o.Shipments[0].ID+"/ship", map[string]any{"carrier": "UPS", "tracking_number": "1Z"})
	delivered := s.secret("POST", "/api/v1/shipments/"+o.Shipments[0].ID+"/deliver", nil)
	cancelled := s.secret("POST", "/api/v1/orders/"+o.ID+"/cancel", map[string]any{"reason": "rest is lost"})
	refunded := s.secret("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": 100})
	return []struct {
		schema string
		reply  reply
	}{
		{"Warehouse", created},
		{"Warehouse", s.secret("PATCH", "/api/v1/warehouses/"+w.ID, map[string]any{"active": false})},
		{"WarehouseList", s.secret("GET", "/api/v1/warehouses", nil)},
		{"Inventory", set},
		{"Inventory", adjust},
		{"Inventory", transfer},
		{"Inventory", s.storefront("GET", "/api/v1/inventory/TEE-S", nil)},
		{"MovementList", s.secret("GET", "/api/v1/inventory/TEE-S/movements", nil)},
		{"Order", placed},
		{"Order", s.secret("GET", "/api/v1/orders/"+o.ID, nil)},
		{"Order", paid},
		{"Order", shipped},
		{"Order", delivered},
		{"Order", cancelled},
		{"Order", refunded},
		{"OrderList", s.secret("GET", "/api/v1/orders", nil)},
		{"Problem", s.storefront("POST", "/api/v1/orders", orderBody("TEE-S", 100))},
		{"Problem", s.secret("POST", "/api/v1/orders/"+o.ID+"/mark-paid", nil)},
	}
}
