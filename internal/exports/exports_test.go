package exports_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mercantile/mercantile/ent/importjob"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/exports"
	"github.com/mercantile/mercantile/internal/imports"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/pulid"
	"github.com/mercantile/mercantile/internal/shopifycsv"
)

const fixtures = "../../testdata/shopify"

// shop is one merchant with the import kinds and the export service.
type shop struct {
	imports *imports.Service
	exports *exports.Service
	ctx     context.Context
}

func newShop(tb testing.TB, db *database.DB) *shop {
	tb.Helper()
	store := kv.NewMemory()
	cat := catalog.NewService(db, store, nil, 0)
	inv := inventory.NewService(db, store, cat, nil)
	svc := imports.NewService(db, imports.NewDirStore(tb.TempDir()))
	svc.Register(imports.KindShopifyProducts, imports.NewProductImporter(db.Client, cat, inv))
	svc.Register(imports.KindShopifyOrders, imports.NewOrdersImporter(db.Dialect))
	m := db.Client.Merchant.Create().SetName("Shop").SetHandle("shop-" + strings.ToLower(pulid.New("t").String()[2:])).
		SaveX(viewer.SystemContext(context.Background()))
	ctx := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: m.ID, ActorID: "key_t", Role: viewer.RoleOwner})
	return &shop{imports: svc, exports: exports.NewService(db.Client, cat), ctx: ctx}
}

func (s *shop) importFile(tb testing.TB, kind string, body []byte) {
	tb.Helper()
	job, err := s.imports.Create(s.ctx, imports.CreateInput{Kind: kind, Filename: "f.csv", File: bytes.NewReader(body)}, false)
	if err != nil {
		tb.Fatal(err)
	}
	if job, err = s.imports.Run(s.ctx, job.ID, imports.RunOptions{}); err != nil {
		tb.Fatal(err)
	}
	if job.Status != importjob.StatusSucceeded || job.RowsRejected != 0 {
		tb.Fatalf("%s import: %s %q, %d of %d rejected", kind, job.Status, job.Error, job.RowsRejected, job.RowsTotal)
	}
}

func (s *shop) export(tb testing.TB, write func(context.Context, *bytes.Buffer) error) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := write(s.ctx, &b); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func (s *shop) products(ctx context.Context, b *bytes.Buffer) error {
	return s.exports.Products(ctx, b)
}
func (s *shop) orders(ctx context.Context, b *bytes.Buffer) error { return s.exports.Orders(ctx, b) }

func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func records(tb testing.TB, data []byte) [][]string {
	tb.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	return recs
}

// variantImages reads a legacy product CSV's Variant Image column: the URL of each
// variant row that has one, keyed by handle and option values.
func variantImages(tb testing.TB, data []byte) map[string]string {
	tb.Helper()
	recs := records(tb, data)
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	out := map[string]string{}
	for _, r := range recs[1:] {
		if url := r[col["Variant Image"]]; url != "" {
			key := strings.Join([]string{r[col["Handle"]], r[col["Option1 Value"]], r[col["Option2 Value"]], r[col["Option3 Value"]]}, "|")
			out[key] = url
		}
	}
	return out
}

func dialects(t *testing.T, test func(t *testing.T, open func(testing.TB) *database.DB)) {
	for name, open := range map[string]func(testing.TB) *database.DB{"postgres": dbtest.Postgres, "sqlite": dbtest.SQLite} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, open)
		})
	}
}

func TestProducts(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func(testing.TB) *database.DB) {
		db := open(t)
		// variantImages counts the file's variant rows with a Variant Image.
		for name, variantImageRows := range map[string]int{
			"product_template_2024_legacy_headers.csv":  15,
			"shopifypartners_jewelery.csv":              6,
			"anfas_al_anoud_products_export_arabic.csv": 0,
		} {
			t.Run("OK round trip "+name, func(t *testing.T) {
				a := newShop(t, db)
				a.importFile(t, "shopify_products", fixture(t, name))
				first := a.export(t, a.products)
				recs := records(t, first)
				if diff := cmp.Diff(shopifycsv.ProductsHeader, recs[0]); diff != "" {
					t.Fatalf("header (-want +got):\n%s", diff)
				}
				if len(recs) < 2 {
					t.Fatal("no rows")
				}
				// Each variant keeps the image the file gave it.
				want := variantImages(t, fixture(t, name))
				if len(want) != variantImageRows {
					t.Fatalf("the fixture has %d variant images, want %d", len(want), variantImageRows)
				}
				if diff := cmp.Diff(want, variantImages(t, first)); diff != "" {
					t.Fatalf("Variant Image by variant (-fixture +export):\n%s", diff)
				}
				b := newShop(t, db)
				b.importFile(t, "shopify_products", first)
				if second := b.export(t, b.products); !bytes.Equal(first, second) {
					t.Fatalf("export -> import -> export changed the file (-first +second):\n%s", cmp.Diff(records(t, first), records(t, second)))
				}
			})
		}
	})
}

func TestOrders(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func(testing.TB) *database.DB) {
		db := open(t)
		a := newShop(t, db)
		a.importFile(t, "shopify_orders", fixture(t, "orders_export_devstore_2025.csv"))
		first := a.export(t, a.orders)
		recs := records(t, first)
		if diff := cmp.Diff(shopifycsv.OrdersHeader, recs[0]); diff != "" {
			t.Fatalf("header (-want +got):\n%s", diff)
		}
		if len(recs) != 41 {
			t.Fatalf("%d rows, want the header and 40 lines", len(recs))
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		var o1001 [][]string
		for _, r := range recs[1:] {
			if r[col["Name"]] == "#1001" {
				o1001 = append(o1001, r)
			}
		}
		type row struct{ Fin, Ful, Currency, Total, Created, Qty, Price, ID string }
		var got []row
		for _, r := range o1001 {
			got = append(got, row{r[col["Financial Status"]], r[col["Fulfillment Status"]], r[col["Currency"]], r[col["Total"]],
				r[col["Created at"]], r[col["Lineitem quantity"]], r[col["Lineitem price"]], r[col["Id"]]})
		}
		const at = "2025-05-11 13:55:16 +0000"
		want := []row{
			{"paid", "fulfilled", "EUR", "1659.95", at, "1", "10.00", "6634244374859"},
			{"", "", "", "", at, "1", "24.95", ""},
			{"", "", "", "", at, "1", "600.00", ""},
			{"", "", "", "", at, "1", "1025.00", ""},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("#1001 rows (-want +got):\n%s", diff)
		}

		// The export reads back as the same orders, and exports the same again.
		b := newShop(t, db)
		b.importFile(t, "shopify_orders", first)
		if second := b.export(t, b.orders); !bytes.Equal(first, second) {
			t.Fatalf("export -> import -> export changed the file:\n%s", cmp.Diff(records(t, first), records(t, second)))
		}
	})
}
