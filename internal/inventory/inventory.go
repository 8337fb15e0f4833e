// Package inventory is the transactional inventory service: stock levels per variant and
// warehouse, reservations for orders, and the ledger of every change. Each operation is
// one conditional UPDATE per level, applied in level-id order so concurrent transactions
// cannot deadlock, and each writes a ledger movement. The database CHECKs on
// inventory_levels are the last line of defence, never the mechanism. It must not decide
// which warehouse ships what: orders allocates, then calls Reserve.
package inventory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/inventorylevel"
	"github.com/mercantile/mercantile/ent/inventorymovement"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/ent/warehouse"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/events"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/pulid"
)

// MaxQuantity bounds any single quantity or stock figure: larger is a typo, not stock.
const MaxQuantity = 1_000_000_000

// Change is what one committed operation did to a SKU, as subscribers see it.
type Change struct {
	MerchantID pulid.ID `json:"merchant_id"`
	SKU        string   `json:"sku"`
	OnHand     int64    `json:"on_hand"`
	Reserved   int64    `json:"reserved"`
	Available  int64    `json:"available"`
}

// ProductInvalidator retires cached product pages whose availability changed.
type ProductInvalidator interface {
	InvalidateProducts(ctx context.Context, productIDs ...pulid.ID)
}

// Service manages stock.
type Service struct {
	client  *ent.Client
	dialect string
	cache   *kv.Generations
	catalog ProductInvalidator
	bus     events.Bus
	hook    ChangeHook
	now     func() time.Time
}

// LevelChange is one level an operation changed, as it stands inside its transaction.
type LevelChange struct {
	MerchantID  pulid.ID
	VariantID   pulid.ID
	WarehouseID pulid.ID
	SKU         string
	OnHand      int64
	Reserved    int64
	Reason      inventorymovement.Reason
}

// ChangeHook is told, inside the transaction of every stock operation, which levels it
// changed, so it can enqueue work (telling another system) that exists if and only if
// the change commits. An error rolls the operation back.
type ChangeHook interface {
	StockChanged(ctx context.Context, tx *ent.Client, changes []LevelChange) error
}

// UseChangeHook sets the hook stock operations report to; call it before serving.
func (s *Service) UseChangeHook(h ChangeHook) { s.hook = h }

type syncedKey struct{}

// SyncedContext marks the operations run with the returned context as coming from the
// system the ChangeHook reports to, so the hook is not told of them: a change that
// system made is not echoed back to it.
func SyncedContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, syncedKey{}, true)
}

func synced(ctx context.Context) bool {
	v, _ := ctx.Value(syncedKey{}).(bool)
	return v
}

// ChangesChannel is the event channel stock changes are published on.
const ChangesChannel = "inventory_changed"

// NewService returns an inventory service on db. cache keeps the hot GET by SKU; bus
// carries committed changes to subscribers in every process. catalog and bus may be nil.
func NewService(db *database.DB, cache kv.Store, catalog ProductInvalidator, bus events.Bus) *Service {
	return &Service{client: db.Client, dialect: db.Dialect, cache: kv.NewGenerations(cache, localStocks), catalog: catalog, bus: bus, now: time.Now}
}

// WarehouseLevel is a SKU's stock in one warehouse.
type WarehouseLevel struct {
	WarehouseCode string `json:"warehouse_code"`
	OnHand        int64  `json:"on_hand"`
	Reserved      int64  `json:"reserved"`
	Available     int64  `json:"available"`
}

// Stock is a SKU's stock across warehouses (the GET /api/v1/inventory/{sku} shape).
type Stock struct {
	SKU       string           `json:"sku"`
	OnHand    int64            `json:"on_hand"`
	Reserved  int64            `json:"reserved"`
	Available int64            `json:"available"`
	Levels    []WarehouseLevel `json:"levels"`
}

func viewerOf(ctx context.Context) (viewer.Viewer, error) {
	v, ok := viewer.FromContext(ctx)
	if !ok || v.MerchantID == "" {
		return viewer.Viewer{}, apperr.New(apperr.Unauthorized, "Credentials are required.")
	}
	return v, nil
}

// mayWrite refuses viewers that may only read before any validation runs.
// Errors: unauthorized, forbidden.
func mayWrite(ctx context.Context) error {
	v, err := viewerOf(ctx)
	if err != nil {
		return err
	}
	if !v.CanWrite() {
		return apperr.New(apperr.Forbidden, "These credentials may not change stock or warehouses.")
	}
	return nil
}

// stockGenKey holds the generation of a SKU's cached stock; a stock change retires it.
func stockGenKey(merchantID pulid.ID, sku string) string {
	return "mercantile:stock:gen:" + merchantID.String() + ":" + sku
}

const (
	// stockTTL bounds a cached entry's life; retiring its generation after every commit
	// keeps it right.
	stockTTL = 5 * time.Minute
	// localStocks bounds the stock entries a process keeps: a few hundred bytes each.
	localStocks = 16384
)

// stockQuery is the hot path: one indexed join from (merchant, sku) to the levels.
const stockQuery = `
SELECT v.sku, w.code, l.on_hand, l.reserved
FROM variants v
LEFT JOIN inventory_levels l ON l.merchant_id = v.merchant_id AND l.variant_id = v.id
LEFT JOIN warehouses w ON w.id = l.warehouse_id
WHERE v.merchant_id = ? AND v.sku = ?
ORDER BY w.priority, w.code`

// Stock returns a SKU's stock.
// Errors: not_found (no such SKU).
func (s *Service) Stock(ctx context.Context, sku string) (Stock, error) {
	raw, err := s.StockJSON(ctx, sku)
	if err != nil {
		return Stock{}, err
	}
	var st Stock
	err = json.Unmarshal(raw, &st)
	return st, err
}

// StockJSON returns a SKU's stock as the API shows it, from the cache when it is there.
// Errors: not_found (no such SKU).
func (s *Service) StockJSON(ctx context.Context, sku string) (json.RawMessage, error) {
	v, err := viewerOf(ctx)
	if err != nil {
		return nil, err
	}
	return s.cache.Fetch(ctx, stockGenKey(v.MerchantID, sku), "mercantile:stock:"+v.MerchantID.String()+":"+sku, stockTTL, func() ([]byte, error) {
		st, err := s.readStock(ctx, s.client, v.MerchantID, sku)
		if err != nil {
			return nil, err
		}
		return json.Marshal(st)
	})
}

func (s *Service) readStock(ctx context.Context, client *ent.Client, merchantID pulid.ID, sku string) (Stock, error) {
	rows, err := client.QueryContext(ctx, s.rebind(stockQuery), merchantID.String(), sku)
	if err != nil {
		return Stock{}, apperr.Wrap(err, apperr.Internal, "Reading stock failed.")
	}
	defer rows.Close()
	st := Stock{SKU: sku, Levels: []WarehouseLevel{}}
	found := false
	for rows.Next() {
		var (
			code             sql.NullString
			onHand, reserved sql.NullInt64
		)
		if err := rows.Scan(&st.SKU, &code, &onHand, &reserved); err != nil {
			return Stock{}, apperr.Wrap(err, apperr.Internal, "Reading stock failed.")
		}
		found = true
		if !code.Valid {
			continue
		}
		l := WarehouseLevel{WarehouseCode: code.String, OnHand: onHand.Int64, Reserved: reserved.Int64, Available: onHand.Int64 - reserved.Int64}
		st.Levels = append(st.Levels, l)
		st.OnHand += l.OnHand
		st.Reserved += l.Reserved
	}
	if err := rows.Err(); err != nil {
		return Stock{}, apperr.Wrap(err, apperr.Internal, "Reading stock failed.")
	}
	if !found {
		return Stock{}, apperr.New(apperr.NotFound, "No variant has SKU %q.", sku)
	}
	st.Available = st.OnHand - st.Reserved
	return st, nil
}

// rebind turns ? placeholders into PostgreSQL's $n.
func (s *Service) rebind(query string) string {
	if s.dialect != dialect.Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// op is one change to one level: deltas, why, and what a refusal means.
type op struct {
	levelID       pulid.ID
	variantID     pulid.ID
	warehouseID   pulid.ID
	productID     pulid.ID
	sku           string
	onHandDelta   int64
	reservedDelta int64
	reason        inventorymovement.Reason
	orderID       *pulid.ID
	note          string
	// refused is the error when the level cannot take the change.
	refused func() error
}

// applyLevel is the one statement every operation uses. Its conditions are the CHECK
// constraints applied to the new values, so a refused change touches no row instead of
// failing the transaction, and no read-then-write window exists.
const applyLevel = `
UPDATE inventory_levels
SET on_hand = on_hand + ?, reserved = reserved + ?, updated_at = ?
WHERE id = ? AND merchant_id = ?
  AND on_hand + ? >= 0 AND reserved + ? >= 0 AND reserved + ? <= on_hand + ?
RETURNING on_hand, reserved`

// apply runs ops in level-id order inside the transaction in ctx, writes their ledger
// entries, and after commit retires caches and publishes the changes.
func (s *Service) apply(ctx context.Context, tx *ent.Client, ops []op) error {
	v, err := viewerOf(ctx)
	if err != nil {
		return err
	}
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].levelID < ops[j].levelID })
	now := s.now()
	movements := make([]*ent.InventoryMovementCreate, 0, len(ops))
	changed := map[string]bool{}
	var products []pulid.ID
	levels := make([]LevelChange, 0, len(ops))
	for _, o := range ops {
		rows, err := tx.QueryContext(ctx, s.rebind(applyLevel),
			o.onHandDelta, o.reservedDelta, now, o.levelID.String(), v.MerchantID.String(),
			o.onHandDelta, o.reservedDelta, o.reservedDelta, o.onHandDelta)
		if err != nil {
			return apperr.Wrap(err, apperr.Internal, "Updating stock failed.")
		}
		var onHand, reserved int64
		ok := rows.Next()
		if ok {
			err = rows.Scan(&onHand, &reserved)
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
		if !ok {
			return o.refused()
		}
		movements = append(movements, tx.InventoryMovement.Create().
			SetVariantID(o.variantID).SetWarehouseID(o.warehouseID).SetNillableOrderID(o.orderID).
			SetSku(o.sku).SetOnHandDelta(o.onHandDelta).SetReservedDelta(o.reservedDelta).
			SetOnHandAfter(onHand).SetReservedAfter(reserved).SetReason(o.reason).SetNote(o.note).
			SetActor(v.Actor()).SetCreatedAt(now))
		levels = append(levels, LevelChange{MerchantID: v.MerchantID, VariantID: o.variantID, WarehouseID: o.warehouseID,
			SKU: o.sku, OnHand: onHand, Reserved: reserved, Reason: o.reason})
		if !changed[o.sku] {
			changed[o.sku] = true
			products = append(products, o.productID)
		}
	}
	if err := tx.InventoryMovement.CreateBulk(movements...).Exec(ctx); err != nil {
		return apperr.From(err)
	}
	if s.hook != nil && !synced(ctx) {
		if err := s.hook.StockChanged(ctx, tx, levels); err != nil {
			return err
		}
	}
	database.AfterCommit(ctx, func() { s.announce(context.WithoutCancel(ctx), v.MerchantID, changed, products) })
	return nil
}

// announce retires cached stock and product pages and publishes the new figures.
func (s *Service) announce(ctx context.Context, merchantID pulid.ID, skus map[string]bool, products []pulid.ID) {
	keys := make([]string, 0, len(skus))
	for sku := range skus {
		keys = append(keys, stockGenKey(merchantID, sku))
	}
	_ = s.cache.Retire(ctx, keys...)
	if s.catalog != nil {
		s.catalog.InvalidateProducts(viewer.MerchantSystemContext(ctx, merchantID), products...)
	}
	if s.bus == nil {
		return
	}
	for sku := range skus {
		st, err := s.readStock(viewer.MerchantSystemContext(ctx, merchantID), s.client, merchantID, sku)
		if err != nil {
			continue
		}
		payload, err := json.Marshal(Change{MerchantID: merchantID, SKU: sku, OnHand: st.OnHand, Reserved: st.Reserved, Available: st.Available})
		if err == nil {
			_ = s.bus.Publish(ctx, ChangesChannel, payload)
		}
	}
}

// Watch delivers the viewer's merchant's committed stock changes of sku ("" for every
// SKU) until ctx ends. The first value is the current stock, so a subscriber never
// starts from nothing.
// Errors: unauthorized, not_found (SKU), unavailable (no event bus).
func (s *Service) Watch(ctx context.Context, sku string) (<-chan Change, error) {
	v, err := viewerOf(ctx)
	if err != nil {
		return nil, err
	}
	if s.bus == nil {
		return nil, apperr.New(apperr.Unavailable, "Live stock updates are not available.")
	}
	raw, cancel := s.bus.Subscribe(ctx, ChangesChannel)
	out := make(chan Change, 1)
	if sku != "" {
		st, err := s.readStock(ctx, s.client, v.MerchantID, sku)
		if err != nil {
			cancel()
			return nil, err
		}
		out <- Change{MerchantID: v.MerchantID, SKU: sku, OnHand: st.OnHand, Reserved: st.Reserved, Available: st.Available}
	}
	go func() {
		defer close(out)
		defer cancel()
		for payload := range raw {
			var c Change
			if json.Unmarshal(payload, &c) != nil || c.MerchantID != v.MerchantID || (sku != "" && c.SKU != sku) {
				continue
			}
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// target is a resolved (variant, warehouse) pair with its level.
type target struct {
	level     *ent.InventoryLevel
	variant   *ent.Variant
	warehouse *ent.Warehouse
}

// resolve finds the SKU's variant and the warehouse by code and makes sure their level
// exists, inside tx.
// Errors: not_found (SKU or warehouse).
func (s *Service) resolve(ctx context.Context, tx *ent.Client, sku, warehouseCode string) (target, error) {
	vr, err := tx.Variant.Query().Where(variant.Sku(sku)).Only(ctx)
	if ent.IsNotFound(err) {
		return target{}, apperr.New(apperr.NotFound, "No variant has SKU %q.", sku).WithField("sku", "unknown SKU")
	}
	if err != nil {
		return target{}, apperr.From(err)
	}
	wh, err := tx.Warehouse.Query().Where(warehouse.Code(warehouseCode)).Only(ctx)
	if ent.IsNotFound(err) {
		return target{}, apperr.New(apperr.NotFound, "No warehouse has code %q.", warehouseCode).WithField("warehouse_code", "unknown warehouse")
	}
	if err != nil {
		return target{}, apperr.From(err)
	}
	lvl, err := s.ensureLevel(ctx, tx, vr.ID, wh.ID)
	if err != nil {
		return target{}, err
	}
	return target{level: lvl, variant: vr, warehouse: wh}, nil
}

// ensureLevel returns the level of (variant, warehouse), creating it empty when missing.
// The insert ignores a concurrent creator's row, then reads whichever row won.
func (s *Service) ensureLevel(ctx context.Context, tx *ent.Client, variantID, warehouseID pulid.ID) (*ent.InventoryLevel, error) {
	err := tx.InventoryLevel.Create().SetVariantID(variantID).SetWarehouseID(warehouseID).
		OnConflictColumns(inventorylevel.FieldMerchantID, inventorylevel.FieldVariantID, inventorylevel.FieldWarehouseID).
		DoNothing().Exec(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.From(err)
	}
	lvl, err := tx.InventoryLevel.Query().
		Where(inventorylevel.VariantID(variantID), inventorylevel.WarehouseID(warehouseID)).Only(ctx)
	return lvl, apperr.Translate(err)
}
