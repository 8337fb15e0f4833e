package inventory

import (
	"context"
	"strings"
	"time"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/inventorylevel"
	"github.com/mercantile/mercantile/ent/inventorymovement"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/paging"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/pulid"
)

func checkQuantity(v *apperr.Validation, field string, q int64, allowZero bool) {
	switch {
	case q < 0 || (!allowZero && q == 0):
		v.Add(field, "must be a positive whole number")
	case q > MaxQuantity:
		v.Add(field, "must be at most %d", MaxQuantity)
	}
}

func belowReserved(sku, code string) func() error {
	return func() error {
		return apperr.New(apperr.Conflict, "On hand for %s in %s cannot go below what is reserved for open orders.", sku, code).
			WithField("on_hand", "below reserved")
	}
}

// Set makes on_hand of a SKU in a warehouse exactly onHand.
// Errors: invalid, not_found (SKU, warehouse), conflict (below reserved), forbidden.
func (s *Service) Set(ctx context.Context, sku, warehouseCode string, onHand int64, note string) (Stock, error) {
	if err := mayWrite(ctx); err != nil {
		return Stock{}, err
	}
	var v apperr.Validation
	checkQuantity(&v, "on_hand", onHand, true)
	if err := v.Err(); err != nil {
		return Stock{}, err
	}
	return s.change(ctx, sku, warehouseCode, func(t target) op {
		return op{onHandDelta: onHand - t.level.OnHand, reason: inventorymovement.ReasonSet, note: note,
			refused: belowReserved(sku, warehouseCode)}
	}, true)
}

// SyncAvailable makes available (on_hand - reserved) of a variant in a warehouse exactly
// available, because the external system of record said so: the ledger reason is
// shopify_sync and the ChangeHook is not told (SyncedContext). An equal figure changes
// nothing, which is what makes the echo of our own push a no-op. asOf, when set, is when
// the system of record's figure was current: one not newer than the last applied is
// stale (deliveries arrive out of order) and changes nothing. It reports whether stock
// changed.
// Errors: invalid, not_found, conflict (below reserved), forbidden.
func (s *Service) SyncAvailable(ctx context.Context, variantID, warehouseID pulid.ID, available int64, asOf *time.Time, note string) (bool, error) {
	if err := mayWrite(ctx); err != nil {
		return false, err
	}
	var v apperr.Validation
	checkQuantity(&v, "available", available, true)
	if err := v.Err(); err != nil {
		return false, err
	}
	changed := false
	err := database.InTx(SyncedContext(ctx), s.client, func(ctx context.Context, tx *ent.Client) error {
		vr, err := tx.Variant.Get(ctx, variantID)
		if err != nil {
			return apperr.Translate(err)
		}
		lvl, err := s.ensureLevel(ctx, tx, variantID, warehouseID)
		if err != nil {
			return err
		}
		if lvl, err = s.lockLevel(ctx, tx, lvl.ID); err != nil {
			return err
		}
		if asOf != nil {
			if lvl.ShopifyUpdatedAt != nil && !asOf.After(*lvl.ShopifyUpdatedAt) {
				return nil
			}
			if err := tx.InventoryLevel.UpdateOneID(lvl.ID).SetShopifyUpdatedAt(*asOf).Exec(ctx); err != nil {
				return apperr.From(err)
			}
		}
		delta := available + lvl.Reserved - lvl.OnHand
		if delta == 0 {
			return nil
		}
		changed = true
		return s.apply(ctx, tx, []op{{levelID: lvl.ID, variantID: variantID, warehouseID: warehouseID, productID: vr.ProductID,
			sku: vr.Sku, onHandDelta: delta, reason: inventorymovement.ReasonShopifySync, note: note,
			refused: func() error {
				return apperr.New(apperr.Conflict, "On hand for %s cannot go below what is reserved for open orders.", vr.Sku)
			}}})
	})
	return changed, err
}

// Adjust adds delta (negative to remove) to on_hand of a SKU in a warehouse.
// Errors: invalid, not_found, conflict (would go below reserved), forbidden.
func (s *Service) Adjust(ctx context.Context, sku, warehouseCode string, delta int64, note string) (Stock, error) {
	if err := mayWrite(ctx); err != nil {
		return Stock{}, err
	}
	var v apperr.Validation
	if delta == 0 || delta > MaxQuantity || delta < -MaxQuantity {
		v.Add("delta", "must be a non-zero whole number of at most %d either way", MaxQuantity)
	}
	if strings.TrimSpace(note) == "" {
		v.Add("reason", "is required: say why stock changed")
	}
	if err := v.Err(); err != nil {
		return Stock{}, err
	}
	return s.change(ctx, sku, warehouseCode, func(target) op {
		return op{onHandDelta: delta, reason: inventorymovement.ReasonAdjust, note: note, refused: belowReserved(sku, warehouseCode)}
	}, false)
}

// change applies one operation to one level. lock reads the level under a row lock first
// (Set needs the current figure to compute its delta).
func (s *Service) change(ctx context.Context, sku, warehouseCode string, build func(target) op, lock bool) (Stock, error) {
	v, err := viewerOf(ctx)
	if err != nil {
		return Stock{}, err
	}
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Client) error {
		t, err := s.resolve(ctx, tx, sku, warehouseCode)
		if err != nil {
			return err
		}
		if lock {
			if t.level, err = s.lockLevel(ctx, tx, t.level.ID); err != nil {
				return err
			}
		}
		o := build(t)
		if o.onHandDelta == 0 && o.reservedDelta == 0 {
			return nil
		}
		o.levelID, o.variantID, o.warehouseID, o.productID, o.sku = t.level.ID, t.variant.ID, t.warehouse.ID, t.variant.ProductID, t.variant.Sku
		return s.apply(ctx, tx, []op{o})
	})
	if err != nil {
		return Stock{}, err
	}
	return s.readStock(ctx, s.client, v.MerchantID, sku)
}

// lockLevel re-reads a level, locked until the transaction ends on PostgreSQL (SQLite's
// transactions already hold the database's write lock).
func (s *Service) lockLevel(ctx context.Context, tx *ent.Client, id pulid.ID) (*ent.InventoryLevel, error) {
	q := tx.InventoryLevel.Query().Where(inventorylevel.ID(id))
	if s.dialect == "postgres" {
		q.ForUpdate()
	}
	lvl, err := q.Only(ctx)
	return lvl, apperr.Translate(err)
}

// Transfer moves quantity of a SKU's available stock from one warehouse to another.
// Errors: invalid, not_found, conflict (not enough available at the source), forbidden.
func (s *Service) Transfer(ctx context.Context, sku, fromCode, toCode string, quantity int64, note string) (Stock, error) {
	if err := mayWrite(ctx); err != nil {
		return Stock{}, err
	}
	v, _ := viewerOf(ctx)
	var val apperr.Validation
	checkQuantity(&val, "quantity", quantity, false)
	if fromCode == toCode {
		val.Add("to_warehouse_code", "must differ from from_warehouse_code")
	}
	if err := val.Err(); err != nil {
		return Stock{}, err
	}
	err := database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Client) error {
		from, err := s.resolve(ctx, tx, sku, fromCode)
		if err != nil {
			return err
		}
		to, err := s.resolve(ctx, tx, sku, toCode)
		if err != nil {
			return err
		}
		return s.apply(ctx, tx, []op{
			{levelID: from.level.ID, variantID: from.variant.ID, warehouseID: from.warehouse.ID, productID: from.variant.ProductID, sku: sku,
				onHandDelta: -quantity, reason: inventorymovement.ReasonTransferOut, note: note,
				refused: func() error {
					return apperr.New(apperr.Conflict, "%s has fewer than %d units of %s available.", fromCode, quantity, sku).
						WithField("quantity", "more than available")
				}},
			{levelID: to.level.ID, variantID: to.variant.ID, warehouseID: to.warehouse.ID, productID: to.variant.ProductID, sku: sku,
				onHandDelta: quantity, reason: inventorymovement.ReasonTransferIn, note: note,
				refused: func() error { return apperr.New(apperr.Conflict, "The destination level cannot take the stock.") }},
		})
	})
	if err != nil {
		return Stock{}, err
	}
	return s.readStock(ctx, s.client, v.MerchantID, sku)
}

// Movements lists the ledger of a SKU, newest first.
// Errors: not_found (SKU), invalid (page).
func (s *Service) Movements(ctx context.Context, sku string, p paging.Page) ([]*ent.InventoryMovement, bool, error) {
	variantID, err := s.client.Variant.Query().Where(variant.Sku(sku)).OnlyID(ctx)
	if ent.IsNotFound(err) {
		return nil, false, apperr.New(apperr.NotFound, "No variant has SKU %q.", sku)
	}
	if err != nil {
		return nil, false, apperr.From(err)
	}
	q := s.client.InventoryMovement.Query().Where(inventorymovement.VariantID(variantID)).
		Order(ent.Desc(inventorymovement.FieldID)).Limit(p.Limit + 1)
	if p.After != "" {
		q.Where(inventorymovement.IDLT(p.After))
	}
	rows, err := q.All(ctx)
	if err != nil {
		return nil, false, apperr.From(err)
	}
	rows, more := paging.Trim(rows, p)
	return rows, more, nil
}

// Allocation is a quantity of a variant in a warehouse, for an order.
type Allocation struct {
	VariantID   pulid.ID
	ProductID   pulid.ID
	WarehouseID pulid.ID
	SKU         string
	Quantity    int64
}

// insufficient is the refusal of a reservation: the SKU is short.
func insufficient(sku string) func() error {
	return func() error {
		return apperr.New(apperr.InsufficientInventory, "Not enough stock of %s.", sku).WithField(sku, "not enough stock")
	}
}

// Reserve holds stock for an order, all allocations or none, in the caller's transaction.
// Errors: insufficient_inventory (naming the first short SKU).
func (s *Service) Reserve(ctx context.Context, orderID pulid.ID, allocs []Allocation) error {
	return s.forOrder(ctx, orderID, allocs, inventorymovement.ReasonReserve, func(a Allocation) (int64, int64) { return 0, a.Quantity }, insufficient)
}

// Release gives an order's reserved stock back to available.
func (s *Service) Release(ctx context.Context, orderID pulid.ID, allocs []Allocation) error {
	return s.forOrder(ctx, orderID, allocs, inventorymovement.ReasonRelease, func(a Allocation) (int64, int64) { return 0, -a.Quantity }, reservationMissing)
}

// Commit ships reserved stock: it leaves on_hand and reserved both.
func (s *Service) Commit(ctx context.Context, orderID pulid.ID, allocs []Allocation) error {
	return s.forOrder(ctx, orderID, allocs, inventorymovement.ReasonCommit, func(a Allocation) (int64, int64) { return -a.Quantity, -a.Quantity }, reservationMissing)
}

func reservationMissing(sku string) func() error {
	return func() error {
		return apperr.New(apperr.Conflict, "The reservation of %s is not there to release or ship.", sku)
	}
}

func (s *Service) forOrder(ctx context.Context, orderID pulid.ID, allocs []Allocation, reason inventorymovement.Reason,
	deltas func(Allocation) (onHand, reserved int64), refused func(sku string) func() error) error {
	return database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Client) error {
		levelIDs, err := levelsOf(ctx, tx, allocs)
		if err != nil {
			return err
		}
		ops := make([]op, 0, len(allocs))
		for _, a := range allocs {
			levelID, ok := levelIDs[levelKey{a.VariantID, a.WarehouseID}]
			if !ok {
				// No level means nothing to reserve, release or ship.
				return refused(a.SKU)()
			}
			onHand, reserved := deltas(a)
			id := orderID
			ops = append(ops, op{levelID: levelID, variantID: a.VariantID, warehouseID: a.WarehouseID, productID: a.ProductID,
				sku: a.SKU, onHandDelta: onHand, reservedDelta: reserved, reason: reason, orderID: &id, refused: refused(a.SKU)})
		}
		return s.apply(ctx, tx, ops)
	})
}

type levelKey struct{ variantID, warehouseID pulid.ID }

// levelsOf finds the levels of the allocations' (variant, warehouse) pairs in one query.
// An order's operations only ever touch levels its placement found, so unlike the
// stock-setting operations they never create one.
func levelsOf(ctx context.Context, tx *ent.Client, allocs []Allocation) (map[levelKey]pulid.ID, error) {
	variantIDs := make([]pulid.ID, 0, len(allocs))
	for _, a := range allocs {
		variantIDs = append(variantIDs, a.VariantID)
	}
	levels, err := tx.InventoryLevel.Query().Where(inventorylevel.VariantIDIn(variantIDs...)).
		Select(inventorylevel.FieldID, inventorylevel.FieldVariantID, inventorylevel.FieldWarehouseID).All(ctx)
	if err != nil {
		return nil, apperr.From(err)
	}
	ids := make(map[levelKey]pulid.ID, len(levels))
	for _, l := range levels {
		ids[levelKey{l.VariantID, l.WarehouseID}] = l.ID
	}
	return ids, nil
}
