package inventory_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/inventorylevel"
	"github.com/mercantile/mercantile/ent/inventorymovement"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/events"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/paging"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/pulid"
)

type fixture struct {
	svc      *inventory.Service
	db       *database.DB
	ctx      context.Context
	merchant pulid.ID
	variants map[string]*ent.Variant
	houses   map[string]*ent.Warehouse
}

// newFixture makes a merchant with SKUs A and B and warehouses W1 (priority 1) and W2.
func newFixture(t *testing.T, db *database.DB) fixture {
	t.Helper()
	sys := viewer.SystemContext(context.Background())
	m := db.Client.Merchant.Create().SetName("Shop").SetHandle("shop").SaveX(sys)
	ctx := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: m.ID, ActorID: "key_t", Role: viewer.RoleOwner})
	f := fixture{svc: inventory.NewService(db, kv.NewMemory(), nil, nil), db: db, ctx: ctx, merchant: m.ID,
		variants: map[string]*ent.Variant{}, houses: map[string]*ent.Warehouse{}}
	p := db.Client.Product.Create().SetTitle("Thing").SetHandle("thing").SaveX(ctx)
	for _, sku := range []string{"A", "B"} {
		f.variants[sku] = db.Client.Variant.Create().SetProductID(p.ID).SetSku(sku).SetOption1(sku).SaveX(ctx)
	}
	for i, code := range []string{"W1", "W2"} {
		f.houses[code] = db.Client.Warehouse.Create().SetCode(code).SetName(code).SetPriority(i + 1).SaveX(ctx)
	}
	return f
}

var orderNumber int64 = 1000
var orderMu sync.Mutex

// order creates an order row for reservations to point at.
func (f fixture) order(t *testing.T) pulid.ID {
	t.Helper()
	orderMu.Lock()
	orderNumber++
	n := orderNumber
	orderMu.Unlock()
	return f.db.Client.Order.Create().SetNumber(n).SetEmail("x@example.com").SetCurrency("USD").SaveX(f.ctx).ID
}

func (f fixture) alloc(sku, code string, q int64) inventory.Allocation {
	v := f.variants[sku]
	return inventory.Allocation{VariantID: v.ID, ProductID: v.ProductID, WarehouseID: f.houses[code].ID, SKU: sku, Quantity: q}
}

// checkLedger proves every level equals the sum of its movements.
func (f fixture) checkLedger(t *testing.T) {
	t.Helper()
	levels := f.db.Client.InventoryLevel.Query().AllX(f.ctx)
	for _, l := range levels {
		moves := f.db.Client.InventoryMovement.Query().
			Where(inventorymovement.VariantID(l.VariantID), inventorymovement.WarehouseID(l.WarehouseID)).AllX(f.ctx)
		var onHand, reserved int64
		for _, m := range moves {
			onHand += m.OnHandDelta
			reserved += m.ReservedDelta
		}
		if onHand != l.OnHand || reserved != l.Reserved {
			t.Errorf("level %s: on_hand %d reserved %d, ledger says %d and %d", l.ID, l.OnHand, l.Reserved, onHand, reserved)
		}
		if l.OnHand < 0 || l.Reserved < 0 || l.Reserved > l.OnHand {
			t.Errorf("level %s broke an invariant: on_hand %d reserved %d", l.ID, l.OnHand, l.Reserved)
		}
	}
}

func dialects(t *testing.T, test func(t *testing.T, f fixture)) {
	for name, open := range map[string]func(testing.TB) *database.DB{"postgres": dbtest.Postgres, "sqlite": dbtest.SQLite} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, newFixture(t, open(t)))
		})
	}
}

func TestSetAdjustTransfer(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, f fixture) {
		st, err := f.svc.Set(f.ctx, "A", "W1", 10, "count")
		if err != nil || st.OnHand != 10 || st.Available != 10 || len(st.Levels) != 1 {
			t.Fatalf("Set = %+v, %v", st, err)
		}
		if st, err = f.svc.Adjust(f.ctx, "A", "W1", -3, "damaged"); err != nil || st.OnHand != 7 {
			t.Fatalf("Adjust = %+v, %v", st, err)
		}
		if st, err = f.svc.Transfer(f.ctx, "A", "W1", "W2", 5, "rebalance"); err != nil || st.OnHand != 7 || len(st.Levels) != 2 {
			t.Fatalf("Transfer = %+v, %v", st, err)
		}
		if st.Levels[0].WarehouseCode != "W1" || st.Levels[0].OnHand != 2 || st.Levels[1].OnHand != 5 {
			t.Fatalf("levels after transfer %+v", st.Levels)
		}
		if err := f.svc.Reserve(f.ctx, f.order(t), []inventory.Allocation{f.alloc("A", "W2", 4)}); err != nil {
			t.Fatal(err)
		}
		for name, call := range map[string]func() error{
			"adjust below reserved":   func() error { _, err := f.svc.Adjust(f.ctx, "A", "W2", -2, "x"); return err },
			"set below reserved":      func() error { _, err := f.svc.Set(f.ctx, "A", "W2", 3, ""); return err },
			"transfer reserved units": func() error { _, err := f.svc.Transfer(f.ctx, "A", "W2", "W1", 2, ""); return err },
		} {
			if err := call(); apperr.CodeOf(err) != apperr.Conflict {
				t.Errorf("%s: %v, want conflict", name, err)
			}
		}
		for name, call := range map[string]func() error{
			"unknown SKU":       func() error { _, err := f.svc.Set(f.ctx, "NOPE", "W1", 1, ""); return err },
			"unknown warehouse": func() error { _, err := f.svc.Set(f.ctx, "A", "W9", 1, ""); return err },
		} {
			if err := call(); apperr.CodeOf(err) != apperr.NotFound {
				t.Errorf("%s: %v, want not_found", name, err)
			}
		}
		for name, call := range map[string]func() error{
			"negative set":     func() error { _, err := f.svc.Set(f.ctx, "A", "W1", -1, ""); return err },
			"absurd set":       func() error { _, err := f.svc.Set(f.ctx, "A", "W1", 1e12, ""); return err },
			"zero adjust":      func() error { _, err := f.svc.Adjust(f.ctx, "A", "W1", 0, "x"); return err },
			"adjust no reason": func() error { _, err := f.svc.Adjust(f.ctx, "A", "W1", 1, " "); return err },
			"transfer to self": func() error { _, err := f.svc.Transfer(f.ctx, "A", "W1", "W1", 1, ""); return err },
			"transfer zero":    func() error { _, err := f.svc.Transfer(f.ctx, "A", "W1", "W2", 0, ""); return err },
		} {
			if err := call(); apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		moves, _, err := f.svc.Movements(f.ctx, "A", paging.Page{Limit: 50})
		if err != nil || len(moves) != 5 {
			t.Fatalf("movements = %d, %v; want set, adjust, transfer out and in, reserve", len(moves), err)
		}
		f.checkLedger(t)
	})
}

// TestLastUnit: 200 concurrent reservations of the last unit; exactly one wins.
func TestLastUnit(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, f fixture) {
		if _, err := f.svc.Set(f.ctx, "A", "W1", 1, "last one"); err != nil {
			t.Fatal(err)
		}
		orders := make([]pulid.ID, 200)
		for i := range orders {
			orders[i] = f.order(t)
		}
		var wg sync.WaitGroup
		results := make(chan error, 200)
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results <- f.svc.Reserve(f.ctx, orders[i], []inventory.Allocation{f.alloc("A", "W1", 1)})
			}()
		}
		wg.Wait()
		close(results)
		won, short := 0, 0
		for err := range results {
			switch apperr.CodeOf(err) {
			case "":
				won++
			case apperr.InsufficientInventory:
				short++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if won != 1 || short != 199 {
			t.Fatalf("%d reservations won and %d were short; want 1 and 199", won, short)
		}
		l := f.db.Client.InventoryLevel.Query().Where(inventorylevel.VariantID(f.variants["A"].ID)).OnlyX(f.ctx)
		if l.OnHand != 1 || l.Reserved != 1 {
			t.Fatalf("level on_hand %d reserved %d", l.OnHand, l.Reserved)
		}
		f.checkLedger(t)
	})
}

// TestReserveIsAllOrNothing: an order short on one line reserves nothing, and opposite
// orders of the same two levels never deadlock.
func TestReserveIsAllOrNothing(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, f fixture) {
		f.svc.Set(f.ctx, "A", "W1", 50, "")
		f.svc.Set(f.ctx, "B", "W1", 50, "")
		err := f.svc.Reserve(f.ctx, f.order(t), []inventory.Allocation{f.alloc("A", "W1", 5), f.alloc("B", "W1", 51)})
		if apperr.CodeOf(err) != apperr.InsufficientInventory {
			t.Fatalf("short order: %v", err)
		}
		if st, _ := f.svc.Stock(f.ctx, "A"); st.Reserved != 0 {
			t.Fatalf("a failed order left %d of A reserved", st.Reserved)
		}
		bulk := f.order(t)
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lines := []inventory.Allocation{f.alloc("A", "W1", 1), f.alloc("B", "W1", 1)}
				if i%2 == 1 {
					lines[0], lines[1] = lines[1], lines[0]
				}
				errs <- f.svc.Reserve(f.ctx, bulk, lines)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent reservation failed: %v", err)
			}
		}
		if st, _ := f.svc.Stock(f.ctx, "B"); st.Reserved != 40 || st.Available != 10 {
			t.Fatalf("B after 40 orders: %+v", st)
		}
		if err := f.svc.Commit(f.ctx, bulk, []inventory.Allocation{f.alloc("A", "W1", 10)}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Release(f.ctx, bulk, []inventory.Allocation{f.alloc("A", "W1", 30)}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Release(f.ctx, bulk, []inventory.Allocation{f.alloc("A", "W1", 1)}); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("releasing more than reserved: %v", err)
		}
		if st, _ := f.svc.Stock(f.ctx, "A"); st.OnHand != 40 || st.Reserved != 0 {
			t.Fatalf("A after commit and release: %+v", st)
		}
		f.checkLedger(t)
	})
}

func TestStockIsCachedAndFresh(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, f fixture) {
		f.svc.Set(f.ctx, "A", "W1", 3, "")
		if st, _ := f.svc.Stock(f.ctx, "A"); st.Available != 3 {
			t.Fatalf("stock %+v", st)
		}
		if err := f.svc.Reserve(f.ctx, f.order(t), []inventory.Allocation{f.alloc("A", "W1", 2)}); err != nil {
			t.Fatal(err)
		}
		if st, _ := f.svc.Stock(f.ctx, "A"); st.Available != 1 {
			t.Fatalf("stale stock after reserve: %+v", st)
		}
		if _, err := f.svc.Stock(f.ctx, "NOPE"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("unknown SKU: %v", err)
		}
	})
}

func TestWarehouses(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, f fixture) {
		code, name, prio := "EU-1", "Berlin", 5
		w, err := f.svc.CreateWarehouse(f.ctx, inventory.WarehouseInput{Code: &code, Name: &name, Priority: &prio})
		if err != nil || w.Priority != 5 || !w.Active {
			t.Fatalf("create = %+v, %v", w, err)
		}
		if _, err := f.svc.CreateWarehouse(f.ctx, inventory.WarehouseInput{Code: &code, Name: &name}); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("duplicate code: %v", err)
		}
		bad := "has space"
		if _, err := f.svc.CreateWarehouse(f.ctx, inventory.WarehouseInput{Code: &bad}); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("bad code: %v", err)
		}
		off := false
		if w, err = f.svc.UpdateWarehouse(f.ctx, w.ID, inventory.WarehouseInput{Active: &off}); err != nil || w.Active {
			t.Fatalf("deactivate = %+v, %v", w, err)
		}
		all, more, err := f.svc.Warehouses(f.ctx, paging.Page{Limit: 2})
		if err != nil || len(all) != 2 || !more {
			t.Fatalf("page of 2 of 3 warehouses: %d %v %v", len(all), more, err)
		}
	})
}

func TestWatchSeesCommittedChangesOnly(t *testing.T) {
	t.Parallel()
	db := dbtest.Postgres(t)
	f := newFixture(t, db)
	bus := events.NewPostgres(db.Pool, slog.New(slog.DiscardHandler), inventory.ChangesChannel)
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	go bus.Run(ctx)
	<-bus.Ready()
	svc := inventory.NewService(db, kv.NewMemory(), nil, bus)
	changes, err := svc.Watch(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	if first := <-changes; first.SKU != "A" || first.OnHand != 0 {
		t.Fatalf("initial value %+v", first)
	}
	// A change rolled back is never announced.
	err = database.InTx(ctx, db.Client, func(ctx context.Context, _ *ent.Client) error {
		if _, err := svc.Set(ctx, "A", "W1", 99, ""); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("the transaction did not roll back")
	}
	if _, err := svc.Set(ctx, "B", "W1", 5, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Set(ctx, "A", "W1", 7, ""); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-changes:
		if c.SKU != "A" || c.OnHand != 7 || c.Available != 7 {
			t.Fatalf("change %+v, want A at 7 (not the rolled back 99, not B)", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change arrived")
	}
}
