package orders_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/inventorymovement"
	"github.com/mercantile/mercantile/ent/order"
	"github.com/mercantile/mercantile/ent/shipment"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/orders"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/postal"
	"github.com/mercantile/mercantile/internal/pulid"
)

type fixture struct {
	db     *database.DB
	inv    *inventory.Service
	svc    *orders.Service
	ctx    context.Context
	shop   context.Context
	prices map[string]int64
}

// newFixture: SKUs A (1000), B (250), C (99) and warehouses W1 (priority 1), W2 (2).
func newFixture(t *testing.T, db *database.DB) fixture {
	t.Helper()
	sys := viewer.SystemContext(context.Background())
	m := db.Client.Merchant.Create().SetName("Shop").SetHandle("shop").SetShippingFlatRate(500).SetTaxRateBps(1000).SaveX(sys)
	ctx := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: m.ID, ActorID: "key_t", Role: viewer.RoleOwner})
	shop := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindPublishableKey, MerchantID: m.ID, ActorID: "key_p"})
	inv := inventory.NewService(db, kv.NewMemory(), nil, nil)
	f := fixture{db: db, inv: inv, svc: orders.NewService(db, inv, 30*time.Minute), ctx: ctx, shop: shop,
		prices: map[string]int64{"A": 1000, "B": 250, "C": 99}}
	p := db.Client.Product.Create().SetTitle("Thing").SetHandle("thing").SaveX(ctx)
	for sku, price := range f.prices {
		db.Client.Variant.Create().SetProductID(p.ID).SetSku(sku).SetOption1(sku).SetPrice(price).ExecX(ctx)
	}
	db.Client.Warehouse.Create().SetCode("W1").SetName("One").SetPriority(1).ExecX(ctx)
	db.Client.Warehouse.Create().SetCode("W2").SetName("Two").SetPriority(2).ExecX(ctx)
	return f
}

func (f fixture) stock(t *testing.T, sku, code string, n int64) {
	t.Helper()
	if _, err := f.inv.Set(f.ctx, sku, code, n, "test stock"); err != nil {
		t.Fatal(err)
	}
}

func orderOf(lines ...orders.LineInput) orders.PlaceInput {
	return orders.PlaceInput{
		Email:           "buyer@example.com",
		ShippingAddress: &postal.Address{Name: "Ada", Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "us"},
		LineItems:       lines,
	}
}

func line(sku string, q int64) orders.LineInput { return orders.LineInput{SKU: sku, Quantity: q} }

// checkInvariants: no level negative, reserved equals the open orders' pending shipment
// quantities, and every level equals the sum of its movements.
func (f fixture) checkInvariants(t *testing.T) {
	t.Helper()
	sys := viewer.SystemContext(context.Background())
	levels := f.db.Client.InventoryLevel.Query().AllX(sys)
	reservedWant := map[[2]pulid.ID]int64{}
	for _, shp := range f.db.Client.Shipment.Query().Where(shipment.StatusEQ(shipment.StatusPending)).WithLineItems().AllX(sys) {
		for _, li := range shp.Edges.LineItems {
			reservedWant[[2]pulid.ID{*li.VariantID, shp.WarehouseID}] += int64(li.Quantity)
		}
	}
	for _, l := range levels {
		if l.OnHand < 0 || l.Reserved < 0 || l.Reserved > l.OnHand {
			t.Errorf("level %s broke an invariant: %d/%d", l.ID, l.OnHand, l.Reserved)
		}
		if want := reservedWant[[2]pulid.ID{l.VariantID, l.WarehouseID}]; l.Reserved != want {
			t.Errorf("level %s reserved %d, open shipments hold %d", l.ID, l.Reserved, want)
		}
		var onHand, reserved int64
		for _, m := range f.db.Client.InventoryMovement.Query().
			Where(inventorymovement.VariantID(l.VariantID), inventorymovement.WarehouseID(l.WarehouseID)).AllX(sys) {
			onHand += m.OnHandDelta
			reserved += m.ReservedDelta
		}
		if onHand != l.OnHand || reserved != l.Reserved {
			t.Errorf("level %s %d/%d, ledger %d/%d", l.ID, l.OnHand, l.Reserved, onHand, reserved)
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

func TestPlace(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, f fixture) {
		f.stock(t, "A", "W1", 2)
		f.stock(t, "A", "W2", 2)
		f.stock(t, "B", "W2", 5)

		o, err := f.svc.Place(f.shop, orderOf(line("A", 3), line("B", 1)))
		if err != nil {
			t.Fatal(err)
		}
		wantSubtotal := int64(3*1000 + 250)
		if o.Subtotal != wantSubtotal || o.ShippingTotal != 500 || o.TaxTotal != 325 || o.Total != wantSubtotal+500+325 {
			t.Fatalf("totals %d + %d + %d = %d", o.Subtotal, o.ShippingTotal, o.TaxTotal, o.Total)
		}
		if o.Number != 1001 || o.Name != "#1001" || o.Status != order.StatusOpen || o.FinancialStatus != order.FinancialStatusPending {
			t.Fatalf("order %+v", o)
		}
		if len(o.Edges.Shipments) != 2 || len(o.Edges.LineItems) != 2 || len(o.Edges.Payments) != 1 {
			t.Fatalf("%d shipments, %d lines, %d payments", len(o.Edges.Shipments), len(o.Edges.LineItems), len(o.Edges.Payments))
		}
		if st, _ := f.inv.Stock(f.ctx, "A"); st.Reserved != 3 || st.Available != 1 {
			t.Fatalf("A after placement %+v", st)
		}
		second, err := f.svc.Place(f.shop, orderOf(line("A", 1)))
		if err != nil || second.Number != 1002 {
			t.Fatalf("second order %v %v", second, err)
		}
		f.checkInvariants(t)
	})
}

func TestPlaceRejects(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, f fixture) {
		f.stock(t, "A", "W1", 2)
		f.stock(t, "B", "W1", 1)
		tests := []struct {
			name  string
			in    orders.PlaceInput
			code  apperr.Code
			field string
		}{
			{"short on one line", orderOf(line("A", 1), line("B", 2)), apperr.InsufficientInventory, "B"},
			{"zero quantity", orderOf(line("A", 0)), apperr.Invalid, "line_items[0].quantity"},
			{"absurd quantity", orderOf(line("A", 1e9)), apperr.Invalid, "line_items[0].quantity"},
			{"unknown SKU", orderOf(line("NOPE", 1)), apperr.Invalid, "line_items[0].sku"},
			{"duplicate lines", orderOf(line("A", 1), line("A", 1)), apperr.Invalid, "line_items[1].sku"},
			{"no lines", orderOf(), apperr.Invalid, "line_items"},
			{"bad email", func() orders.PlaceInput { in := orderOf(line("A", 1)); in.Email = "nope"; return in }(), apperr.Invalid, "email"},
			{"wrong currency", func() orders.PlaceInput { in := orderOf(line("A", 1)); in.Currency = "EUR"; return in }(), apperr.Invalid, "currency"},
			{"missing address field", func() orders.PlaceInput {
				in := orderOf(line("A", 1))
				in.ShippingAddress.City = ""
				return in
			}(), apperr.Invalid, "shipping_address.city"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := f.svc.Place(f.shop, tt.in)
				e := apperr.From(err)
				if e.Code != tt.code {
					t.Fatalf("got %v, want %s", err, tt.code)
				}
				found := false
				for _, fe := range e.Fields {
					found = found || fe.Field == tt.field
				}
				if !found {
					t.Fatalf("errors %+v do not name %s", e.Fields, tt.field)
				}
			})
		}
		if n := f.db.Client.Order.Query().CountX(f.ctx); n != 0 {
			t.Fatalf("rejected orders wrote %d orders", n)
		}
		f.checkInvariants(t)
	})
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, f fixture) {
		f.stock(t, "A", "W1", 2)
		f.stock(t, "A", "W2", 2)
		place := func() *ent.Order {
			o, err := f.svc.Place(f.shop, orderOf(line("A", 3)))
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		illegal := func(what string, err error) {
			t.Helper()
			if apperr.CodeOf(err) != apperr.InvalidStateTransition {
				t.Errorf("%s: %v, want invalid_state_transition", what, err)
			}
		}
		o := place()
		_, err := f.svc.Ship(f.ctx, o.Edges.Shipments[0].ID, orders.ShipInput{Carrier: "UPS"})
		illegal("shipping unpaid", err)
		_, err = f.svc.Deliver(f.ctx, o.Edges.Shipments[0].ID)
		illegal("delivering unshipped", err)
		_, err = f.svc.RecordRefund(f.ctx, o.ID, nil, "")
		illegal("refunding unpaid", err)

		if o, err = f.svc.MarkPaid(f.ctx, o.ID); err != nil || o.FinancialStatus != order.FinancialStatusPaid || o.ReservationExpiresAt != nil {
			t.Fatalf("mark paid: %v %v", o, err)
		}
		_, err = f.svc.MarkPaid(f.ctx, o.ID)
		illegal("paying twice", err)

		first, second := o.Edges.Shipments[0], o.Edges.Shipments[1]
		if o, err = f.svc.Ship(f.ctx, first.ID, orders.ShipInput{Carrier: "UPS", TrackingNumber: "1Z"}); err != nil || o.FulfillmentStatus != order.FulfillmentStatusPartial {
			t.Fatalf("first shipment: %v %v", o, err)
		}
		_, err = f.svc.Ship(f.ctx, first.ID, orders.ShipInput{Carrier: "UPS"})
		illegal("shipping twice", err)
		if o, err = f.svc.Ship(f.ctx, second.ID, orders.ShipInput{Carrier: "DHL"}); err != nil || o.FulfillmentStatus != order.FulfillmentStatusFulfilled {
			t.Fatalf("second shipment: %v %v", o, err)
		}
		if st, _ := f.inv.Stock(f.ctx, "A"); st.OnHand != 1 || st.Reserved != 0 {
			t.Fatalf("stock after shipping 3 of 4: %+v", st)
		}
		_, err = f.svc.Cancel(f.ctx, o.ID, "")
		illegal("cancelling a shipped order", err)
		f.svc.Deliver(f.ctx, first.ID)
		if o, err = f.svc.Deliver(f.ctx, second.ID); err != nil || o.Status != order.StatusClosed {
			t.Fatalf("delivering all: %v %v", o, err)
		}
		if o, err = f.svc.RecordRefund(f.ctx, o.ID, ptr(int64(100)), "scratch"); err != nil || o.FinancialStatus != order.FinancialStatusPartiallyRefunded {
			t.Fatalf("partial refund: %v %v", o, err)
		}
		if _, err = f.svc.RecordRefund(f.ctx, o.ID, ptr(o.Total), ""); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("refunding more than paid: %v", err)
		}
		if o, err = f.svc.RecordRefund(f.ctx, o.ID, nil, ""); err != nil || o.FinancialStatus != order.FinancialStatusRefunded {
			t.Fatalf("full refund: %v %v", o, err)
		}

		f.stock(t, "A", "W1", 3)
		c := place()
		if c, err = f.svc.Cancel(f.ctx, c.ID, "changed mind"); err != nil || c.Status != order.StatusCancelled || c.FinancialStatus != order.FinancialStatusVoided {
			t.Fatalf("cancel: %v %v", c, err)
		}
		for _, shp := range c.Edges.Shipments {
			if shp.Status != shipment.StatusCancelled {
				t.Fatalf("shipment %s left %s", shp.ID, shp.Status)
			}
		}
		_, err = f.svc.Cancel(f.ctx, c.ID, "")
		illegal("cancelling twice", err)
		_, err = f.svc.MarkPaid(f.ctx, c.ID)
		illegal("paying a cancelled order", err)
		if st, _ := f.inv.Stock(f.ctx, "A"); st.Reserved != 0 || st.OnHand != 4 {
			t.Fatalf("cancel did not release: %+v", st)
		}
		f.checkInvariants(t)
	})
}

func TestExpiryReleasesStock(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, f fixture) {
		f.stock(t, "A", "W1", 1)
		o, err := f.svc.Place(f.shop, orderOf(line("A", 1)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Place(f.shop, orderOf(line("A", 1))); apperr.CodeOf(err) != apperr.InsufficientInventory {
			t.Fatalf("second order of the last unit: %v", err)
		}
		sys := viewer.SystemContext(context.Background())
		f.db.Client.Order.UpdateOneID(o.ID).SetReservationExpiresAt(time.Now().Add(-time.Minute)).ExecX(sys)
		// As the periodic job calls it: no viewer, every merchant.
		n, err := f.svc.ExpireReservations(context.Background(), 100)
		if err != nil || n != 1 {
			t.Fatalf("expired %d, %v", n, err)
		}
		got, _ := f.svc.Order(f.ctx, o.ID)
		if got.Status != order.StatusCancelled || got.CancelReason != "reservation expired" {
			t.Fatalf("expired order %s %q", got.Status, got.CancelReason)
		}
		if _, err := f.svc.Place(f.shop, orderOf(line("A", 1))); err != nil {
			t.Fatalf("the released unit cannot be bought: %v", err)
		}
		f.checkInvariants(t)
	})
}

// TestLastUnitRace: 1 in stock, 200 concurrent placements, exactly 1 succeeds.
func TestLastUnitRace(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dbtest.Postgres(t))
	f.stock(t, "A", "W1", 1)
	var wg sync.WaitGroup
	codes := make(chan apperr.Code, 200)
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.svc.Place(f.shop, orderOf(line("A", 1)))
			codes <- apperr.CodeOf(err)
		}()
	}
	wg.Wait()
	close(codes)
	count := map[apperr.Code]int{}
	for c := range codes {
		count[c]++
	}
	if count[""] != 1 || count[apperr.InsufficientInventory] != 199 {
		t.Fatalf("outcomes %v; want 1 success and 199 insufficient_inventory", count)
	}
	f.checkInvariants(t)
}

// TestMixedLoad: 3 SKUs over 2 warehouses, 300 concurrent orders of 1-3 lines in random
// order: the invariants hold and no client sees a deadlock or internal error.
func TestMixedLoad(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dbtest.Postgres(t))
	for _, sku := range []string{"A", "B", "C"} {
		f.stock(t, sku, "W1", 60)
		f.stock(t, sku, "W2", 60)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 300)
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 7))
			skus := []string{"A", "B", "C"}
			r.Shuffle(len(skus), func(a, b int) { skus[a], skus[b] = skus[b], skus[a] })
			var lines []orders.LineInput
			for _, sku := range skus[:1+r.IntN(3)] {
				lines = append(lines, line(sku, int64(1+r.IntN(2))))
			}
			_, err := f.svc.Place(f.shop, orderOf(lines...))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	placed := 0
	for err := range errs {
		switch apperr.CodeOf(err) {
		case "":
			placed++
		case apperr.InsufficientInventory:
		default:
			t.Errorf("client saw %v", err)
		}
	}
	if placed == 0 {
		t.Fatal("no order was placed")
	}
	f.checkInvariants(t)
}

func ptr[T any](v T) *T { return &v }
