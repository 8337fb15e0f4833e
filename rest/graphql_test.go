package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/mercantile/mercantile/internal/inventory"
)

type gqlReply struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string `json:"message"`
		Extensions struct {
			Code   string `json:"code"`
			Errors []struct{ Field, Message string }
		} `json:"extensions"`
	} `json:"errors"`
}

// graphql posts a GraphQL operation with an API key.
func (s shop) graphql(key, query string, vars map[string]any) gqlReply {
	s.t.Helper()
	r := s.h.do(request{method: "POST", path: "/graphql", key: key, body: map[string]any{"query": query, "variables": vars}})
	var out gqlReply
	if err := json.Unmarshal(r.body, &out); err != nil {
		s.t.Fatalf("GraphQL answered %d %s", r.status, r.body)
	}
	return out
}

// data runs an operation that must succeed and decodes its data into out.
func (s shop) data(key, query string, vars map[string]any, out any) {
	s.t.Helper()
	r := s.graphql(key, query, vars)
	if len(r.Errors) > 0 {
		s.t.Fatalf("errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, out); err != nil {
		s.t.Fatalf("decoding %s: %v", r.Data, err)
	}
}

// expectCode runs an operation that must fail with code in extensions.code.
func (s shop) expectCode(key, query string, vars map[string]any, code string) gqlReply {
	s.t.Helper()
	r := s.graphql(key, query, vars)
	if len(r.Errors) == 0 || r.Errors[0].Extensions.Code != code {
		s.t.Fatalf("want %s, got %s %+v", code, r.Data, r.Errors)
	}
	return r
}

type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// subscription is a graphql-transport-ws subscription through the router.
type subscription struct {
	t    *testing.T
	conn *websocket.Conn
}

// subscribe opens a websocket authenticated in connection_init, as browsers must, and
// starts query on it.
func (s shop) subscribe(key, query string, vars map[string]any) subscription {
	s.t.Helper()
	ctx := s.t.Context()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.h.server.URL, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = conn.CloseNow() })
	init, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + key})
	if err := wsjson.Write(ctx, conn, wsMessage{Type: "connection_init", Payload: init}); err != nil {
		s.t.Fatal(err)
	}
	var ack wsMessage
	if err := wsjson.Read(ctx, conn, &ack); err != nil || ack.Type != "connection_ack" {
		s.t.Fatalf("connection_init answered %+v, %v", ack, err)
	}
	payload, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err := wsjson.Write(ctx, conn, wsMessage{ID: "1", Type: "subscribe", Payload: payload}); err != nil {
		s.t.Fatal(err)
	}
	return subscription{t: s.t, conn: conn}
}

// next returns the data of the subscription's next event.
func (sub subscription) next(out any) {
	sub.t.Helper()
	ctx, cancel := context.WithTimeout(sub.t.Context(), 10*time.Second)
	defer cancel()
	for {
		var m wsMessage
		if err := wsjson.Read(ctx, sub.conn, &m); err != nil {
			sub.t.Fatalf("waiting for an event: %v", err)
		}
		switch m.Type {
		case "ping":
			_ = wsjson.Write(ctx, sub.conn, wsMessage{Type: "pong"})
			continue
		case "next":
		default:
			sub.t.Fatalf("unexpected %s %s", m.Type, m.Payload)
		}
		var r gqlReply
		if err := json.Unmarshal(m.Payload, &r); err != nil || len(r.Errors) > 0 {
			sub.t.Fatalf("event %s: %v", m.Payload, err)
		}
		if err := json.Unmarshal(r.Data, out); err != nil {
			sub.t.Fatalf("decoding %s: %v", r.Data, err)
		}
		return
	}
}

// until reads events until one satisfies done: a change committed just before the
// subscription started may still be on its way.
func (sub subscription) until(done func(changeOut) bool) changeOut {
	sub.t.Helper()
	for {
		var ev changeOut
		sub.next(&ev)
		if done(ev) {
			return ev
		}
	}
}

// gqlStock is the Inventory type: REST's shape in GraphQL's camelCase.
type gqlStock struct {
	SKU       string `json:"sku"`
	OnHand    int64  `json:"onHand"`
	Reserved  int64  `json:"reserved"`
	Available int64  `json:"available"`
	Levels    []struct {
		WarehouseCode string `json:"warehouseCode"`
		OnHand        int64  `json:"onHand"`
		Reserved      int64  `json:"reserved"`
		Available     int64  `json:"available"`
	} `json:"levels"`
}

type changeOut struct {
	InventoryChanged struct {
		SKU       string `json:"sku"`
		OnHand    int64  `json:"onHand"`
		Reserved  int64  `json:"reserved"`
		Available int64  `json:"available"`
	} `json:"inventoryChanged"`
}

const (
	// A storefront reads all of the order it placed in placeOrder's answer, edges
	// included; afterwards orders are private again (the secret key reads it by node).
	placeOrderMutation = `mutation($input: PlaceOrderInput!) {
		placeOrder(input: $input) {
			id number status financialStatus total shippingAddress { city country }
			lineItems { sku quantity unitPrice total }
			shipments { id status warehouse { code } lineItems { sku quantity } }
			payments { provider status }
		}
	}`
	orderQuery = `query($id: ID!) {
		node(id: $id) { ... on Order {
			id number status financialStatus total
			lineItems { sku quantity unitPrice total }
			shipments { id status warehouse { code } lineItems { sku quantity } }
			payments { provider status }
			shippingAddress { city country }
		} }
	}`
	adjustMutation = `mutation($input: AdjustInventoryInput!) {
		adjustInventory(input: $input) { sku onHand reserved available levels { warehouseCode onHand reserved available } }
	}`
	watchQuery = `subscription($sku: String) { inventoryChanged(sku: $sku) { sku onHand reserved available } }`
)

type gqlOrder struct {
	ID              string `json:"id"`
	Number          int64  `json:"number"`
	Status          string `json:"status"`
	FinancialStatus string `json:"financialStatus"`
	Total           int64  `json:"total"`
	LineItems       []struct {
		SKU       string `json:"sku"`
		Quantity  int    `json:"quantity"`
		UnitPrice int64  `json:"unitPrice"`
	} `json:"lineItems"`
	Shipments []struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		Warehouse struct {
			Code string `json:"code"`
		} `json:"warehouse"`
	} `json:"shipments"`
	Payments []struct {
		Provider string `json:"provider"`
		Status   string `json:"status"`
	} `json:"payments"`
	ShippingAddress struct {
		City    string `json:"city"`
		Country string `json:"country"`
	} `json:"shippingAddress"`
}

func placeOrderInput(sku string, quantity int) map[string]any {
	return map[string]any{"input": map[string]any{
		"email": "gql@example.com",
		"shippingAddress": map[string]any{
			"name": "Grace Hopper", "line1": "2 Navy Way", "city": "Arlington", "postalCode": "22201", "country": "US",
		},
		"lineItems": []map[string]any{{"sku": sku, "quantity": quantity}},
	}}
}

func testGraphQLCommerce(t *testing.T, h *harness) {
	s := newShop(t, h, "graphql")
	other := newShop(t, h, "graphql-other")

	var created struct {
		CreateWarehouse struct {
			ID       string `json:"id"`
			Code     string `json:"code"`
			Priority int    `json:"priority"`
			Address  struct {
				City string `json:"city"`
			} `json:"address"`
		} `json:"createWarehouse"`
	}
	s.data(s.SecretKey, `mutation { createWarehouse(input: {code: "W0", name: "Front", priority: 0, address: {city: "Oslo", country: "NO"}}) {
		id code priority address { city } } }`, nil, &created)
	if created.CreateWarehouse.Code != "W0" || created.CreateWarehouse.Address.City != "Oslo" {
		t.Fatalf("createWarehouse %+v", created)
	}
	var updated struct {
		UpdateWarehouse struct {
			Active  bool `json:"active"`
			Address any  `json:"address"`
		} `json:"updateWarehouse"`
	}
	s.data(s.SecretKey, `mutation($id: ID!) { updateWarehouse(id: $id, input: {active: false}) { active address { city } } }`,
		map[string]any{"id": created.CreateWarehouse.ID}, &updated)
	if updated.UpdateWarehouse.Active || updated.UpdateWarehouse.Address == nil {
		t.Fatalf("updateWarehouse %+v", updated)
	}
	s.expectCode(s.SecretKey, `mutation { createWarehouse(input: {code: "W0", name: "Again"}) { id } }`, nil, "conflict")
	other.expectCode(other.SecretKey, `mutation($id: ID!) { updateWarehouse(id: $id, input: {name: "Mine"}) { id } }`,
		map[string]any{"id": created.CreateWarehouse.ID}, "not_found")

	var set struct{ SetInventory gqlStock }
	s.data(s.SecretKey, `mutation { setInventory(input: {sku: "TEE-S", warehouseCode: "W1", onHand: 5, reason: "count"}) {
		sku onHand reserved available levels { warehouseCode onHand reserved available } } }`, nil, &set)
	if set.SetInventory.OnHand != 5 || set.SetInventory.Levels[0].WarehouseCode != "W1" {
		t.Fatalf("setInventory %+v", set)
	}

	// The storefront watches the SKU; another merchant watches every SKU of its own.
	watch := s.subscribe(s.PublishableKey, watchQuery, map[string]any{"sku": "TEE-S"})
	var ev changeOut
	watch.next(&ev)
	if ev.InventoryChanged.SKU != "TEE-S" || ev.InventoryChanged.Available != 5 {
		t.Fatalf("first event is the current stock: %+v", ev)
	}
	otherWatch := other.subscribe(other.SecretKey, watchQuery, nil)

	var placed struct{ PlaceOrder gqlOrder }
	s.data(s.PublishableKey, placeOrderMutation, placeOrderInput("TEE-S", 2), &placed)
	if o := placed.PlaceOrder; o.Status != "open" || o.Total != 3000 || o.Number < 1 || o.ShippingAddress.City != "Arlington" ||
		len(o.LineItems) != 1 || o.LineItems[0].UnitPrice != 1500 || len(o.Shipments) != 1 || o.Payments[0].Provider != "manual" {
		t.Fatalf("placeOrder %+v", o)
	}
	// The allowance ends with placeOrder's answer.
	s.expectCode(s.PublishableKey, orderQuery, map[string]any{"id": placed.PlaceOrder.ID}, "forbidden")
	var read struct{ Node gqlOrder }
	s.data(s.SecretKey, orderQuery, map[string]any{"id": placed.PlaceOrder.ID}, &read)
	o := read.Node
	if o.ID != placed.PlaceOrder.ID || o.LineItems[0].UnitPrice != 1500 || len(o.Shipments) != 1 || o.Shipments[0].Warehouse.Code != "W1" ||
		o.Payments[0].Provider != "manual" || o.ShippingAddress.Country != "US" {
		t.Fatalf("the placed order %+v", o)
	}
	watch.until(func(c changeOut) bool { return c.InventoryChanged.Reserved == 2 && c.InventoryChanged.Available == 3 })

	var adjusted struct{ AdjustInventory gqlStock }
	s.data(s.SecretKey, adjustMutation, map[string]any{"input": map[string]any{"sku": "TEE-S", "warehouseCode": "W2", "delta": 4, "reason": "delivery"}}, &adjusted)
	if adjusted.AdjustInventory.OnHand != 9 || adjusted.AdjustInventory.Available != 7 {
		t.Fatalf("adjustInventory %+v", adjusted)
	}
	if ev := watch.until(func(c changeOut) bool { return c.InventoryChanged.Available != 3 }); ev.InventoryChanged.OnHand != 9 ||
		ev.InventoryChanged.Available != 7 {
		t.Fatalf("event after adjusting: %+v", ev)
	}
	// Had the other merchant's subscription seen this merchant's changes, they would
	// arrive before its own.
	other.setStock("TEE-M", "W1", 3)
	otherWatch.next(&ev)
	if ev.InventoryChanged.SKU != "TEE-M" || ev.InventoryChanged.Available != 3 {
		t.Fatalf("the other merchant's first event: %+v", ev)
	}

	var stock struct{ Inventory gqlStock }
	s.data(s.PublishableKey, `query { inventory(sku: "TEE-S") { sku onHand reserved available levels { warehouseCode onHand reserved available } } }`, nil, &stock)
	rest := s.stock("TEE-S")
	same := stock.Inventory.SKU == rest.SKU && stock.Inventory.OnHand == rest.OnHand && stock.Inventory.Reserved == rest.Reserved &&
		stock.Inventory.Available == rest.Available && len(stock.Inventory.Levels) == len(rest.Levels)
	for i := 0; same && i < len(rest.Levels); i++ {
		l := stock.Inventory.Levels[i]
		same = inventory.WarehouseLevel{WarehouseCode: l.WarehouseCode, OnHand: l.OnHand, Reserved: l.Reserved, Available: l.Available} == rest.Levels[i]
	}
	if !same {
		t.Fatalf("GraphQL inventory %+v, REST %+v", stock.Inventory, rest)
	}

	var moved struct{ TransferInventory gqlStock }
	s.data(s.SecretKey, `mutation { transferInventory(input: {sku: "TEE-S", fromWarehouseCode: "W2", toWarehouseCode: "W1", quantity: 1}) {
		levels { warehouseCode onHand } } }`, nil, &moved)
	if moved.TransferInventory.Levels[0].OnHand != 6 {
		t.Fatalf("transferInventory %+v", moved)
	}

	id := map[string]any{"id": o.ID}
	shipment := map[string]any{"id": o.Shipments[0].ID}
	type state struct {
		Status            string `json:"status"`
		FinancialStatus   string `json:"financialStatus"`
		FulfillmentStatus string `json:"fulfillmentStatus"`
	}
	var paid struct{ MarkOrderPaid state }
	s.data(s.SecretKey, `mutation($id: ID!) { markOrderPaid(id: $id) { status financialStatus fulfillmentStatus } }`, id, &paid)
	if paid.MarkOrderPaid.FinancialStatus != "paid" {
		t.Fatalf("markOrderPaid %+v", paid)
	}
	s.expectCode(s.SecretKey, `mutation($id: ID!) { markOrderPaid(id: $id) { id } }`, id, "invalid_state_transition")
	var shipped struct{ ShipShipment state }
	s.data(s.SecretKey, `mutation($id: ID!) { shipShipment(id: $id, input: {carrier: "UPS", trackingNumber: "1Z"}) {
		status financialStatus fulfillmentStatus } }`, shipment, &shipped)
	if shipped.ShipShipment.FulfillmentStatus != "fulfilled" {
		t.Fatalf("shipShipment %+v", shipped)
	}
	var delivered struct{ DeliverShipment state }
	s.data(s.SecretKey, `mutation($id: ID!) { deliverShipment(id: $id) { status financialStatus fulfillmentStatus } }`, shipment, &delivered)
	if delivered.DeliverShipment.Status != "closed" {
		t.Fatalf("deliverShipment %+v", delivered)
	}
	var refunded struct{ RefundOrder state }
	s.data(s.SecretKey, `mutation($id: ID!) { refundOrder(id: $id, amount: 500, reason: "scuffed") { status financialStatus fulfillmentStatus } }`, id, &refunded)
	if refunded.RefundOrder.FinancialStatus != "partially_refunded" {
		t.Fatalf("refundOrder %+v", refunded)
	}
	s.expectCode(s.SecretKey, `mutation($id: ID!) { cancelOrder(id: $id, reason: "late") { id } }`, id, "invalid_state_transition")

	t.Run("errors carry the REST codes", func(t *testing.T) {
		r := s.expectCode(s.PublishableKey, placeOrderMutation, placeOrderInput("TEE-S", 100), "insufficient_inventory")
		if e := r.Errors[0].Extensions.Errors; len(e) != 1 || e[0].Field != "TEE-S" {
			t.Fatalf("short SKUs %+v", e)
		}
		s.expectCode(s.PublishableKey, placeOrderMutation, placeOrderInput("TEE-S", 0), "invalid")
		s.expectCode(s.PublishableKey, adjustMutation,
			map[string]any{"input": map[string]any{"sku": "TEE-S", "warehouseCode": "W1", "delta": 1, "reason": "x"}}, "forbidden")
		s.expectCode(s.PublishableKey, `mutation($id: ID!) { cancelOrder(id: $id) { id } }`, id, "forbidden")
		s.expectCode(s.SecretKey, adjustMutation,
			map[string]any{"input": map[string]any{"sku": "TEE-S", "warehouseCode": "W1", "delta": -100, "reason": "x"}}, "conflict")
		s.expectCode(s.SecretKey, `query { inventory(sku: "NOPE") { sku } }`, nil, "not_found")
		other.expectCode(other.SecretKey, `mutation($id: ID!) { cancelOrder(id: $id) { id } }`, id, "not_found")
		other.expectCode(other.SecretKey, `mutation($id: ID!) { deliverShipment(id: $id) { id } }`, shipment, "not_found")
	})
	s.checkLedger("TEE-S")
	if r := s.h.do(request{method: "GET", path: "/api/v1/inventory/TEE-S", key: s.PublishableKey}); r.status != http.StatusOK {
		t.Fatalf("REST after GraphQL: %d", r.status)
	}
}
