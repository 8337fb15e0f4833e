package inventory

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/inventorylevel"
	"github.com/mercantile/mercantile/ent/inventorymovement"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/pulid"
)

// ImportLevel is one stock figure an import sets: on_hand of a variant in a warehouse.
type ImportLevel struct {
	VariantID   pulid.ID
	ProductID   pulid.ID
	WarehouseID pulid.ID
	SKU         string
	OnHand      int64
}

// ImportResult says what SetImported did with one ImportLevel.
type ImportResult int

// The outcomes of SetImported.
const (
	// ImportUnchanged: on_hand already had that figure.
	ImportUnchanged ImportResult = iota
	// ImportChanged: on_hand was set and the change written to the ledger.
	ImportChanged
	// ImportBelowReserved: the figure is below the stock reserved for open orders; the
	// level was left alone.
	ImportBelowReserved
)

// SetImported makes on_hand of each level exactly its OnHand, with tx inside the
// transaction in ctx (ctx must carry it: the levels are locked until it ends), creating
// missing levels and writing one ledger movement with reason import per change, in a
// few set-based statements (applyBulk). It refuses no
// level by failing: a figure below reserved stock is reported and skipped, so one bad
// line does not undo a batch. results[i] is what happened to levels[i].
// Errors: invalid (a figure out of range), forbidden, internal.
func (s *Service) SetImported(ctx context.Context, tx *ent.Client, levels []ImportLevel, note string) ([]ImportResult, error) {
	if err := mayWrite(ctx); err != nil {
		return nil, err
	}
	for _, l := range levels {
		var v apperr.Validation
		if checkQuantity(&v, "on_hand", l.OnHand, true); v.Err() != nil {
			return nil, v.Err()
		}
	}
	results := make([]ImportResult, len(levels))
	if len(levels) == 0 {
		return results, nil
	}
	const chunk = 500
	v, err := viewerOf(ctx)
	if err != nil {
		return nil, err
	}
	type pair struct{ variant, warehouse pulid.ID }
	// Missing levels are inserted with their figure: one statement per chunk, where
	// setting them after an empty insert would take two. What the insert skipped exists
	// and is set below.
	last := map[pair]int{}
	for i, l := range levels {
		last[pair{l.VariantID, l.WarehouseID}] = i
	}
	created := map[pair]bool{}
	var fresh []op
	now := s.now()
	for part := range slices.Chunk(levels, chunk) {
		var sb strings.Builder
		args := make([]any, 0, 8*len(part))
		for _, l := range part {
			if levels[last[pair{l.VariantID, l.WarehouseID}]] != l {
				continue
			}
			if len(args) > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?, ?, 0)")
			args = append(args, pulid.New("lvl").String(), v.MerchantID.String(), now, now, l.VariantID.String(), l.WarehouseID.String(), l.OnHand)
		}
		if len(args) == 0 {
			continue
		}
		rows, err := tx.QueryContext(ctx, s.rebind(`INSERT INTO inventory_levels
(id, merchant_id, created_at, updated_at, variant_id, warehouse_id, on_hand, reserved) VALUES `+sb.String()+`
ON CONFLICT (merchant_id, variant_id, warehouse_id) DO NOTHING RETURNING id, variant_id, warehouse_id`), args...)
		if err != nil {
			return nil, apperr.Wrap(err, apperr.Internal, "Creating stock levels failed.")
		}
		for rows.Next() {
			var id, variantID, warehouseID string
			if err = rows.Scan(&id, &variantID, &warehouseID); err != nil {
				break
			}
			k := pair{pulid.ID(variantID), pulid.ID(warehouseID)}
			created[k] = true
			if l := levels[last[k]]; l.OnHand != 0 {
				fresh = append(fresh, op{levelID: pulid.ID(id), variantID: l.VariantID, warehouseID: l.WarehouseID,
					productID: l.ProductID, sku: l.SKU, onHandDelta: l.OnHand, reason: inventorymovement.ReasonImport, note: note})
			}
		}
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, apperr.Wrap(err, apperr.Internal, "Creating stock levels failed.")
		}
	}
	for i, l := range levels {
		if created[pair{l.VariantID, l.WarehouseID}] && l.OnHand != 0 {
			results[i] = ImportChanged
		}
	}
	for part := range slices.Chunk(fresh, chunk) {
		after := make(map[string][2]int64, len(part))
		for _, o := range part {
			after[o.levelID.String()] = [2]int64{o.onHandDelta, 0}
		}
		if err := s.ledger(ctx, tx, v, part, after, now); err != nil {
			return nil, err
		}
	}
	current := make(map[pair]*ent.InventoryLevel, len(levels))
	var existing []ImportLevel
	for _, l := range levels {
		if !created[pair{l.VariantID, l.WarehouseID}] {
			existing = append(existing, l)
		}
	}
	for part := range slices.Chunk(existing, chunk) {
		variants := make([]pulid.ID, len(part))
		for i, l := range part {
			variants[i] = l.VariantID
		}
		// No ORDER BY: on a table an import is filling, stale statistics make PostgreSQL
		// sort by scanning the primary key. The rows lock in the unique index's order.
		q := tx.InventoryLevel.Query().Where(inventorylevel.VariantIDIn(variants...))
		if s.dialect == "postgres" {
			q.ForUpdate()
		}
		found, err := q.All(ctx)
		if err != nil {
			return nil, apperr.From(err)
		}
		for _, lvl := range found {
			current[pair{lvl.VariantID, lvl.WarehouseID}] = lvl
		}
	}
	var ops []op
	for i, l := range levels {
		if created[pair{l.VariantID, l.WarehouseID}] {
			continue
		}
		lvl := current[pair{l.VariantID, l.WarehouseID}]
		if lvl == nil {
			return nil, apperr.New(apperr.Internal, "A stock level of %s is missing.", l.SKU)
		}
		switch {
		case l.OnHand < lvl.Reserved:
			results[i] = ImportBelowReserved
		case l.OnHand != lvl.OnHand:
			results[i] = ImportChanged
			ops = append(ops, op{levelID: lvl.ID, variantID: l.VariantID, warehouseID: l.WarehouseID,
				productID: l.ProductID, sku: l.SKU, onHandDelta: l.OnHand - lvl.OnHand,
				reason: inventorymovement.ReasonImport, note: note})
			// Later entries for the same level see this one's figure.
			lvl.OnHand = l.OnHand
		}
	}
	for part := range slices.Chunk(ops, chunk) {
		if err := s.applyBulk(ctx, tx, part); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// applyBulk is apply for many levels at once, as imports need: one UPDATE and one
// ledger insert per call instead of a statement per level, with the same conditions.
// The levels are locked by the caller and each appears once. Caches are retired and
// products invalidated after commit; live change events are published (one query per
// SKU) only for small batches, so a large import does not flood subscribers.
func (s *Service) applyBulk(ctx context.Context, tx *ent.Client, ops []op) error {
	v, err := viewerOf(ctx)
	if err != nil {
		return err
	}
	// A level set twice in one batch: one combined change.
	merged := make([]op, 0, len(ops))
	index := map[pulid.ID]int{}
	for _, o := range ops {
		if i, ok := index[o.levelID]; ok {
			merged[i].onHandDelta += o.onHandDelta
			continue
		}
		index[o.levelID] = len(merged)
		merged = append(merged, o)
	}
	now := s.now()
	var values strings.Builder
	args := make([]any, 0, 2*len(merged)+4)
	for i, o := range merged {
		if i > 0 {
			values.WriteString(", ")
		}
		values.WriteString("(CAST(? AS TEXT), CAST(? AS BIGINT))")
		args = append(args, o.levelID.String(), o.onHandDelta)
	}
	args = append(args, now, v.MerchantID.String())
	query := `WITH v(id, delta) AS (VALUES ` + values.String() + `)
UPDATE inventory_levels
SET on_hand = inventory_levels.on_hand + v.delta, updated_at = ?
FROM v WHERE inventory_levels.id = v.id AND inventory_levels.merchant_id = ?
RETURNING inventory_levels.id, inventory_levels.on_hand, inventory_levels.reserved`
	rows, err := tx.QueryContext(ctx, s.rebind(query), args...)
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "Updating stock failed.")
	}
	after := map[string][2]int64{}
	for rows.Next() {
		var id string
		var onHand, reserved int64
		if err = rows.Scan(&id, &onHand, &reserved); err != nil {
			break
		}
		after[id] = [2]int64{onHand, reserved}
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "Updating stock failed.")
	}
	return s.ledger(ctx, tx, v, merged, after, now)
}

// ledger writes the movements of ops whose levels now stand at after (level id to
// on_hand and reserved), tells the change hook, and after commit retires caches and
// invalidates products; live change events are published only for small batches.
func (s *Service) ledger(ctx context.Context, tx *ent.Client, v viewer.Viewer, ops []op, after map[string][2]int64, now time.Time) error {
	movements := make([]*ent.InventoryMovementCreate, 0, len(ops))
	levels := make([]LevelChange, 0, len(ops))
	changed := map[string]bool{}
	var products []pulid.ID
	for _, o := range ops {
		got, ok := after[o.levelID.String()]
		if !ok {
			return apperr.New(apperr.Internal, "The stock level of %s was not updated.", o.sku)
		}
		movements = append(movements, tx.InventoryMovement.Create().
			SetVariantID(o.variantID).SetWarehouseID(o.warehouseID).
			SetSku(o.sku).SetOnHandDelta(o.onHandDelta).
			SetOnHandAfter(got[0]).SetReservedAfter(got[1]).SetReason(o.reason).SetNote(o.note).
			SetActor(v.Actor()).SetCreatedAt(now))
		levels = append(levels, LevelChange{MerchantID: v.MerchantID, VariantID: o.variantID, WarehouseID: o.warehouseID,
			SKU: o.sku, OnHand: got[0], Reserved: got[1], Reason: o.reason})
		if !changed[o.sku] {
			changed[o.sku] = true
			products = append(products, o.productID)
		}
	}
	for part := range slices.Chunk(movements, 500) {
		if err := tx.InventoryMovement.CreateBulk(part...).Exec(ctx); err != nil {
			return apperr.From(err)
		}
	}
	if s.hook != nil && !synced(ctx) {
		if err := s.hook.StockChanged(ctx, tx, levels); err != nil {
			return err
		}
	}
	database.AfterCommit(ctx, func() {
		ctx := context.WithoutCancel(ctx)
		if len(changed) <= maxAnnouncedImports {
			s.announce(ctx, v.MerchantID, changed, products)
			return
		}
		keys := make([]string, 0, len(changed))
		for sku := range changed {
			keys = append(keys, stockGenKey(v.MerchantID, sku))
		}
		_ = s.cache.Retire(ctx, keys...)
		if s.catalog != nil {
			s.catalog.InvalidateProducts(viewer.MerchantSystemContext(ctx, v.MerchantID), products...)
		}
	})
	return nil
}

// maxAnnouncedImports is the most SKUs an import batch publishes live change events for.
const maxAnnouncedImports = 50
