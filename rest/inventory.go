package rest

import (
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/postal"
	"github.com/mercantile/mercantile/internal/pulid"
)

// skuParam is the {sku} of the route, unescaped: a SKU may hold characters a client must
// escape in a path ("/", "%", "?"), and chi matches on the escaped path.
func skuParam(r *http.Request) string {
	raw := chi.URLParam(r, "sku")
	if sku, err := url.PathUnescape(raw); err == nil {
		return sku
	}
	return raw
}

// required names the members a request body must have; JSON's zero values cannot tell
// "absent" from 0 or "", and an absent on_hand must not mean "set stock to zero".
func required(fields map[string]bool) error {
	var v apperr.Validation
	for _, name := range sortedKeys(fields) {
		if !fields[name] {
			v.Add(name, "is required")
		}
	}
	return v.Err()
}

type warehouseJSON struct {
	ID        string          `json:"id"`
	Code      string          `json:"code"`
	Name      string          `json:"name"`
	Address   *postal.Address `json:"address"`
	Priority  int             `json:"priority"`
	Active    bool            `json:"active"`
	CreatedAt string          `json:"created_at"`
	UpdatedAt string          `json:"updated_at"`
}

func toWarehouseJSON(w *ent.Warehouse) warehouseJSON {
	out := warehouseJSON{ID: w.ID.String(), Code: w.Code, Name: w.Name, Priority: w.Priority, Active: w.Active,
		CreatedAt: timeJSON(w.CreatedAt), UpdatedAt: timeJSON(w.UpdatedAt)}
	if w.Address != (postal.Address{}) {
		out.Address = &w.Address
	}
	return out
}

func (a *api) createWarehouse(w http.ResponseWriter, r *http.Request) {
	var in inventory.WarehouseInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	wh, err := a.inventory.CreateWarehouse(r.Context(), in)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, toWarehouseJSON(wh))
}

func (a *api) listWarehouses(w http.ResponseWriter, r *http.Request) {
	page, err := pageFrom(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	rows, more, err := a.inventory.Warehouses(r.Context(), page)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(rows, more, func(w *ent.Warehouse) pulid.ID { return w.ID }, toWarehouseJSON))
}

func (a *api) patchWarehouse(w http.ResponseWriter, r *http.Request) {
	var in inventory.WarehouseInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	wh, err := a.inventory.UpdateWarehouse(r.Context(), idParam(r), in)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toWarehouseJSON(wh))
}

func (a *api) getInventory(w http.ResponseWriter, r *http.Request) {
	st, err := a.inventory.StockJSON(r.Context(), skuParam(r))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeRawJSON(w, http.StatusOK, st)
}

type setInventoryRequest struct {
	SKU           string `json:"sku"`
	WarehouseCode string `json:"warehouse_code"`
	OnHand        *int64 `json:"on_hand"`
	Reason        string `json:"reason"`
}

func (a *api) setInventory(w http.ResponseWriter, r *http.Request) {
	var req setInventoryRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if err := required(map[string]bool{"sku": req.SKU != "", "warehouse_code": req.WarehouseCode != "", "on_hand": req.OnHand != nil}); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	st, err := a.inventory.Set(r.Context(), req.SKU, req.WarehouseCode, *req.OnHand, req.Reason)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

type adjustInventoryRequest struct {
	SKU           string `json:"sku"`
	WarehouseCode string `json:"warehouse_code"`
	Delta         int64  `json:"delta"`
	Reason        string `json:"reason"`
}

func (a *api) adjustInventory(w http.ResponseWriter, r *http.Request) {
	var req adjustInventoryRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if err := required(map[string]bool{"sku": req.SKU != "", "warehouse_code": req.WarehouseCode != ""}); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	st, err := a.inventory.Adjust(r.Context(), req.SKU, req.WarehouseCode, req.Delta, req.Reason)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

type transferInventoryRequest struct {
	SKU               string `json:"sku"`
	FromWarehouseCode string `json:"from_warehouse_code"`
	ToWarehouseCode   string `json:"to_warehouse_code"`
	Quantity          int64  `json:"quantity"`
	Reason            string `json:"reason"`
}

func (a *api) transferInventory(w http.ResponseWriter, r *http.Request) {
	var req transferInventoryRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if err := required(map[string]bool{"sku": req.SKU != "", "from_warehouse_code": req.FromWarehouseCode != "",
		"to_warehouse_code": req.ToWarehouseCode != ""}); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	st, err := a.inventory.Transfer(r.Context(), req.SKU, req.FromWarehouseCode, req.ToWarehouseCode, req.Quantity, req.Reason)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

type movementJSON struct {
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
	CreatedAt     string  `json:"created_at"`
}

func toMovementJSON(m *ent.InventoryMovement) movementJSON {
	out := movementJSON{ID: m.ID.String(), SKU: m.Sku, WarehouseID: m.WarehouseID.String(),
		OnHandDelta: m.OnHandDelta, ReservedDelta: m.ReservedDelta, OnHandAfter: m.OnHandAfter, ReservedAfter: m.ReservedAfter,
		Reason: string(m.Reason), Note: m.Note, Actor: m.Actor, CreatedAt: timeJSON(m.CreatedAt)}
	if m.OrderID != nil {
		id := m.OrderID.String()
		out.OrderID = &id
	}
	return out
}

func (a *api) listMovements(w http.ResponseWriter, r *http.Request) {
	page, err := pageFrom(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	rows, more, err := a.inventory.Movements(r.Context(), skuParam(r), page)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(rows, more, func(m *ent.InventoryMovement) pulid.ID { return m.ID }, toMovementJSON))
}

// belowReserved is when stock changes answer 409.
const belowReserved = "on_hand would go below what open orders reserve (conflict)."

// unknownStock is when stock changes answer 404.
const unknownStock = "The merchant has no such SKU or warehouse code (not_found)."

// inventoryRoutes are the warehouses and stock endpoints. Storefronts may read a SKU's
// availability; everything else needs a secret key or a staff session.
func (a *api) inventoryRoutes() []route {
	return []route{
		{"POST", "/api/v1/warehouses", private, a.createWarehouse, operation{
			ID: "createWarehouse", Tag: "Inventory", Summary: "Add a warehouse; a code the merchant already has is a conflict. Lower priority ships first.",
			Request: "WarehouseCreate", Response: "Warehouse", Status: http.StatusCreated, Idempotent: true,
			Conflict: "Another warehouse has the code (conflict)."}},
		{"GET", "/api/v1/warehouses", private, a.listWarehouses, operation{
			ID: "listWarehouses", Tag: "Inventory", Summary: "The merchant's warehouses in creation order.", Response: "WarehouseList", Paged: true}},
		{"PATCH", "/api/v1/warehouses/{id}", private, a.patchWarehouse, operation{
			ID: "updateWarehouse", Tag: "Inventory", Summary: "Change a warehouse; absent fields stay. An inactive warehouse is not allocated new orders.",
			Request: "WarehouseUpdate", Response: "Warehouse", Conflict: "Another warehouse has the code (conflict)."}},
		{"GET", "/api/v1/inventory/{sku}", storefront, a.getInventory, operation{
			ID: "getInventory", Tag: "Inventory", Summary: "A SKU's stock in total and per warehouse, by priority (publishable keys allowed).", Response: "Inventory"}},
		{"POST", "/api/v1/inventory/set", private, a.setInventory, operation{
			ID: "setInventory", Tag: "Inventory", Summary: "Make a SKU's on_hand in a warehouse exactly this (a count); below what open orders reserve is a conflict.",
			Request: "InventorySet", Response: "Inventory", Idempotent: true, Conflict: belowReserved, NotFound: unknownStock}},
		{"POST", "/api/v1/inventory/adjust", private, a.adjustInventory, operation{
			ID: "adjustInventory", Tag: "Inventory", Summary: "Add delta (negative to remove) to a SKU's on_hand in a warehouse, saying why; below what open orders reserve is a conflict.",
			Request: "InventoryAdjust", Response: "Inventory", Idempotent: true, Conflict: belowReserved, NotFound: unknownStock}},
		{"POST", "/api/v1/inventory/transfer", private, a.transferInventory, operation{
			ID: "transferInventory", Tag: "Inventory", Summary: "Move available stock of a SKU from one warehouse to another in one step; more than is available at the source is a conflict.",
			Request: "InventoryTransfer", Response: "Inventory", Idempotent: true,
			Conflict: "The source warehouse has less available (conflict).", NotFound: unknownStock}},
		{"GET", "/api/v1/inventory/{sku}/movements", private, a.listMovements, operation{
			ID: "listInventoryMovements", Tag: "Inventory", Summary: "The ledger of a SKU, newest first: every change with its reason, order and actor.",
			Response: "MovementList", Paged: true}},
	}
}
