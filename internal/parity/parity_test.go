package parity_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/importjob"
	"github.com/mercantile/mercantile/ent/inventorylevel"
	"github.com/mercantile/mercantile/ent/inventorymovement"
	"github.com/mercantile/mercantile/ent/merchant"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/imports"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/merchants"
	"github.com/mercantile/mercantile/internal/parity"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/pulid"
)

const fixtures = "../../testdata/shopify"

type env struct {
	db        *database.DB
	imports   *imports.Service
	inv       *inventory.Service
	parity    *parity.Service
	merchants *merchants.Service
	ctx       context.Context
}

// newEnv: a merchant (currency USD, status active) with the import kinds registered and
// its parity check guarding sunset.
func newEnv(tb testing.TB, db *database.DB) *env {
	tb.Helper()
	store := kv.NewMemory()
	cat := catalog.NewService(db, store, nil, 0)
	inv := inventory.NewService(db, store, cat, nil)
	files := imports.NewDirStore(tb.TempDir())
	svc := imports.NewService(db, files)
	svc.Register(imports.KindShopifyProducts, imports.NewProductImporter(db.Client, cat, inv))
	svc.Register(imports.KindShopifyOrders, imports.NewOrdersImporter(db.Dialect))
	m := db.Client.Merchant.Create().SetName("Shop").SetHandle("shop-" + strings.ToLower(pulid.New("t").String()[2:])).
		SetStatus(merchant.StatusActive).SaveX(viewer.SystemContext(context.Background()))
	ctx := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: m.ID, ActorID: "key_t", Role: viewer.RoleOwner})
	p := parity.NewService(db.Client, files)
	ms := merchants.NewService(db.Client, auth.NewService(db.Client, store, 0))
	ms.RequireBeforeSunset(p.CheckSunset)
	return &env{db: db, imports: svc, inv: inv, parity: p, merchants: ms, ctx: ctx}
}

func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func (e *env) importFile(tb testing.TB, kind string, body []byte) *ent.ImportJob {
	tb.Helper()
	job, err := e.imports.Create(e.ctx, imports.CreateInput{Kind: kind, Filename: kind + ".csv", File: bytes.NewReader(body)}, false)
	if err != nil {
		tb.Fatal(err)
	}
	if job, err = e.imports.Run(e.ctx, job.ID, imports.RunOptions{}); err != nil {
		tb.Fatal(err)
	}
	if job.Status != importjob.StatusSucceeded || job.RowsRejected != 0 {
		tb.Fatalf("%s import: %s %q, %d rejected", kind, job.Status, job.Error, job.RowsRejected)
	}
	return job
}

func dialects(t *testing.T, test func(t *testing.T, e *env)) {
	for name, open := range map[string]func(testing.TB) *database.DB{"postgres": dbtest.Postgres, "sqlite": dbtest.SQLite} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, newEnv(t, open(t)))
		})
	}
}

func sunset(e *env) error {
	s := merchant.StatusSunset
	_, err := e.merchants.Update(e.ctx, merchants.UpdateInput{Status: &s})
	return err
}

func TestParity(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, e *env) {
		if _, err := e.parity.Latest(e.ctx); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("parity without imports: %v, want conflict", err)
		}
		if err := sunset(e); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("sunset without imports: %v, want conflict", err)
		}
		e.importFile(t, "shopify_products", fixture(t, "product_template_2025_new_headers.csv"))
		e.importFile(t, "shopify_orders", fixture(t, "orders_export_devstore_2025.csv"))

		r, err := e.parity.Latest(e.ctx)
		if err != nil {
			t.Fatal(err, errors.Unwrap(err))
		}
		if !r.Clean || r.Products != (parity.Count{Source: 2, Ours: 2}) || r.Variants != (parity.Count{Source: 15, Ours: 15}) ||
			*r.Orders != (parity.Count{Source: 19, Ours: 19}) {
			t.Fatalf("after importing the fixtures: %+v\n%v", r, r.Differences(-1))
		}
		want := []parity.Month{{Month: "2025-05", Currency: "EUR", SourceCount: 19, OurCount: 19, SourceTotal: 1408904, OurTotal: 1408904}}
		if diff := cmp.Diff(want, r.Months); diff != "" {
			t.Fatalf("months (-want +got):\n%s", diff)
		}

		// Break parity three ways: a price, a stock level, a variant gone.
		c := e.db.Client
		vs := c.Variant.Query().Order(ent.Asc(variant.FieldSku)).WithInventoryLevels().AllX(e.ctx)
		// The e-book variants sort first and track no stock; the T-shirts last and do.
		priced, gone, stocked := vs[0], vs[1], vs[len(vs)-1]
		c.Variant.UpdateOne(priced).SetPrice(priced.Price + 1).ExecX(e.ctx)
		onHand := catalog.Available(stocked.Edges.InventoryLevels)
		if _, err := e.inv.Set(e.ctx, stocked.Sku, "default", onHand+5, "miscount"); err != nil {
			t.Fatal(err)
		}
		c.InventoryMovement.Delete().Where(inventorymovement.VariantID(gone.ID)).ExecX(e.ctx)
		c.InventoryLevel.Delete().Where(inventorylevel.VariantID(gone.ID)).ExecX(e.ctx)
		c.Variant.DeleteOne(gone).ExecX(e.ctx)

		r, err = e.parity.Latest(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		type broken struct {
			Clean    bool
			Variants parity.Count
			Missing  []string
			Prices   []parity.Difference
			Stock    []parity.Difference
		}
		wantBroken := broken{Variants: parity.Count{Source: 15, Ours: 14}, Missing: []string{gone.Sku},
			Prices: []parity.Difference{{SKU: priced.Sku, Source: priced.Price, Ours: priced.Price + 1}},
			Stock:  []parity.Difference{{SKU: stocked.Sku, Source: onHand, Ours: onHand + 5}}}
		gotBroken := broken{r.Clean, r.Variants, r.MissingSKUs, r.PriceDifferences, r.StockDifferences}
		if diff := cmp.Diff(wantBroken, gotBroken); diff != "" {
			t.Fatalf("after breaking parity (-want +got):\n%s", diff)
		}

		err = sunset(e)
		if apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("sunset with differences: %v, want conflict", err)
		}
		for _, named := range []string{priced.Sku + " price", stocked.Sku + " stock", gone.Sku + " is missing"} {
			if !strings.Contains(err.Error(), named) {
				t.Errorf("refusal %q does not name %q", err, named)
			}
		}
		if m := c.Merchant.Query().OnlyX(e.ctx); m.Status != merchant.StatusActive {
			t.Fatalf("status %s after a refused sunset", m.Status)
		}

		// Importing the products file again restores the catalog; parity is clean and the
		// merchant may move on.
		e.importFile(t, "shopify_products", fixture(t, "product_template_2025_new_headers.csv"))
		if r, err := e.parity.Latest(e.ctx); err != nil || !r.Clean {
			t.Fatalf("after re-importing: %v %v", err, r.Differences(-1))
		}
		if err := sunset(e); err != nil {
			t.Fatalf("sunset with clean parity: %v", err)
		}
		if m := c.Merchant.Query().OnlyX(e.ctx); m.Status != merchant.StatusSunset {
			t.Fatalf("status %s, want sunset", m.Status)
		}
	})
}

func TestCompare(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dbtest.Postgres(t))
	e.importFile(t, "shopify_products", fixture(t, "shopifypartners_jewelery.csv"))
	t.Run("OK without orders, rows without SKUs matched by handle and options", func(t *testing.T) {
		r, err := e.parity.Compare(e.ctx, bytes.NewReader(fixture(t, "shopifypartners_jewelery.csv")), nil)
		if err != nil || !r.Clean || r.Orders != nil || r.Products.Source != 20 {
			t.Fatalf("%v %+v %v", err, r, r.Differences(-1))
		}
	})
	t.Run("ErrOther catalogue", func(t *testing.T) {
		r, err := e.parity.Compare(e.ctx, bytes.NewReader(fixture(t, "shopifypartners_apparel.csv")), nil)
		if err != nil || r.Clean || len(r.MissingSKUs) == 0 || len(r.ExtraSKUs) == 0 {
			t.Fatalf("%v %+v", err, r)
		}
	})
	t.Run("ErrNot a product file", func(t *testing.T) {
		_, err := e.parity.Compare(e.ctx, strings.NewReader("a,b\n1,2\n"), nil)
		if apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("%v, want invalid", err)
		}
	})
}
