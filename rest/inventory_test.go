package rest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/merchants"
)

// shop is a merchant with one active product of SKUs TEE-S (1500) and TEE-M (2500) and
// warehouses W1 (priority 1) and W2 (priority 2), all made through the API.
type shop struct {
	t *testing.T
	h *harness
	merchants.Created
}

func newShop(t *testing.T, h *harness, handle string) shop {
	t.Helper()
	s := shop{t: t, h: h, Created: h.merchant(handle, "")}
	s.secret("POST", "/api/v1/products", map[string]any{
		"title": "Tee", "options": []map[string]any{{"name": "Size", "values": []string{"S", "M"}}},
		"variants": []map[string]any{
			{"sku": "TEE-S", "option_values": map[string]string{"Size": "S"}, "price": 1500},
			{"sku": "TEE-M", "option_values": map[string]string{"Size": "M"}, "price": 2500},
		},
	}).decode(t, http.StatusCreated, &map[string]any{})
	for code, priority := range map[string]int{"W1": 1, "W2": 2} {
		s.secret("POST", "/api/v1/warehouses", map[string]any{"code": code, "name": "Warehouse " + code, "priority": priority}).
			decode(t, http.StatusCreated, &map[string]any{})
	}
	return s
}

func (s shop) secret(method, path string, body any) reply {
	s.t.Helper()
	return s.h.do(request{method: method, path: path, key: s.SecretKey, body: body})
}

func (s shop) storefront(method, path string, body any) reply {
	s.t.Helper()
	return s.h.do(request{method: method, path: path, key: s.PublishableKey, body: body})
}

func (s shop) setStock(sku, code string, onHand int64) {
	s.t.Helper()
	s.secret("POST", "/api/v1/inventory/set", map[string]any{"sku": sku, "warehouse_code": code, "on_hand": onHand}).
		decode(s.t, http.StatusOK, &inventory.Stock{})
}

func (s shop) stock(sku string) inventory.Stock {
	s.t.Helper()
	var st inventory.Stock
	s.storefront("GET", "/api/v1/inventory/"+url.PathEscape(sku), nil).decode(s.t, http.StatusOK, &st)
	return st
}

type movementOut struct {
	ID            string  `json:"id"`
	SKU           string  `json:"sku"`
	WarehouseID   string  `json:"warehouse_id"`
	OrderID       *string `json:"order_id"`
	OnHandDelta   int64   `json:"on_hand_delta"`
	ReservedDelta int64   `json:"reserved_delta"`
	OnHandAfter   int64   `json:"on_hand_after"`
	ReservedAfter int64   `json:"reserved_after"`
	Reason        string  `json:"reason"`
	Note          string  `json:"note"`
	Actor         string  `json:"actor"`
}

type pageOut struct {
	HasNextPage bool    `json:"has_next_page"`
	EndCursor   *string `json:"end_cursor"`
}

// movements reads a SKU's whole ledger, newest first, a page of limit at a time.
func (s shop) movements(sku string, limit int) []movementOut {
	s.t.Helper()
	var all []movementOut
	after := ""
	for {
		var page struct {
			Data     []movementOut `json:"data"`
			PageInfo pageOut       `json:"page_info"`
		}
		q := url.Values{"limit": {jsonNumber(limit)}, "after": {after}}
		s.secret("GET", "/api/v1/inventory/"+url.PathEscape(sku)+"/movements?"+q.Encode(), nil).decode(s.t, http.StatusOK, &page)
		all = append(all, page.Data...)
		if !page.PageInfo.HasNextPage {
			return all
		}
		after = *page.PageInfo.EndCursor
	}
}

func jsonNumber(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

type warehouseOut struct {
	ID       string         `json:"id"`
	Code     string         `json:"code"`
	Name     string         `json:"name"`
	Address  map[string]any `json:"address"`
	Priority int            `json:"priority"`
	Active   bool           `json:"active"`
}

// warehouseIDs maps the shop's warehouse codes to their ids.
func (s shop) warehouseIDs() map[string]string {
	s.t.Helper()
	var list struct{ Data []warehouseOut }
	s.secret("GET", "/api/v1/warehouses", nil).decode(s.t, http.StatusOK, &list)
	out := map[string]string{}
	for _, w := range list.Data {
		out[w.Code] = w.ID
	}
	return out
}

// checkLedger proves every level of sku equals the sum of its movements.
func (s shop) checkLedger(sku string) {
	s.t.Helper()
	ids := s.warehouseIDs()
	onHand, reserved := map[string]int64{}, map[string]int64{}
	for _, m := range s.movements(sku, 250) {
		onHand[m.WarehouseID] += m.OnHandDelta
		reserved[m.WarehouseID] += m.ReservedDelta
	}
	for _, l := range s.stock(sku).Levels {
		id := ids[l.WarehouseCode]
		if onHand[id] != l.OnHand || reserved[id] != l.Reserved {
			s.t.Errorf("%s in %s: level %d/%d, ledger %d/%d", sku, l.WarehouseCode, l.OnHand, l.Reserved, onHand[id], reserved[id])
		}
	}
}

func testWarehouses(t *testing.T, h *harness) {
	s := newShop(t, h, "warehouses")
	var w3 warehouseOut
	s.secret("POST", "/api/v1/warehouses", map[string]any{
		"code": "W3", "name": "Overflow", "address": map[string]any{"line1": "1 Dock Rd", "city": "Leeds", "country": "GB"},
	}).decode(t, http.StatusCreated, &w3)
	if w3.Code != "W3" || w3.Priority != 100 || !w3.Active || w3.Address["city"] != "Leeds" {
		t.Fatalf("created %+v", w3)
	}
	s.secret("POST", "/api/v1/warehouses", map[string]any{"code": "W3", "name": "Again"}).expectProblem(t, http.StatusConflict, "conflict")
	p := s.secret("POST", "/api/v1/warehouses", map[string]any{"code": "no spaces", "name": ""}).expectProblem(t, http.StatusUnprocessableEntity, "invalid")
	expectField(t, p, "code")
	expectField(t, p, "name")

	var patched warehouseOut
	s.secret("PATCH", "/api/v1/warehouses/"+w3.ID, map[string]any{"priority": 0, "active": false}).decode(t, http.StatusOK, &patched)
	if patched.Priority != 0 || patched.Active || patched.Name != "Overflow" || patched.Address["line1"] != "1 Dock Rd" {
		t.Fatalf("patched %+v", patched)
	}
	s.secret("PATCH", "/api/v1/warehouses/"+w3.ID, map[string]any{"code": "W1"}).expectProblem(t, http.StatusConflict, "conflict")
	s.secret("PATCH", "/api/v1/warehouses/wh_01HZZZZZZZZZZZZZZZZZZZZZZZ", map[string]any{"name": "x"}).expectProblem(t, http.StatusNotFound, "not_found")

	var list struct {
		Data     []warehouseOut `json:"data"`
		PageInfo pageOut        `json:"page_info"`
	}
	s.secret("GET", "/api/v1/warehouses?limit=2", nil).decode(t, http.StatusOK, &list)
	if len(list.Data) != 2 || !list.PageInfo.HasNextPage {
		t.Fatalf("first page %+v", list)
	}
	s.secret("GET", "/api/v1/warehouses?limit=2&after="+*list.PageInfo.EndCursor, nil).decode(t, http.StatusOK, &list)
	if len(list.Data) != 1 || list.Data[0].ID != w3.ID || list.PageInfo.HasNextPage {
		t.Fatalf("second page %+v", list)
	}
}

func testStock(t *testing.T, h *harness) {
	s := newShop(t, h, "stock")
	var st inventory.Stock
	s.secret("POST", "/api/v1/inventory/set", map[string]any{"sku": "TEE-S", "warehouse_code": "W2", "on_hand": 10, "reason": "count"}).
		decode(t, http.StatusOK, &st)
	if st.SKU != "TEE-S" || st.OnHand != 10 || st.Available != 10 || len(st.Levels) != 1 || st.Levels[0].WarehouseCode != "W2" {
		t.Fatalf("after set %+v", st)
	}
	s.secret("POST", "/api/v1/inventory/adjust", map[string]any{"sku": "TEE-S", "warehouse_code": "W2", "delta": -3, "reason": "damaged"}).
		decode(t, http.StatusOK, &st)
	if st.OnHand != 7 {
		t.Fatalf("after adjust %+v", st)
	}
	s.secret("POST", "/api/v1/inventory/transfer", map[string]any{"sku": "TEE-S", "from_warehouse_code": "W2", "to_warehouse_code": "W1", "quantity": 2}).
		decode(t, http.StatusOK, &st)
	want := []inventory.WarehouseLevel{{WarehouseCode: "W1", OnHand: 2, Available: 2}, {WarehouseCode: "W2", OnHand: 5, Available: 5}}
	if st.OnHand != 7 || len(st.Levels) != 2 || st.Levels[0] != want[0] || st.Levels[1] != want[1] {
		t.Fatalf("after transfer %+v, want levels by priority %+v", st, want)
	}
	if got := s.stock("TEE-S"); got.OnHand != 7 || got.Available != 7 || len(got.Levels) != 2 {
		t.Fatalf("GET inventory %+v", got)
	}
	if got := s.stock("TEE-M"); got.OnHand != 0 || len(got.Levels) != 0 {
		t.Fatalf("a SKU never stocked %+v", got)
	}

	moves := s.movements("TEE-S", 2)
	reasons := ""
	for _, m := range moves {
		reasons += m.Reason + " "
	}
	if reasons != "transfer_in transfer_out adjust set " && reasons != "transfer_out transfer_in adjust set " {
		t.Fatalf("ledger newest first: %s", reasons)
	}
	if last := moves[len(moves)-1]; last.Note != "count" || last.OnHandAfter != 10 || last.Actor == "" || last.OrderID != nil {
		t.Fatalf("set movement %+v", last)
	}
	s.checkLedger("TEE-S")

	t.Run("bad input writes nothing", func(t *testing.T) {
		before := len(s.movements("TEE-S", 250))
		tests := []struct {
			name, path string
			body       any
			status     int
			code       string
			field      string
		}{
			{"set without on_hand", "set", map[string]any{"sku": "TEE-S", "warehouse_code": "W1"}, 422, "invalid", "on_hand"},
			{"set negative", "set", map[string]any{"sku": "TEE-S", "warehouse_code": "W1", "on_hand": -1}, 422, "invalid", "on_hand"},
			{"set fractional", "set", map[string]any{"sku": "TEE-S", "warehouse_code": "W1", "on_hand": 1.5}, 400, "invalid", "on_hand"},
			{"set unknown SKU", "set", map[string]any{"sku": "NOPE", "warehouse_code": "W1", "on_hand": 1}, 404, "not_found", "sku"},
			{"set unknown warehouse", "set", map[string]any{"sku": "TEE-S", "warehouse_code": "W9", "on_hand": 1}, 404, "not_found", "warehouse_code"},
			{"adjust without reason", "adjust", map[string]any{"sku": "TEE-S", "warehouse_code": "W1", "delta": 1}, 422, "invalid", "reason"},
			{"adjust by zero", "adjust", map[string]any{"sku": "TEE-S", "warehouse_code": "W1", "delta": 0, "reason": "x"}, 422, "invalid", "delta"},
			{"adjust below zero", "adjust", map[string]any{"sku": "TEE-S", "warehouse_code": "W1", "delta": -3, "reason": "x"}, 409, "conflict", "on_hand"},
			{"adjust unknown field", "adjust", map[string]any{"sku": "TEE-S", "warehouse": "W1", "delta": 1, "reason": "x"}, 400, "invalid", "warehouse"},
			{"transfer too much", "transfer", map[string]any{"sku": "TEE-S", "from_warehouse_code": "W1", "to_warehouse_code": "W2", "quantity": 3}, 409, "conflict", "quantity"},
			{"transfer to itself", "transfer", map[string]any{"sku": "TEE-S", "from_warehouse_code": "W1", "to_warehouse_code": "W1", "quantity": 1}, 422, "invalid", "to_warehouse_code"},
			{"transfer nothing", "transfer", map[string]any{"sku": "TEE-S", "from_warehouse_code": "W1", "to_warehouse_code": "W2"}, 422, "invalid", "quantity"},
			{"transfer without source", "transfer", map[string]any{"sku": "TEE-S", "to_warehouse_code": "W2", "quantity": 1}, 422, "invalid", "from_warehouse_code"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := s.secret("POST", "/api/v1/inventory/"+tt.path, tt.body).expectProblem(t, tt.status, tt.code)
				expectField(t, p, tt.field)
			})
		}
		if after := len(s.movements("TEE-S", 250)); after != before {
			t.Fatalf("rejected changes wrote %d movements", after-before)
		}
		if got := s.stock("TEE-S"); got.OnHand != 7 {
			t.Fatalf("rejected changes moved stock: %+v", got)
		}
		s.secret("GET", "/api/v1/inventory/NOPE", nil).expectProblem(t, http.StatusNotFound, "not_found")
		s.secret("GET", "/api/v1/inventory/NOPE/movements", nil).expectProblem(t, http.StatusNotFound, "not_found")
	})

	t.Run("a SKU that needs escaping", func(t *testing.T) {
		s.secret("POST", "/api/v1/products", map[string]any{"title": "Odd", "variants": []map[string]any{{"sku": "A/B%C", "price": 100}}}).
			decode(t, http.StatusCreated, &map[string]any{})
		s.setStock("A/B%C", "W1", 4)
		if got := s.stock("A/B%C"); got.SKU != "A/B%C" || got.OnHand != 4 {
			t.Fatalf("GET escaped SKU %+v", got)
		}
		if moves := s.movements("A/B%C", 10); len(moves) != 1 {
			t.Fatalf("movements of escaped SKU %+v", moves)
		}
	})
}
