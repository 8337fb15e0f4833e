package imports

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/importjob"
	"github.com/mercantile/mercantile/ent/importrowerror"
	"github.com/mercantile/mercantile/ent/inventorylevel"
	"github.com/mercantile/mercantile/ent/inventorymovement"
	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/ent/productimage"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/pulid"
)

const fixtures = "../../testdata/shopify"

// fixturePath finds the shared Shopify fixtures from this package's directory.
func fixturePath(tb testing.TB, name string) string {
	tb.Helper()
	for _, dir := range []string{os.Getenv("SHOPIFY_FIXTURES"), fixtures} {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	tb.Skipf("fixture %s not found (set SHOPIFY_FIXTURES)", name)
	return ""
}

type env struct {
	db  *database.DB
	svc *Service
	inv *inventory.Service
	ctx context.Context
	mid pulid.ID
}

// newEnv returns the import service on db and a new merchant's secret-key context.
func newEnv(tb testing.TB, db *database.DB) *env {
	tb.Helper()
	store := kv.NewMemory()
	cat := catalog.NewService(db, store, nil, 0)
	inv := inventory.NewService(db, store, cat, nil)
	svc := NewService(db, NewDirStore(tb.TempDir()))
	svc.Register(KindShopifyProducts, NewProductImporter(db.Client, cat, inv))
	svc.Register(KindInventory, NewInventoryImporter(inv))
	m := db.Client.Merchant.Create().SetName("Shop").SetHandle("shop-" + pulid.New("t").String()).
		SaveX(viewer.SystemContext(context.Background()))
	ctx := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: m.ID, ActorID: "key_t", Role: viewer.RoleOwner})
	return &env{db: db, svc: svc, inv: inv, ctx: ctx, mid: m.ID}
}

// dialects runs test on PostgreSQL and SQLite.
func dialects(t *testing.T, test func(t *testing.T, open func(testing.TB) *database.DB)) {
	for name, open := range map[string]func(testing.TB) *database.DB{"postgres": dbtest.Postgres, "sqlite": dbtest.SQLite} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, open)
		})
	}
}

// run imports body as kind and returns the finished job.
func (e *env) run(tb testing.TB, kind string, body []byte, mod func(*CreateInput)) *ent.ImportJob {
	tb.Helper()
	in := CreateInput{Kind: kind, Filename: "file.csv", File: bytes.NewReader(body)}
	if mod != nil {
		mod(&in)
	}
	job, err := e.svc.Create(e.ctx, in, false)
	if err != nil {
		tb.Fatal(err)
	}
	job, err = e.svc.Run(e.ctx, job.ID, RunOptions{})
	if err != nil {
		tb.Fatal(err, errors.Unwrap(err))
	}
	return job
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(fixturePath(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

type counts struct{ products, variants, images int }

func (e *env) counts(tb testing.TB) counts {
	tb.Helper()
	c := e.db.Client
	return counts{
		products: c.Product.Query().CountX(e.ctx),
		variants: c.Variant.Query().CountX(e.ctx),
		images:   c.ProductImage.Query().CountX(e.ctx),
	}
}

// lastUpdate is the latest updated_at of the merchant's products, variants and images.
func (e *env) lastUpdate(tb testing.TB) time.Time {
	tb.Helper()
	var latest time.Time
	for _, p := range e.db.Client.Product.Query().WithVariants().WithImages().WithOptions().AllX(e.ctx) {
		ts := []time.Time{p.UpdatedAt}
		for _, v := range p.Edges.Variants {
			ts = append(ts, v.UpdatedAt)
		}
		for _, i := range p.Edges.Images {
			ts = append(ts, i.UpdatedAt)
		}
		for _, o := range p.Edges.Options {
			ts = append(ts, o.UpdatedAt)
		}
		for _, t := range ts {
			if t.After(latest) {
				latest = t
			}
		}
	}
	return latest
}

func checkJob(tb testing.TB, job *ent.ImportJob, status importjob.Status, total, imported, skipped, rejected int) {
	tb.Helper()
	if job.Status != status || job.RowsTotal != total || job.RowsImported != imported || job.RowsSkipped != skipped || job.RowsRejected != rejected {
		tb.Fatalf("job %s: status %s total %d imported %d skipped %d rejected %d (error %q); want %s %d %d %d %d",
			job.ID, job.Status, job.RowsTotal, job.RowsImported, job.RowsSkipped, job.RowsRejected, job.Error,
			status, total, imported, skipped, rejected)
	}
	if job.RowsTotal != job.RowsImported+job.RowsSkipped+job.RowsRejected {
		tb.Fatalf("accounting broken: %+v", job)
	}
}

// The expected figures were counted by reading each file: data records, distinct
// handles, rows with an option value, SKU or price, and distinct image URLs per product.
var productFixtures = []struct {
	file                             string
	rows, products, variants, images int
}{
	{"product_template_2024_legacy_headers.csv", 17, 3, 16, 11},
	{"product_template_2025_new_headers.csv", 15, 2, 15, 1},
	{"shopifypartners_jewelery.csv", 41, 20, 23, 41},
	{"shopifypartners_apparel.csv", 22, 20, 22, 20},
	{"packt_products_export_2021.csv", 21, 20, 21, 21},
	{"anfas_al_anoud_products_export_arabic.csv", 41, 41, 41, 41},
}

func TestProductFixtures(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func(testing.TB) *database.DB) {
		db := open(t)
		for _, fx := range productFixtures {
			t.Run(fx.file, func(t *testing.T) {
				e := newEnv(t, db)
				body := readFixture(t, fx.file)
				job := e.run(t, "shopify_products", body, nil)
				checkJob(t, job, importjob.StatusSucceeded, fx.rows, fx.rows, 0, 0)
				want := counts{fx.products, fx.variants, fx.images}
				if got := e.counts(t); got != want {
					t.Fatalf("counts %+v, want %+v", got, want)
				}
				before := e.lastUpdate(t)

				again := e.run(t, "shopify_products", body, nil)
				checkJob(t, again, importjob.StatusSucceeded, fx.rows, 0, fx.rows, 0)
				if got := e.counts(t); got != want {
					t.Fatalf("after re-import counts %+v, want %+v", got, want)
				}
				if after := e.lastUpdate(t); !after.Equal(before) {
					t.Fatalf("re-import changed rows: updated_at %v -> %v", before, after)
				}
			})
		}
	})
}

func TestProductFields(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func(testing.TB) *database.DB) {
		e := newEnv(t, open(t))
		e.run(t, "shopify_products", readFixture(t, "product_template_2024_legacy_headers.csv"), nil)
		shirt := e.db.Client.Product.Query().Where(product.Handle("example-shirt")).WithOptions().OnlyX(e.ctx)
		if shirt.Title != "Example T-Shirt" || shirt.Status != product.StatusActive || len(shirt.Edges.Options) != 2 {
			t.Fatalf("shirt %+v options %+v", shirt, shirt.Edges.Options)
		}
		hat := e.db.Client.Product.Query().Where(product.Handle("example-hat")).WithVariants().WithOptions().OnlyX(e.ctx)
		if hat.Status != product.StatusArchived || len(hat.Edges.Options) != 0 || hat.Edges.Variants[0].Title != "Default Title" || hat.Edges.Variants[0].Price != 1799 {
			t.Fatalf("hat %+v %+v", hat, hat.Edges.Variants)
		}
		pants := e.db.Client.Variant.Query().Where(variant.Sku("PNT_DEN_285")).OnlyX(e.ctx)
		if pants.WeightGrams != 227 {
			t.Fatalf("fractional grams: %d", pants.WeightGrams)
		}
		// Stock columns went to the merchant's default warehouse, through the ledger.
		lvl := e.db.Client.InventoryLevel.Query().Where(inventorylevel.VariantID(pants.ID)).OnlyX(e.ctx)
		if lvl.OnHand != 20 {
			t.Fatalf("on hand %d", lvl.OnHand)
		}
		if n := e.db.Client.InventoryMovement.Query().Where(inventorymovement.ReasonEQ(inventorymovement.ReasonImport)).CountX(e.ctx); n != 4 {
			t.Fatalf("import movements %d, want 4 (20, 15, 10, 50)", n)
		}

		e2 := newEnv(t, e.db)
		e2.run(t, "shopify_products", readFixture(t, "product_template_2025_new_headers.csv"), nil)
		tee := e2.db.Client.Product.Query().Where(product.HandleHasPrefix("physical-product")).WithOptions().OnlyX(e2.ctx)
		if tee.Status != product.StatusActive || len(tee.Edges.Options) != 2 || !strings.Contains(tee.Title, "“") {
			t.Fatalf("2025 product %+v", tee)
		}

		e3 := newEnv(t, e.db)
		e3.run(t, "shopify_products", readFixture(t, "packt_products_export_2021.csv"), nil)
		lamp := e3.db.Client.Product.Query().Where(product.Handle("floor-lamp")).OnlyX(e3.ctx)
		if strings.Contains(lamp.DescriptionHTML, "<script") || lamp.DescriptionHTML == "" {
			t.Fatalf("description %q", lamp.DescriptionHTML)
		}

		e4 := newEnv(t, e.db)
		e4.run(t, "shopify_products", readFixture(t, "anfas_al_anoud_products_export_arabic.csv"), nil)
		if _, err := e4.db.Client.Product.Query().Where(product.Handle("لوشن-العنود")).Only(e4.ctx); err != nil {
			t.Fatalf("Arabic handle: %v", err)
		}
	})
}

// variantImages maps each SKU of the merchant to the source URL of its variant's image
// ("" for none), checking that every linked image belongs to the variant's product.
func (e *env) variantImages(tb testing.TB) map[string]string {
	tb.Helper()
	got := map[string]string{}
	for _, v := range e.db.Client.Variant.Query().WithImage().AllX(e.ctx) {
		got[v.Sku] = ""
		if img := v.Edges.Image; img != nil {
			if img.ProductID != v.ProductID {
				tb.Fatalf("variant %s shows image %s of another product", v.Sku, img.ID)
			}
			got[v.Sku] = img.SourceURL
		}
	}
	return got
}

// TestVariantImage: Shopify's Variant Image links a variant to the product image with
// that URL, in both dialects; re-importing the file changes nothing.
func TestVariantImage(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func(testing.TB) *database.DB) {
		db := open(t)
		t.Run("OK legacy fixture", func(t *testing.T) {
			e := newEnv(t, db)
			body := readFixture(t, "product_template_2024_legacy_headers.csv")
			e.run(t, "shopify_products", body, nil)
			const photos = "https://burst.shopifycdn.com/photos/"
			got := e.variantImages(t)
			// Each row's Variant Image, from the file; only SRT_COT_133 and SRT_COT_211
			// name the image of their own row's Image Src.
			want := map[string]string{
				"SRT_COT_111": photos + "green-t-shirt.jpg?width=1500",
				"SRT_COT_122": photos + "green-t-shirt.jpg?width=1500",
				"SRT_COT_133": photos + "green-t-shirt.jpg?width=1500",
				"SRT_COT_211": photos + "cobalt-blue-t-shirt.jpg?width=1500",
				"SRT_COT_222": photos + "cobalt-blue-t-shirt.jpg?width=1500",
				"SRT_COT_233": photos + "cobalt-blue-t-shirt.jpg?width=1500",
				"SRT_COT_311": photos + "grey-t-shirt.jpg?width=1500",
				"SRT_COT_322": photos + "grey-t-shirt.jpg?width=1500",
				"SRT_COT_333": photos + "grey-t-shirt.jpg?width=1500",
				"SRT_COT_411": photos + "purple-t-shirt.jpg?width=1500",
				"SRT_COT_422": photos + "purple-t-shirt.jpg?width=1500",
				"SRT_COT_433": photos + "purple-t-shirt.jpg?width=1500",
				"PNT_DEN_285": photos + "fashion-model-walks-down-city-street.jpg?width=1500",
				"PNT_DEN_305": photos + "woman-puts-hand-in-pocket.jpg?width=1500",
				"PNT_DEN_405": photos + "female-fashion-model-poses-in-city-street.jpg?width=1500",
				"HAT_GRY_275": "",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("variant images by SKU (-want +got):\n%s", diff)
			}
			if c := e.counts(t); c.images != 11 {
				t.Fatalf("%d images, want the file's 11: variant images are among them", c.images)
			}
			before := e.lastUpdate(t)
			again := e.run(t, "shopify_products", body, nil)
			checkJob(t, again, importjob.StatusSucceeded, 17, 0, 17, 0)
			if e.counts(t).images != 11 || !e.lastUpdate(t).Equal(before) {
				t.Fatalf("re-import wrote: %+v", e.counts(t))
			}
			if diff := cmp.Diff(want, e.variantImages(t)); diff != "" {
				t.Fatalf("after re-import (-want +got):\n%s", diff)
			}
		})

		const header = "URL handle,Title,Option1 name,Option1 value,SKU,Price,Product image URL,Variant image URL\n"
		const cdn = "https://cdn.example.com/"
		t.Run("OK 2025 dialect adds unknown images last", func(t *testing.T) {
			e := newEnv(t, db)
			body := header +
				"mug,Mug,Color,Red,MUG-R,5," + cdn + "all.jpg," + cdn + "blue.jpg\n" + // an image of a later row
				"mug,,,Blue,MUG-B,5,," + cdn + "green.jpg\n" + // no Image Src has it: added last
				"mug,,,Green,MUG-G,5," + cdn + "blue.jpg,\n" +
				"mug,,,White,MUG-W,5,," + cdn + "green.jpg\n" // the same new image, added once
			job := e.run(t, "shopify_products", []byte(body), nil)
			checkJob(t, job, importjob.StatusSucceeded, 4, 4, 0, 0)
			want := map[string]string{"MUG-R": cdn + "blue.jpg", "MUG-B": cdn + "green.jpg", "MUG-G": "", "MUG-W": cdn + "green.jpg"}
			if diff := cmp.Diff(want, e.variantImages(t)); diff != "" {
				t.Fatalf("variant images (-want +got):\n%s", diff)
			}
			var order []string
			for _, img := range e.db.Client.ProductImage.Query().Order(ent.Asc(productimage.FieldPosition)).AllX(e.ctx) {
				order = append(order, img.SourceURL)
			}
			if diff := cmp.Diff([]string{cdn + "all.jpg", cdn + "blue.jpg", cdn + "green.jpg"}, order); diff != "" {
				t.Fatalf("images in position order (-want +got):\n%s", diff)
			}
			again := e.run(t, "shopify_products", []byte(body), nil)
			checkJob(t, again, importjob.StatusSucceeded, 4, 0, 4, 0)
			if n := e.counts(t).images; n != 3 {
				t.Fatalf("re-import added images: %d", n)
			}

			// With the column an empty cell unlinks; without it the link stays.
			job = e.run(t, "shopify_products", []byte(header+"mug,Mug,Color,Red,MUG-R,5,"+cdn+"all.jpg,\n"), nil)
			checkJob(t, job, importjob.StatusSucceeded, 1, 1, 0, 0)
			job = e.run(t, "shopify_products", []byte("URL handle,Title,Option1 name,Option1 value,SKU,Price\nmug,Mug,Color,Blue,MUG-B,5\n"), nil)
			checkJob(t, job, importjob.StatusSucceeded, 1, 0, 1, 0)
			if got := e.variantImages(t); got["MUG-R"] != "" || got["MUG-B"] != cdn+"green.jpg" {
				t.Fatalf("after the partial files: %v", got)
			}
		})

		t.Run("ErrBadURL", func(t *testing.T) {
			e := newEnv(t, db)
			body := header +
				"cap,Cap,Size,S,CAP-S,5,," + cdn + "s.jpg\n" +
				"cap,,,M,CAP-M,5,,ftp://cdn.example.com/m.jpg\n" +
				"cap,,,L,CAP-L,5,,/relative.jpg\n"
			job := e.run(t, "shopify_products", []byte(body), nil)
			checkJob(t, job, importjob.StatusSucceeded, 3, 1, 0, 2)
			_, errs, _, err := e.svc.Job(e.ctx, job.ID, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			type rowError struct {
				Row             int
				Column, Message string
			}
			var got []rowError
			for _, re := range errs {
				got = append(got, rowError{re.Row, re.Column, re.Message})
			}
			const rule = "must be an http or https URL of at most 2048 characters"
			if diff := cmp.Diff([]rowError{{3, "Variant image URL", rule}, {4, "Variant image URL", rule}}, got); diff != "" {
				t.Fatalf("row errors (-want +got):\n%s", diff)
			}
			if got := e.variantImages(t); len(got) != 1 || got["CAP-S"] != cdn+"s.jpg" {
				t.Fatalf("variants %v", got)
			}
		})
	})
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func(testing.TB) *database.DB) {
		e := newEnv(t, open(t))
		job := e.run(t, "shopify_products", readFixture(t, "product_template_2024_legacy_headers.csv"), func(in *CreateInput) { in.DryRun = true })
		checkJob(t, job, importjob.StatusSucceeded, 17, 17, 0, 0)
		if got := e.counts(t); got != (counts{}) {
			t.Fatalf("dry run wrote %+v", got)
		}
		if n := e.db.Client.Warehouse.Query().CountX(e.ctx) + e.db.Client.InventoryMovement.Query().CountX(e.ctx); n != 0 {
			t.Fatalf("dry run wrote %d warehouses and movements", n)
		}
	})
}

const legacyHeader = "Handle,Title,Body (HTML),Vendor,Type,Tags,Published,Option1 Name,Option1 Value,Variant SKU,Variant Price,Image Src\r\n"

func TestFileErrors(t *testing.T) {
	t.Parallel()
	big := legacyHeader + "big,Big,\"" + strings.Repeat("x", 10<<20) + "\",,,,TRUE,Title,Default Title,BIG,1,\r\n"
	cases := []struct {
		name, body, want string
	}{
		{"empty", "", "empty"},
		{"binary", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"},
		{"not CSV", "hello world, this is prose\nnothing else\n", "not a Shopify product CSV"},
		{"missing columns", "Handle,Vendor\nx,y\n", `"Title"`},
		{"Latin-1", legacyHeader + "cafe,Caf\xe9,,,,,TRUE,Title,Default Title,CAFE,1,\r\n", "not UTF-8"},
		{"broken quotes", legacyHeader + "a,A,\"unterminated,,,,TRUE,Title,Default Title,A,1,\r\nb,B,,,,,TRUE,Title,Default Title,B,1,\r\n", "not valid CSV"},
		{"bare quote", legacyHeader + "a,A \"quoted\" here,,,,,TRUE,Title,Default Title,A,1,\r\n", "row 2"},
		{"10 MB cell", big, "larger than"},
		{"late error", legacyHeader + "a,A,,,,,TRUE,Title,Default Title,A,1,\r\nb,B\xff,,,,,TRUE,Title,Default Title,B,1,\r\n", "row 3"},
	}
	dialects(t, func(t *testing.T, open func(testing.TB) *database.DB) {
		db := open(t)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, db)
				job := e.run(t, "shopify_products", []byte(tc.body), nil)
				if job.Status != importjob.StatusFailed || !strings.Contains(job.Error, tc.want) {
					t.Fatalf("status %s error %q, want failed with %q", job.Status, job.Error, tc.want)
				}
				if job.RowsTotal != 0 || e.counts(t) != (counts{}) {
					t.Fatalf("a file-level failure wrote: job %+v counts %+v", job, e.counts(t))
				}
				if n := e.db.Client.ImportRowError.Query().CountX(e.ctx); n != 0 {
					t.Fatalf("%d row errors", n)
				}
			})
		}
	})
}

func TestBOMAndLineEndings(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func(testing.TB) *database.DB) {
		e := newEnv(t, open(t))
		body := "\xEF\xBB\xBF" + legacyHeader + "a,A,\"<p>two\r\nlines</p>\",,,,TRUE,Title,Default Title,A-1,1.50,\r\nb,B,,,,,TRUE,Title,Default Title,B-1,2,"
		job := e.run(t, "shopify_products", []byte(body), nil)
		checkJob(t, job, importjob.StatusSucceeded, 2, 2, 0, 0)
		lf := strings.ReplaceAll(body, "\r\n", "\n")
		again := e.run(t, "shopify_products", []byte(lf), nil)
		// encoding/csv reads CRLF inside a quoted cell as LF: the same file either way.
		checkJob(t, again, importjob.StatusSucceeded, 2, 0, 2, 0)
	})
}

func TestRowRejections(t *testing.T) {
	t.Parallel()
	header := "Handle,Title,Option1 Name,Option1 Value,Option2 Name,Option2 Value,Variant SKU,Variant Price,Image Src,Status\n"
	body := header +
		"shirt,Shirt,Color,Red,Size,M,SH-RM,10.00,https://cdn.example.com/a.jpg,Active\n" + // 2 ok
		"shirt,,,Red,,L,SH-RL,abc,,\n" + // 3 bad price
		"shirt,,,Red,,M,SH-DUP,10,,\n" + // 4 duplicate combination
		"shirt,,,Blue,,M,SH BM,10,,\n" + // 5 SKU with a space
		"shirt,,,Blue,,L," + strings.Repeat("X", 65) + ",10,,\n" + // 6 SKU too long
		"shirt,,,Blue,,S,SH-BS,10,,\n" + // 7 ok
		"shirt,,,,,,,,https://cdn.example.com/b.jpg,\n" + // 8 image-only
		"shirt,,,,,,,,ftp://x/c.jpg,\n" + // 9 bad image URL
		"ghost,Ghost,Title,Default Title,,,GH,free,,\n" + // 10 bad price: product not created
		"ghost,,,,,,,,https://cdn.example.com/g.jpg,\n" + // 11 image of a product not created
		",NoHandle,Title,Default Title,,,NH,1,,\n" + // 12 no handle
		"hat,Hat,Title,Default Title,,,SH-RM,5,,bogus\n" + // 13 bad status
		"cap,Cap,Title,Default Title,,,SH-RM,5,,draft\n" // 14 SKU of another product
	dialects(t, func(t *testing.T, open func(testing.TB) *database.DB) {
		e := newEnv(t, open(t))
		job := e.run(t, "shopify_products", []byte(body), nil)
		checkJob(t, job, importjob.StatusSucceeded, 13, 3, 0, 10)
		_, errs, total, err := e.svc.Job(e.ctx, job.ID, 0, 100)
		if err != nil || total != 10 {
			t.Fatalf("%d errors, %v", total, err)
		}
		got := map[int]string{}
		for _, re := range errs {
			got[re.Row] = re.Column
		}
		want := map[int]string{3: "Variant Price", 4: "Option1 Value", 5: "Variant SKU", 6: "Variant SKU", 9: "Image Src",
			10: "Variant Price", 11: "", 12: "Handle", 13: "Status", 14: "Variant SKU"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("rejected rows and columns (-want +got):\n%s", diff)
		}
		if n := e.db.Client.Product.Query().Where(product.Handle("ghost")).CountX(e.ctx); n != 0 {
			t.Fatal("a product whose every variant row was rejected was created")
		}
		shirt := e.db.Client.Product.Query().Where(product.Handle("shirt")).WithVariants().WithImages().OnlyX(e.ctx)
		if len(shirt.Edges.Variants) != 2 || len(shirt.Edges.Images) != 2 {
			t.Fatalf("shirt has %d variants, %d images", len(shirt.Edges.Variants), len(shirt.Edges.Images))
		}
		if n := e.db.Client.ImportRowError.Query().Where(importrowerror.ImportJobID(job.ID)).CountX(e.ctx); n != 10 {
			t.Fatalf("%d row errors stored", n)
		}
	})
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func(testing.TB) *database.DB) {
		e := newEnv(t, open(t))
		header := "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price\n"
		e.run(t, "shopify_products", []byte(header+"mug,Mug,Size,S,MUG-S,5\nmug,,,L,MUG-L,7\n"), nil)
		job := e.run(t, "shopify_products", []byte(header+"mug,Mug,Size,S,MUG-S,6\nmug,,,L,MUG-L,7\nmug,,,XL,MUG-XL,9\n"), nil)
		checkJob(t, job, importjob.StatusSucceeded, 3, 2, 1, 0)
		s := e.db.Client.Variant.Query().Where(variant.Sku("MUG-S")).OnlyX(e.ctx)
		opts := e.db.Client.ProductOption.Query().OnlyX(e.ctx)
		if s.Price != 600 || e.db.Client.Variant.Query().CountX(e.ctx) != 3 || len(opts.Values) != 3 {
			t.Fatalf("price %d, options %v", s.Price, opts.Values)
		}
	})
}

func TestResume(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func(testing.TB) *database.DB) {
		db := open(t)
		body := readFixture(t, "shopifypartners_jewelery.csv")
		e := newEnv(t, db)
		e.svc.SetBatchSize(3)
		job, err := e.svc.Create(e.ctx, CreateInput{Kind: "shopify_products", Filename: "j.csv", File: bytes.NewReader(body)}, false)
		if err != nil {
			t.Fatal(err)
		}
		crashed, err := e.svc.Run(e.ctx, job.ID, RunOptions{stopAfter: 2})
		if !errors.Is(err, errStopped) {
			t.Fatalf("run: %v", err)
		}
		if crashed.Status != importjob.StatusRunning || crashed.LastRow == 0 || crashed.RowsTotal == 0 || crashed.RowsTotal >= 41 {
			t.Fatalf("after the crash: %+v", crashed)
		}
		if got := e.counts(t); got.products != 6 {
			t.Fatalf("after two batches of 3 products: %+v", got)
		}
		done, err := e.svc.Run(e.ctx, job.ID, RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkJob(t, done, importjob.StatusSucceeded, 41, 41, 0, 0)
		if got := e.counts(t); got != (counts{20, 23, 41}) {
			t.Fatalf("after resuming: %+v", got)
		}
	})
}

func TestInventoryCSV(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func(testing.TB) *database.DB) {
		e := newEnv(t, open(t))
		e.run(t, "shopify_products", readFixture(t, "product_template_2024_legacy_headers.csv"), nil)
		e.db.Client.Warehouse.Create().SetCode("W2").SetName("Second").SaveX(e.ctx)
		hat := e.db.Client.Variant.Query().Where(variant.Sku("HAT_GRY_275")).OnlyX(e.ctx)
		// 5 of the hat's 50 are reserved for an order.
		e.db.Client.InventoryLevel.Update().Where(inventorylevel.VariantID(hat.ID)).SetReserved(5).ExecX(e.ctx)
		body := "sku,warehouse_code,on_hand\n" +
			"PNT_DEN_285,W2,7\n" + // 2 set
			"PNT_DEN_285,default,20\n" + // 3 unchanged
			"NOPE,W2,1\n" + // 4 unknown SKU
			"PNT_DEN_305,NOWHERE,1\n" + // 5 unknown warehouse
			"PNT_DEN_305,W2,-1\n" + // 6 bad figure
			"HAT_GRY_275,default,3\n" + // 7 below reserved
			"HAT_GRY_275,default,40\n" // 8 set
		job := e.run(t, "inventory", []byte(body), nil)
		checkJob(t, job, importjob.StatusSucceeded, 7, 2, 1, 4)
		st, err := e.inv.Stock(e.ctx, "HAT_GRY_275")
		if err != nil || st.OnHand != 40 || st.Reserved != 5 {
			t.Fatalf("hat stock %+v %v", st, err)
		}
		again := e.run(t, "inventory", []byte(body), nil)
		checkJob(t, again, importjob.StatusSucceeded, 7, 0, 3, 4)

		bad := e.run(t, "inventory", []byte("sku,on_hand\nA,1\n"), nil)
		if bad.Status != importjob.StatusFailed || !strings.Contains(bad.Error, "warehouse_code") {
			t.Fatalf("missing column: %+v", bad)
		}
	})
}

func TestUnknownWarehouse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dbtest.SQLite(t))
	job := e.run(t, "shopify_products", readFixture(t, "product_template_2024_legacy_headers.csv"), func(in *CreateInput) { in.WarehouseCode = "NOPE" })
	if job.Status != importjob.StatusFailed || !strings.Contains(job.Error, `"NOPE"`) || e.counts(t) != (counts{}) {
		t.Fatalf("%+v", job)
	}
}

// TestImportRefreshesPlannerStatistics: on PostgreSQL a product import analyzes the
// tables it grows after its 1st, 2nd, 4th, 8th... batch (a dry run writes nothing and
// analyzes nothing), so its lookups are not planned for the empty tables it started on.
// The dry run also covers a merchant without warehouses: each of its batches creates
// the default warehouse and rolls it back, and none may use another batch's.
func TestImportRefreshesPlannerStatistics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dbtest.Postgres(t))
	e.svc.SetBatchSize(2)
	var file bytes.Buffer
	if err := writeProductCSV(&file, 20, 2); err != nil {
		t.Fatal(err)
	}
	analyzed := func() map[string]float64 {
		rows, err := e.db.SQL.QueryContext(e.ctx, `SELECT relname, reltuples FROM pg_class WHERE relname = ANY($1)`,
			NewProductImporter(nil, nil, nil).GrownTables())
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		got := map[string]float64{}
		for rows.Next() {
			var name string
			var tuples float64
			if err := rows.Scan(&name, &tuples); err != nil {
				t.Fatal(err)
			}
			got[name] = tuples
		}
		return got
	}
	e.run(t, "shopify_products", file.Bytes(), func(in *CreateInput) { in.DryRun = true })
	for table, tuples := range analyzed() {
		// -1: never analyzed (PostgreSQL 14 and later).
		if tuples != -1 {
			t.Errorf("a dry run analyzed %s (%v rows)", table, tuples)
		}
	}
	if job := e.run(t, "shopify_products", file.Bytes(), nil); job.RowsImported != 40 {
		t.Fatalf("imported %d of 40 rows", job.RowsImported)
	}
	// The last analysis followed the 8th of 10 batches: 16 products of 20.
	if got := analyzed(); got["products"] != 16 || got["variants"] != 32 || got["inventory_levels"] != 32 || len(got) != 5 {
		t.Fatalf("planner statistics after the import: %v", got)
	}
}
