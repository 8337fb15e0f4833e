package catalog_test

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/merchants"
	"github.com/mercantile/mercantile/internal/paging"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/pulid"
)

func TestSeed(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, e env) {
		const products, variants, warehouses = 200, 3, 3
		v, _ := viewer.FromContext(e.ctx)
		var calls, lastProducts int
		res, err := catalog.Seed(e.ctx, e.db, catalog.SeedOptions{
			MerchantID: v.MerchantID, Products: products, Variants: variants, Warehouses: warehouses, Seed: 7,
			BatchSize: 64, Progress: func(p, _ int) { calls++; lastProducts = p },
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Products != products || res.Variants != products*variants || res.InventoryLevels != products*variants*warehouses ||
			res.SearchDocuments != products || res.WarehousesCreated != warehouses || res.Batches != 4 || calls != 4 || lastProducts != products {
			t.Fatalf("unexpected result %+v (progress calls %d)", res, calls)
		}
		if res.Options < products || res.Options > 3*products {
			t.Fatalf("%d options for %d products", res.Options, products)
		}
		count := func(query string) int {
			t.Helper()
			var n int
			if err := e.db.SQL.QueryRowContext(e.ctx, rebind(e.db, query), v.MerchantID.String()).Scan(&n); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return n
		}
		if n := count(`SELECT count(*) FROM inventory_levels WHERE merchant_id = $1 AND reserved = 0 AND on_hand >= 0`); n != products*variants*warehouses {
			t.Errorf("%d inventory levels, want %d", n, products*variants*warehouses)
		}
		if n := count(`SELECT count(DISTINCT sku) FROM variants WHERE merchant_id = $1`); n != products*variants {
			t.Errorf("%d distinct SKUs, want %d", n, products*variants)
		}
		if n := count(`SELECT count(*) FROM product_search WHERE merchant_id = $1`); n != products {
			t.Errorf("%d search documents, want %d", n, products)
		}

		// The service reads every seeded product, and each is well formed.
		all := listAll(t, e)
		if len(all) != products {
			t.Fatalf("Products listed %d products, want %d", len(all), products)
		}
		statuses := map[string]int{}
		for _, p := range all {
			checkSeededProduct(t, p, variants)
			statuses[p.Status]++
		}
		if statuses["active"] < products/2 || statuses["draft"]+statuses["archived"] == 0 {
			t.Errorf("status mix %v", statuses)
		}
		p := all[len(all)/2]
		got, err := e.svc.Product(e.ctx, pulid.ID(p.ID))
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Fatalf("Product(%s) = %+v, %v; listed as %+v", p.ID, got, err, p)
		}
		if byHandle, err := e.svc.ProductByHandle(e.ctx, p.Handle); err != nil || byHandle.ID != p.ID {
			t.Fatalf("ProductByHandle(%q) = %+v, %v", p.Handle, byHandle, err)
		}
		sku := p.Variants[1].SKU
		if bySKU, err := e.svc.VariantBySKU(e.ctx, sku); err != nil || bySKU.ProductID != p.ID || !reflect.DeepEqual(bySKU, p.Variants[1]) {
			t.Fatalf("VariantBySKU(%q) = %+v, %v", sku, bySKU, err)
		}
		draft := product.StatusDraft
		drafts, err := e.svc.Products(e.ctx, catalog.ListFilter{Status: &draft}, paging.Page{Limit: paging.MaxLimit})
		if err != nil || len(drafts.Products) != statuses["draft"] {
			t.Errorf("draft filter: %d products, %v; want %d", len(drafts.Products), err, statuses["draft"])
		}

		// Search finds a seeded title, and an exact SKU ranks its product first.
		found, err := e.svc.Search(e.ctx, p.Title, 50, "")
		if err != nil || !containsProduct(found.Products, p.ID) {
			t.Errorf("Search(%q) did not find %s: %v", p.Title, p.ID, err)
		}
		found, err = e.svc.Search(e.ctx, sku, 10, "")
		if err != nil || len(found.Products) == 0 || found.Products[0].ID != p.ID {
			t.Errorf("Search(%q) did not rank %s first: %v", sku, p.ID, err)
		}

		// The search document is the one the service writes: reindexing through an
		// update changes nothing (but the order SKUs were aggregated in).
		before := searchRow(t, e, p.ID)
		if _, err := e.svc.UpdateProduct(e.ctx, pulid.ID(p.ID), catalog.ProductInput{}); err != nil {
			t.Fatal(err)
		}
		if after := searchRow(t, e, p.ID); after != before {
			t.Errorf("reindexing changed the search document:\nseeded  %s\nservice %s", before, after)
		}

		// Column by column, a seeded product is what CreateProduct stores for the same
		// input (the SKUs renamed, being unique).
		for _, p := range all[:5] {
			in := inputFrom(p)
			made, err := e.svc.CreateProduct(e.ctx, in)
			if err != nil {
				t.Fatalf("CreateProduct(%+v): %v", in, err)
			}
			seeded, created := rawRows(t, e, p.ID), rawRows(t, e, made.ID)
			if seeded != created {
				t.Errorf("stored rows differ:\nseeded  %s\nservice %s", seeded, created)
			}
		}

		// Seeding again adds to the catalog without clashing handles or SKUs, and reuses
		// the warehouses.
		more, err := catalog.Seed(e.ctx, e.db, catalog.SeedOptions{MerchantID: v.MerchantID, Products: 30, Variants: 2, Warehouses: 4, Seed: 7})
		if err != nil || more.Products != 30 || more.WarehousesCreated != 1 || more.InventoryLevels != 30*2*4 {
			t.Fatalf("second seed: %+v, %v", more, err)
		}
		if n, m := count(`SELECT count(DISTINCT handle) FROM products WHERE merchant_id = $1`), count(`SELECT count(*) FROM products WHERE merchant_id = $1`); n != m || m != products+30+5 {
			t.Errorf("%d distinct handles for %d products", n, m)
		}

		// Another merchant seeded with the same seed gets the same catalog, and neither
		// sees the other's.
		m2 := e.db.Client.Merchant.Create().SetName("Other").SetHandle("other").SaveX(viewer.SystemContext(context.Background()))
		ctx2 := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: m2.ID, ActorID: "key_t2", Role: viewer.RoleOwner})
		if _, err := catalog.Seed(ctx2, e.db, catalog.SeedOptions{MerchantID: m2.ID, Products: products, Variants: variants, Warehouses: warehouses, Seed: 7}); err != nil {
			t.Fatal(err)
		}
		other := listAll(t, env{svc: e.svc, db: e.db, ctx: ctx2})
		if len(other) != products {
			t.Fatalf("other merchant lists %d products", len(other))
		}
		if a, b := fingerprint(all), fingerprint(other); a != b {
			t.Errorf("same seed, different catalogs:\n%s\n%s", a[:min(len(a), 300)], b[:min(len(b), 300)])
		}
		if _, err := e.svc.Product(ctx2, pulid.ID(p.ID)); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("another merchant read a seeded product: %v", err)
		}

		_, err = catalog.Seed(e.ctx, e.db, catalog.SeedOptions{MerchantID: pulid.New("mer"), Products: 1, Variants: 1, Warehouses: 1})
		if apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("seeding an unknown merchant: %v", err)
		}
		_, err = catalog.Seed(e.ctx, e.db, catalog.SeedOptions{MerchantID: v.MerchantID, Products: 1, Variants: catalog.MaxSeedVariants + 1})
		if apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("too many variants: %v", err)
		}
	})
}

func TestSeedAllowsManyVariants(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t)
	e := newEnv(t, db)
	v, _ := viewer.FromContext(e.ctx)
	res, err := catalog.Seed(e.ctx, db, catalog.SeedOptions{MerchantID: v.MerchantID, Products: 60, Variants: catalog.MaxSeedVariants, Warehouses: 0, Seed: 3})
	if err != nil || res.Variants != 60*catalog.MaxSeedVariants || res.InventoryLevels != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	for _, p := range listAll(t, e) {
		checkSeededProduct(t, p, catalog.MaxSeedVariants)
	}
}

func listAll(t *testing.T, e env) []catalog.Product {
	t.Helper()
	var all []catalog.Product
	page := paging.Page{Limit: 50}
	for {
		got, err := e.svc.Products(e.ctx, catalog.ListFilter{}, page)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, got.Products...)
		if !got.HasMore {
			return all
		}
		page.After = pulid.ID(got.Products[len(got.Products)-1].ID)
	}
}

// checkSeededProduct checks what the catalog's own validation would insist on.
func checkSeededProduct(t *testing.T, p catalog.Product, variants int) {
	t.Helper()
	base := merchants.Handleize(p.Title)
	if p.Handle != base && !strings.HasPrefix(p.Handle, base+"-") {
		t.Errorf("%s: handle %q for title %q", p.ID, p.Handle, p.Title)
	}
	if p.Vendor == "" || p.ProductType == "" || p.Tags == nil || len(p.Tags) > 5 {
		t.Errorf("%s: vendor %q, type %q, tags %v", p.ID, p.Vendor, p.ProductType, p.Tags)
	}
	if catalog.SanitizeHTML(p.DescriptionHTML) != p.DescriptionHTML {
		t.Errorf("%s: description is not what sanitizing keeps: %q", p.ID, p.DescriptionHTML)
	}
	if len(p.Options) < 1 || len(p.Options) > 3 || len(p.Variants) != variants {
		t.Fatalf("%s: %d options, %d variants", p.ID, len(p.Options), len(p.Variants))
	}
	used := map[string]map[string]bool{}
	for _, o := range p.Options {
		used[o.Name] = map[string]bool{}
	}
	parts := strings.Split(p.Variants[0].SKU, "-")
	skuBase := strings.Join(parts[:2], "-") + "-"
	combos := map[string]bool{}
	for i, v := range p.Variants {
		var values []string
		for _, o := range p.Options {
			val, ok := v.OptionValues[o.Name]
			if !ok {
				t.Fatalf("%s: variant %s has no %s", p.ID, v.SKU, o.Name)
			}
			used[o.Name][val] = true
			values = append(values, val)
		}
		if v.Title != strings.Join(values, " / ") || v.Position != i+1 || combos[v.Title] {
			t.Errorf("%s: variant %d titled %q at position %d", p.ID, i, v.Title, v.Position)
		}
		combos[v.Title] = true
		if !strings.HasPrefix(v.SKU, skuBase) || strings.Count(v.SKU, "-") != 1+len(p.Options) || len(v.SKU) > catalog.MaxSKULength ||
			v.Price <= 0 || v.Available < 0 || (v.CompareAtPrice != nil && *v.CompareAtPrice <= v.Price) {
			t.Errorf("%s: variant %+v (SKU base %s)", p.ID, v, skuBase)
		}
	}
	for _, o := range p.Options {
		if len(o.Values) != len(used[o.Name]) {
			t.Errorf("%s: option %s lists %v, variants use %v", p.ID, o.Name, o.Values, used[o.Name])
		}
	}
}

func containsProduct(ps []catalog.Product, id string) bool {
	for _, p := range ps {
		if p.ID == id {
			return true
		}
	}
	return false
}

// inputFrom is the CreateProduct input that describes p.
func inputFrom(p catalog.Product) catalog.ProductInput {
	opts := make([]catalog.OptionInput, len(p.Options))
	for i, o := range p.Options {
		opts[i] = catalog.OptionInput(o)
	}
	status := product.Status(p.Status)
	in := catalog.ProductInput{
		Title: ptr(p.Title), DescriptionHTML: ptr(p.DescriptionHTML), Vendor: ptr(p.Vendor),
		ProductType: ptr(p.ProductType), Tags: ptr(p.Tags), Status: &status, Options: &opts,
	}
	for _, v := range p.Variants {
		in.Variants = append(in.Variants, catalog.VariantInput{
			SKU: ptr("COPY-" + v.SKU), OptionValues: v.OptionValues, Price: ptr(v.Price),
			CompareAtPrice: v.CompareAtPrice, Barcode: ptr(v.Barcode), WeightGrams: ptr(v.WeightGrams),
		})
	}
	return in
}

// rebind turns $n placeholders into SQLite's ?.
func rebind(db *database.DB, query string) string {
	if db.Dialect == dialect.Postgres {
		return query
	}
	for i := 9; i >= 1; i-- {
		query = strings.ReplaceAll(query, fmt.Sprintf("$%d", i), "?")
	}
	return query
}

// rawRows renders a product's stored rows (ids, SKUs and the handle's suffix aside), with
// each value's storage type and the shape of its timestamps.
func rawRows(t *testing.T, e env, id string) string {
	t.Helper()
	jsonText, ts := "%s::text", "pg_typeof(%s)::text || ':' || to_char(%s, 'YYYY-MM-DD HH24:MI:SS')"
	if e.db.Dialect != dialect.Postgres {
		jsonText, ts = "typeof(%s) || ':' || CAST(%s AS TEXT)", "typeof(%s) || ':' || %s"
	}
	j := func(col string) string { return strings.ReplaceAll(jsonText, "%s", col) }
	tm := func(col string) string { return strings.ReplaceAll(ts, "%s", col) }
	var out []string
	for _, q := range []string{
		"SELECT title, description_html, vendor, product_type, " + j("tags") + ", status, " + tm("created_at") + ", " + tm("updated_at") +
			", shopify_id IS NULL, published_at IS NULL, merchant_id FROM products WHERE id = $1",
		"SELECT name, position, " + j(`"values"`) + ", " + tm("created_at") + ", merchant_id FROM product_options WHERE product_id = $1 ORDER BY position",
		"SELECT title, option1, option2, option3, price, compare_at_price, barcode, weight_grams, position, " + tm("created_at") +
			", shopify_id IS NULL, shopify_inventory_item_id IS NULL, merchant_id FROM variants WHERE product_id = $1 ORDER BY position",
	} {
		rows, err := e.db.SQL.QueryContext(e.ctx, rebind(e.db, q), id)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					vals[i] = string(b)
				}
			}
			out = append(out, fmt.Sprintf("%v", vals))
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Timestamps differ by when they were written; their type and format must not.
	return timestamp.ReplaceAllString(strings.Join(out, "\n"), "<time>")
}

var timestamp = regexp.MustCompile(`\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?( [+-]\d{4} \w+)?( m=[+-]\d+\.\d+)?`)

func searchRow(t *testing.T, e env, id string) string {
	t.Helper()
	// Lexemes with their weights; positions aside, since the index's string_agg of SKUs
	// follows whatever order the plan reads variants in.
	q := `SELECT merchant_id || '|' || title || '|' || (SELECT string_agg(lexeme || ':' ||
		array_to_string(ARRAY(SELECT w FROM unnest(weights) w ORDER BY w), ','), ' ' ORDER BY lexeme) FROM unnest(document))
		FROM product_search WHERE product_id = $1`
	if e.db.Dialect != dialect.Postgres {
		// The SKU words in the order they sort in: group_concat follows the plan's order.
		var head, skus, body string
		err := e.db.SQL.QueryRowContext(e.ctx, "SELECT merchant_id || '|' || title, skus, body FROM product_search WHERE product_id = ?", id).
			Scan(&head, &skus, &body)
		if err != nil {
			t.Fatal(err)
		}
		words := strings.Fields(skus)
		sort.Strings(words)
		return head + "|" + strings.Join(words, " ") + "|" + body
	}
	var s string
	if err := e.db.SQL.QueryRowContext(e.ctx, q, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// fingerprint summarizes a catalog without its ids and timestamps.
func fingerprint(ps []catalog.Product) string {
	var lines []string
	for _, p := range ps {
		line := fmt.Sprintf("%s|%s|%s|%s|%v|%s|%v", p.Title, p.Handle, p.Vendor, p.ProductType, p.Tags, p.Status, p.Options)
		for _, v := range p.Variants {
			line += fmt.Sprintf("|%s %d %v %s %d %d", v.SKU, v.Price, v.CompareAtPrice != nil, v.Barcode, v.WeightGrams, v.Available)
		}
		lines = append(lines, line)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
