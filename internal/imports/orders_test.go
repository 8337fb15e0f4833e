package imports_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/importjob"
	"github.com/mercantile/mercantile/ent/importrowerror"
	"github.com/mercantile/mercantile/ent/order"
	"github.com/mercantile/mercantile/ent/orderlineitem"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/imports"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/pulid"
)

const ordersFixture = "../../testdata/shopify/orders_export_devstore_2025.csv"

type ordersEnv struct {
	db  *database.DB
	svc *imports.Service
	inv *inventory.Service
	ctx context.Context
	mid pulid.ID
}

// newOrdersEnv: a merchant whose catalog has SKU sku-untracked-1 (an SKU of the
// fixture) with 7 in stock at W1, and the shopify_orders importer.
func newOrdersEnv(tb testing.TB, db *database.DB) *ordersEnv {
	tb.Helper()
	store := kv.NewMemory()
	cat := catalog.NewService(db, store, nil, 0)
	inv := inventory.NewService(db, store, cat, nil)
	files := imports.NewDirStore(tb.TempDir())
	svc := imports.NewService(db, files)
	svc.Register(imports.KindShopifyOrders, imports.NewOrdersImporter(db.Dialect))
	m := db.Client.Merchant.Create().SetName("Shop").SetHandle("shop-" + strings.ToLower(pulid.New("t").String()[2:])).
		SaveX(viewer.SystemContext(context.Background()))
	ctx := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: m.ID, ActorID: "key_t", Role: viewer.RoleOwner})
	p := db.Client.Product.Create().SetTitle("Untracked").SetHandle("untracked").SaveX(ctx)
	db.Client.Variant.Create().SetProductID(p.ID).SetSku("sku-untracked-1").SetPrice(94995).ExecX(ctx)
	db.Client.Warehouse.Create().SetCode("W1").SetName("One").ExecX(ctx)
	if _, err := inv.Set(ctx, "sku-untracked-1", "W1", 7, "test stock"); err != nil {
		tb.Fatal(err)
	}
	return &ordersEnv{db: db, svc: svc, inv: inv, ctx: ctx, mid: m.ID}
}

func (e *ordersEnv) importOrders(tb testing.TB, body []byte) *ent.ImportJob {
	tb.Helper()
	job, err := e.svc.Create(e.ctx, imports.CreateInput{Kind: "shopify_orders", Filename: "orders.csv", File: bytes.NewReader(body)}, false)
	if err != nil {
		tb.Fatal(err)
	}
	if job, err = e.svc.Run(e.ctx, job.ID, imports.RunOptions{}); err != nil {
		tb.Fatal(err)
	}
	if job.Status != importjob.StatusSucceeded {
		tb.Fatalf("import %s: %s", job.Status, job.Error)
	}
	if job.RowsTotal != job.RowsImported+job.RowsSkipped+job.RowsRejected {
		tb.Fatalf("rows %d != %d + %d + %d", job.RowsTotal, job.RowsImported, job.RowsSkipped, job.RowsRejected)
	}
	return job
}

// stockState is every level and the number of ledger movements: what importing history
// must leave alone.
func (e *ordersEnv) stockState(tb testing.TB) string {
	tb.Helper()
	var b strings.Builder
	for _, l := range e.db.Client.InventoryLevel.Query().AllX(e.ctx) {
		fmt.Fprintf(&b, "%s on hand %d reserved %d\n", l.ID, l.OnHand, l.Reserved)
	}
	c := e.db.Client
	fmt.Fprintf(&b, "movements %d shipments %d payments %d", c.InventoryMovement.Query().CountX(e.ctx),
		c.Shipment.Query().CountX(e.ctx), c.Payment.Query().CountX(e.ctx))
	return b.String()
}

func readOrdersFixture(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(ordersFixture)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func ordersDialects(t *testing.T, test func(t *testing.T, e *ordersEnv)) {
	for name, open := range map[string]func(testing.TB) *database.DB{"postgres": dbtest.Postgres, "sqlite": dbtest.SQLite} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, newOrdersEnv(t, open(t)))
		})
	}
}

func TestShopifyOrders(t *testing.T) {
	t.Parallel()
	ordersDialects(t, func(t *testing.T, e *ordersEnv) {
		fixture := readOrdersFixture(t)
		before := e.stockState(t)

		job := e.importOrders(t, fixture)
		if job.RowsTotal != 40 || job.RowsImported != 40 || job.RowsSkipped != 0 || job.RowsRejected != 0 {
			t.Fatalf("first import: total %d imported %d skipped %d rejected %d", job.RowsTotal, job.RowsImported, job.RowsSkipped, job.RowsRejected)
		}
		c := e.db.Client
		if n := c.Order.Query().Where(order.SourceEQ(order.SourceImport)).CountX(e.ctx); n != 19 {
			t.Fatalf("%d imported orders, want 19", n)
		}
		if n := c.OrderLineItem.Query().CountX(e.ctx); n != 40 {
			t.Fatalf("%d lines, want 40", n)
		}

		t.Run("OK #1001", func(t *testing.T) {
			o := c.Order.Query().Where(order.Name("#1001")).
				WithLineItems(func(q *ent.OrderLineItemQuery) { q.Order(ent.Asc(orderlineitem.FieldUnitPrice)) }).OnlyX(e.ctx)
			type view struct {
				Number                     int64
				ShopifyID                  int64
				Currency, Status, Fin, Ful string
				Subtotal, Ship, Tax, Total int64
				Refunded                   int64
				Placed                     string
				Lines                      []string
				Prices                     []int64
			}
			got := view{Number: o.Number, ShopifyID: *o.ShopifyID, Currency: o.Currency, Status: string(o.Status),
				Fin: string(o.FinancialStatus), Ful: string(o.FulfillmentStatus), Subtotal: o.Subtotal, Ship: o.ShippingTotal,
				Tax: o.TaxTotal, Total: o.Total, Refunded: o.AmountRefunded, Placed: o.ProcessedAt.UTC().Format(time.RFC3339)}
			for _, l := range o.Edges.LineItems {
				got.Lines = append(got.Lines, l.Title)
				got.Prices = append(got.Prices, l.UnitPrice)
			}
			want := view{Number: 1001, ShopifyID: 6634244374859, Currency: "EUR", Status: "open", Fin: "paid", Ful: "fulfilled",
				Subtotal: 165995, Total: 165995, Placed: "2025-05-11T13:55:16Z",
				Lines:  []string{"Gift Card - $10", "Selling Plans Ski Wax - Selling Plans Ski Wax", "The Collection Snowboard: Hydrogen", "The Collection Snowboard: Oxygen"},
				Prices: []int64{1000, 2495, 60000, 102500}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("#1001 (-want +got):\n%s", diff)
			}
		})
		t.Run("OK statuses", func(t *testing.T) {
			o := c.Order.Query().Where(order.Name("#1013")).OnlyX(e.ctx)
			if o.FinancialStatus != order.FinancialStatusPending || o.FulfillmentStatus != order.FulfillmentStatusPartial || o.Total != 12759 {
				t.Fatalf("#1013 = %s/%s %d", o.FinancialStatus, o.FulfillmentStatus, o.Total)
			}
			if o := c.Order.Query().Where(order.Name("#1019")).OnlyX(e.ctx); o.FulfillmentStatus != order.FulfillmentStatusUnfulfilled {
				t.Fatalf("#1019 fulfillment %s", o.FulfillmentStatus)
			}
		})
		t.Run("OK known SKU linked, unknown kept", func(t *testing.T) {
			lines := c.OrderLineItem.Query().Where(orderlineitem.Sku("sku-untracked-1")).AllX(e.ctx)
			if len(lines) != 2 || lines[0].VariantID == nil || lines[1].VariantID == nil {
				t.Fatalf("sku-untracked-1 lines %+v", lines)
			}
			if n := c.OrderLineItem.Query().Where(orderlineitem.VariantIDIsNil()).CountX(e.ctx); n != 38 {
				t.Fatalf("%d lines without variant, want 38", n)
			}
		})
		t.Run("OK numbering continues after history", func(t *testing.T) {
			m := c.Merchant.GetX(viewer.SystemContext(e.ctx), e.mid)
			if m.LastOrderNumber != 1019 {
				t.Fatalf("last order number %d", m.LastOrderNumber)
			}
		})
		if after := e.stockState(t); after != before {
			t.Fatalf("importing history touched stock:\nbefore %s\nafter  %s", before, after)
		}

		again := e.importOrders(t, fixture)
		if again.RowsTotal != 40 || again.RowsSkipped != 40 || again.RowsImported != 0 {
			t.Fatalf("re-import: total %d imported %d skipped %d", again.RowsTotal, again.RowsImported, again.RowsSkipped)
		}
		changed := bytes.Replace(fixture, []byte("#1002,,paid,2025-05-11 09:56:23 -0400,fulfilled"), []byte("#1002,,refunded,2025-05-11 09:56:23 -0400,fulfilled"), 1)
		if bytes.Equal(changed, fixture) {
			t.Fatal("the fixture's #1002 row was not found")
		}
		third := e.importOrders(t, changed)
		if third.RowsImported != 2 || third.RowsSkipped != 38 {
			t.Fatalf("changed import: imported %d skipped %d", third.RowsImported, third.RowsSkipped)
		}
		if o := c.Order.Query().Where(order.Name("#1002")).WithLineItems().OnlyX(e.ctx); o.FinancialStatus != order.FinancialStatusRefunded || len(o.Edges.LineItems) != 2 {
			t.Fatalf("#1002 after change: %s, %d lines", o.FinancialStatus, len(o.Edges.LineItems))
		}
		if n := c.Order.Query().CountX(e.ctx); n != 19 {
			t.Fatalf("%d orders after re-imports", n)
		}
		if after := e.stockState(t); after != before {
			t.Fatalf("re-importing history touched stock")
		}
	})
}

func TestShopifyOrders_ErrRows(t *testing.T) {
	t.Parallel()
	ordersDialects(t, func(t *testing.T, e *ordersEnv) {
		lines := strings.SplitAfter(string(readOrdersFixture(t)), "\n")
		header, rows := lines[0], lines[1:]
		// Rows 2-5 are #1001; row 6 starts #1002. Drop #1002's first row so row 6 (its
		// continuation) has none, and break #1003's Total.
		body := header + strings.Join(rows[0:4], "") + strings.Join(rows[5:6], "") +
			strings.Replace(rows[6], ",729.95,\"\",0.00", ",7x9.95,\"\",0.00", 1)
		job := e.importOrders(t, []byte(body))
		if job.RowsTotal != 6 || job.RowsImported != 4 || job.RowsRejected != 2 {
			t.Fatalf("total %d imported %d rejected %d", job.RowsTotal, job.RowsImported, job.RowsRejected)
		}
		errs := e.db.Client.ImportRowError.Query().Where(importrowerror.ImportJobID(job.ID)).
			Order(ent.Asc(importrowerror.FieldRow)).AllX(e.ctx)
		type rowErr struct {
			Row    int
			Column string
		}
		var got []rowErr
		for _, re := range errs {
			got = append(got, rowErr{re.Row, re.Column})
			if re.Message == "" {
				t.Errorf("row %d has no reason", re.Row)
			}
		}
		if diff := cmp.Diff([]rowErr{{6, "Name"}, {7, "Total"}}, got); diff != "" {
			t.Fatalf("row errors (-want +got):\n%s\n%+v", diff, errs)
		}
	})
}
