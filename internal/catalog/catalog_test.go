package catalog_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/paging"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/platform/kv/kvtest"
	"github.com/mercantile/mercantile/internal/pulid"
)

func ptr[T any](v T) *T { return &v }

type env struct {
	svc *catalog.Service
	db  *database.DB
	ctx context.Context
}

func newEnv(t *testing.T, db *database.DB) env {
	t.Helper()
	m := db.Client.Merchant.Create().SetName("Shop").SetHandle("shop").SaveX(viewer.SystemContext(context.Background()))
	ctx := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: m.ID, ActorID: "key_t", Role: viewer.RoleOwner})
	return env{svc: catalog.NewService(db, kv.NewMemory(), nil, 0), db: db, ctx: ctx}
}

func tshirt() catalog.ProductInput {
	return catalog.ProductInput{
		Title: ptr("Classic T-Shirt"), Vendor: ptr("Acme"), Tags: ptr([]string{"summer", "cotton"}),
		DescriptionHTML: ptr(`<p>Soft <b>cotton</b>.</p><script>alert(1)</script>`),
		Options:         ptr([]catalog.OptionInput{{Name: "Color", Values: []string{"Red", "Blue"}}, {Name: "Size", Values: []string{"M", "L"}}}),
		Variants: []catalog.VariantInput{
			{SKU: ptr("TSHIRT-RED-M"), OptionValues: map[string]string{"Color": "Red", "Size": "M"}, Price: ptr(int64(1999))},
			{SKU: ptr("TSHIRT-BLUE-L"), OptionValues: map[string]string{"Color": "Blue", "Size": "L"}, Price: ptr(int64(2099))},
		},
	}
}

// dialects runs a test on PostgreSQL and on the embedded default's SQLite.
func dialects(t *testing.T, test func(t *testing.T, e env)) {
	for name, open := range map[string]func(testing.TB) *database.DB{"postgres": dbtest.Postgres, "sqlite": dbtest.SQLite} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, newEnv(t, open(t)))
		})
	}
}

func TestCreateProduct(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, e env) {
		p, err := e.svc.CreateProduct(e.ctx, tshirt())
		if err != nil {
			t.Fatal(err)
		}
		if p.Handle != "classic-t-shirt" || p.Status != "active" || len(p.Variants) != 2 || len(p.Options) != 2 {
			t.Fatalf("unexpected product %+v", p)
		}
		if strings.Contains(p.DescriptionHTML, "script") || !strings.Contains(p.DescriptionHTML, "<b>cotton</b>") {
			t.Fatalf("description not sanitized: %q", p.DescriptionHTML)
		}
		v := p.Variants[0]
		if v.Title != "Red / M" || v.OptionValues["Size"] != "M" || v.Price != 1999 || v.Currency != "USD" {
			t.Fatalf("unexpected variant %+v", v)
		}
		again, err := e.svc.CreateProduct(e.ctx, catalog.ProductInput{Title: ptr("Classic T-Shirt"), Variants: []catalog.VariantInput{{SKU: ptr("OTHER"), Price: ptr(int64(1))}}})
		if err != nil || again.Handle != "classic-t-shirt-2" || again.Variants[0].Title != "Default Title" {
			t.Fatalf("second product %+v, %v", again, err)
		}
		bySKU, err := e.svc.VariantBySKU(e.ctx, "TSHIRT-BLUE-L")
		if err != nil || bySKU.ProductID != p.ID {
			t.Fatalf("VariantBySKU = %+v, %v", bySKU, err)
		}
		byHandle, err := e.svc.ProductByHandle(e.ctx, "classic-t-shirt")
		if err != nil || byHandle.ID != p.ID {
			t.Fatalf("ProductByHandle = %+v, %v", byHandle, err)
		}
	})
}

func TestCreateProductRejectsBadInput(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, e env) {
		if _, err := e.svc.CreateProduct(e.ctx, tshirt()); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name  string
			edit  func(*catalog.ProductInput)
			code  apperr.Code
			field string
		}{
			{"long title", func(in *catalog.ProductInput) { in.Title = ptr(strings.Repeat("x", 256)) }, apperr.Invalid, "title"},
			{"four options", func(in *catalog.ProductInput) {
				in.Options = ptr([]catalog.OptionInput{{"A", []string{"1"}}, {"B", []string{"1"}}, {"C", []string{"1"}}, {"D", []string{"1"}}})
			}, apperr.Invalid, "options"},
			{"duplicate combination", func(in *catalog.ProductInput) {
				in.Variants[1].OptionValues = map[string]string{"Color": "Red", "Size": "M"}
			}, apperr.Invalid, "variants[1].option_values"},
			{"value not declared", func(in *catalog.ProductInput) {
				in.Variants[0].OptionValues = map[string]string{"Color": "Green", "Size": "M"}
			}, apperr.Invalid, "variants[0].option_values"},
			{"negative price", func(in *catalog.ProductInput) { in.Variants[0].Price = ptr(int64(-1)) }, apperr.Invalid, "variants[0].price"},
			{"SKU with a space", func(in *catalog.ProductInput) { in.Variants[0].SKU = ptr("TS HIRT") }, apperr.Invalid, "variants[0].sku"},
			{"SKU too long", func(in *catalog.ProductInput) { in.Variants[0].SKU = ptr(strings.Repeat("X", 65)) }, apperr.Invalid, "variants[0].sku"},
			{"too many variants", func(in *catalog.ProductInput) { in.Variants = make([]catalog.VariantInput, 2049) }, apperr.PayloadTooLarge, "variants"},
			{"SKU taken", func(in *catalog.ProductInput) { in.Title = ptr("Other") }, apperr.Conflict, "variants[0].sku"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := tshirt()
				tt.edit(&in)
				_, err := e.svc.CreateProduct(e.ctx, in)
				ae := apperr.From(err)
				if ae.Code != tt.code || len(ae.Fields) == 0 || ae.Fields[0].Field != tt.field {
					t.Fatalf("got %v %+v, want %s naming %s", ae.Code, ae.Fields, tt.code, tt.field)
				}
				if tt.code == apperr.Conflict && !strings.Contains(ae.Message, "TSHIRT-RED-M") {
					t.Fatalf("conflict does not name the SKU: %q", ae.Message)
				}
			})
		}
		page, err := e.svc.Products(e.ctx, catalog.ListFilter{}, paging.Page{Limit: 50})
		if err != nil || len(page.Products) != 1 {
			t.Fatalf("rejected creates wrote something: %d products, %v", len(page.Products), err)
		}
	})
}

func TestWritesAreNeverServedStale(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, e env) {
		p, err := e.svc.CreateProduct(e.ctx, tshirt())
		if err != nil {
			t.Fatal(err)
		}
		// Warm both caches.
		if _, err := e.svc.Product(e.ctx, mustID(p.ID)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Products(e.ctx, catalog.ListFilter{}, paging.Page{Limit: 10}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.UpdateProduct(e.ctx, mustID(p.ID), catalog.ProductInput{Title: ptr("Renamed Tee")}); err != nil {
			t.Fatal(err)
		}
		got, _ := e.svc.Product(e.ctx, mustID(p.ID))
		list, _ := e.svc.Products(e.ctx, catalog.ListFilter{}, paging.Page{Limit: 10})
		if got.Title != "Renamed Tee" || list.Products[0].Title != "Renamed Tee" {
			t.Fatalf("stale read after write: detail %q, list %q", got.Title, list.Products[0].Title)
		}
		if _, err := e.svc.UpdateVariant(e.ctx, mustID(p.Variants[0].ID), catalog.VariantInput{Price: ptr(int64(2500))}); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.svc.Product(e.ctx, mustID(p.ID)); got.Variants[0].Price != 2500 {
			t.Fatalf("stale variant price %d", got.Variants[0].Price)
		}
		if err := e.svc.DeleteProduct(e.ctx, mustID(p.ID)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Product(e.ctx, mustID(p.ID)); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("deleted product still served: %v", err)
		}
	})
}

// TestReplicasNeverServeStale runs two catalog services on one PostgreSQL database and
// one Redis, as two replicas do. Each keeps local copies of what it read; a write on one
// must still be seen at once by the other, through every cached read.
func TestReplicasNeverServeStale(t *testing.T) {
	t.Parallel()
	rdb := kvtest.Redis(t)
	db := dbtest.Postgres(t)
	e := newEnv(t, db)
	one := catalog.NewService(db, kv.NewRedis(rdb), nil, 0)
	two := catalog.NewService(db, kv.NewRedis(rdb), nil, 0)
	p, err := one.CreateProduct(e.ctx, tshirt())
	if err != nil {
		t.Fatal(err)
	}
	id := mustID(p.ID)
	read := func(svc *catalog.Service) (detail, byHandle, inList, found string, price int64) {
		t.Helper()
		d, err := svc.Product(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		h, err := svc.ProductByHandle(e.ctx, "classic-t-shirt")
		if err != nil {
			t.Fatal(err)
		}
		l, err := svc.Products(e.ctx, catalog.ListFilter{}, paging.Page{Limit: 10})
		if err != nil || len(l.Products) != 1 {
			t.Fatalf("list = %+v, %v", l, err)
		}
		sr, err := svc.Search(e.ctx, "TSHIRT-RED-M", 10, "")
		if err != nil || len(sr.Products) != 1 {
			t.Fatalf("search = %+v, %v", sr, err)
		}
		v, err := svc.VariantBySKU(e.ctx, "TSHIRT-RED-M")
		if err != nil {
			t.Fatal(err)
		}
		return d.Title, h.Title, l.Products[0].Title, sr.Products[0].Title, v.Price
	}
	for range 2 { // the second round is served from both replicas' caches
		read(one)
		read(two)
	}
	if _, err := two.UpdateProduct(e.ctx, id, catalog.ProductInput{Title: ptr("Renamed Tee")}); err != nil {
		t.Fatal(err)
	}
	if _, err := two.UpdateVariant(e.ctx, mustID(p.Variants[0].ID), catalog.VariantInput{Price: ptr(int64(2500))}); err != nil {
		t.Fatal(err)
	}
	detail, byHandle, inList, found, price := read(one)
	for what, title := range map[string]string{"detail": detail, "by handle": byHandle, "list": inList, "search": found} {
		if title != "Renamed Tee" {
			t.Errorf("the other replica's %s is stale: %q", what, title)
		}
	}
	if price != 2500 {
		t.Errorf("the other replica's variant by SKU is stale: price %d", price)
	}
}

func TestSearch(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, e env) {
		hoodie, err := e.svc.CreateProduct(e.ctx, catalog.ProductInput{Title: ptr("Zip Hoodie"), Vendor: ptr("Northwind"),
			Variants: []catalog.VariantInput{{SKU: ptr("HOOD-1"), Price: ptr(int64(5000))}}})
		if err != nil {
			t.Fatal(err)
		}
		tee, err := e.svc.CreateProduct(e.ctx, tshirt())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CreateProduct(e.ctx, catalog.ProductInput{Title: ptr("Tshirt Gift Card"), Tags: ptr([]string{"TSHIRT-RED-M"}),
			Variants: []catalog.VariantInput{{SKU: ptr("GIFT"), Price: ptr(int64(1000))}}}); err != nil {
			t.Fatal(err)
		}
		first := func(q string) string {
			t.Helper()
			page, err := e.svc.Search(e.ctx, q, 10, "")
			if err != nil {
				t.Fatalf("Search(%q): %v", q, err)
			}
			if len(page.Products) == 0 {
				return ""
			}
			return page.Products[0].ID
		}
		if got := first("hoodie"); got != hoodie.ID {
			t.Errorf("hoodie found %q", got)
		}
		if got := first("northwind"); got != hoodie.ID {
			t.Errorf("vendor search found %q", got)
		}
		if got := first("TSHIRT-RED-M"); got != tee.ID {
			t.Errorf("exact SKU did not rank first: %q", got)
		}
		if got := first("TSHIRT"); got == "" {
			t.Error("SKU prefix found nothing")
		}
		if e.db.Dialect == "postgres" {
			if got := first("hodie"); got != hoodie.ID {
				t.Errorf("typo did not find the hoodie: %q", got)
			}
		}
		if _, err := e.svc.Search(e.ctx, "  ", 10, ""); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("empty query: %v", err)
		}
		// Paging walks every result once.
		seen := map[string]bool{}
		after := ""
		for {
			page, err := e.svc.Search(e.ctx, "tshirt", 1, after)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page.Products {
				if seen[p.ID] {
					t.Fatalf("%s returned twice", p.ID)
				}
				seen[p.ID] = true
			}
			if !page.HasMore {
				break
			}
			after = page.EndCursor
		}
		if len(seen) != 2 {
			t.Errorf("paging found %d products for tshirt, want 2", len(seen))
		}
	})
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, e env) {
		if _, err := e.svc.CreateProduct(e.ctx, tshirt()); err != nil {
			t.Fatal(err)
		}
		draft := product.StatusDraft
		if _, err := e.svc.CreateProduct(e.ctx, catalog.ProductInput{Title: ptr("Mug"), Status: &draft, Vendor: ptr("Other"),
			Variants: []catalog.VariantInput{{SKU: ptr("MUG"), Price: ptr(int64(900))}}}); err != nil {
			t.Fatal(err)
		}
		count := func(f catalog.ListFilter) int {
			page, err := e.svc.Products(e.ctx, f, paging.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			return len(page.Products)
		}
		if n := count(catalog.ListFilter{Status: &draft}); n != 1 {
			t.Errorf("status=draft: %d", n)
		}
		if n := count(catalog.ListFilter{Vendor: ptr("Acme")}); n != 1 {
			t.Errorf("vendor=Acme: %d", n)
		}
		if n := count(catalog.ListFilter{Tag: ptr("cotton")}); n != 1 {
			t.Errorf("tag=cotton: %d", n)
		}
		if n := count(catalog.ListFilter{UpdatedAfter: ptr("2000-01-01T00:00:00Z")}); n != 2 {
			t.Errorf("updated_after: %d", n)
		}
	})
}

func mustID(s string) pulid.ID { return pulid.ID(s) }
