package resolvers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/graph"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/media"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/pulid"
	"github.com/mercantile/mercantile/resolvers"
)

// countingDriver counts the statements ent sends to the database.
type countingDriver struct {
	dialect.Driver
	n atomic.Int64
}

func (d *countingDriver) Exec(ctx context.Context, query string, args, v any) error {
	d.n.Add(1)
	return d.Driver.Exec(ctx, query, args, v)
}

func (d *countingDriver) Query(ctx context.Context, query string, args, v any) error {
	d.n.Add(1)
	return d.Driver.Query(ctx, query, args, v)
}

// server is the GraphQL endpoint over one database, as one merchant's viewer sees it.
type server struct {
	t       *testing.T
	db      *database.DB
	catalog *catalog.Service
	handler http.Handler
}

// newServer serves GraphQL on db through client, which may count its queries.
func newServer(t *testing.T, db *database.DB, client *ent.Client) *server {
	t.Helper()
	images, err := media.NewLocal(t.TempDir(), "http://media.test", nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	svc := catalog.NewService(&database.DB{Dialect: db.Dialect, SQL: db.SQL, Client: client}, kv.NewMemory(), images, 1<<20)
	root := resolvers.New(client, resolvers.Services{Catalog: svc})
	h := root.WithLoaders(graph.NewHandler(root, graph.Options{ComplexityLimit: 1 << 20, Logger: slog.New(slog.DiscardHandler)}))
	return &server{t: t, db: db, catalog: svc, handler: h}
}

// gqlResponse is a GraphQL response; Data is left raw for the caller to decode.
type gqlResponse struct {
	Data   json.RawMessage
	Errors []struct {
		Message    string
		Extensions struct {
			Code   string
			Errors []struct{ Field, Message string }
		}
	}
}

// do runs query as v and returns the response.
func (s *server) do(v viewer.Viewer, query string, vars map[string]any) gqlResponse {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest("POST", "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req = req.WithContext(viewer.NewContext(req.Context(), v))
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	var out gqlResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		s.t.Fatalf("response %d is not JSON: %s", rec.Code, rec.Body)
	}
	return out
}

// data runs query as v, fails on errors and decodes the data into out.
func (s *server) data(v viewer.Viewer, query string, vars map[string]any, out any) {
	s.t.Helper()
	r := s.do(v, query, vars)
	if len(r.Errors) > 0 {
		s.t.Fatalf("errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, out); err != nil {
		s.t.Fatalf("decoding %s: %v", r.Data, err)
	}
}

// expectError runs query as v and checks it fails with code naming field (when given).
func (s *server) expectError(v viewer.Viewer, query string, vars map[string]any, code, field string) {
	s.t.Helper()
	r := s.do(v, query, vars)
	if len(r.Errors) == 0 {
		s.t.Fatalf("no error; data %s", r.Data)
	}
	e := r.Errors[0]
	if e.Extensions.Code != code {
		s.t.Fatalf("code %q, want %q: %+v", e.Extensions.Code, code, r.Errors)
	}
	if field == "" {
		return
	}
	for _, f := range e.Extensions.Errors {
		if f.Field == field {
			return
		}
	}
	s.t.Fatalf("error %+v does not name %s", e, field)
}

func newMerchant(t *testing.T, client *ent.Client, handle string) viewer.Viewer {
	t.Helper()
	m, err := client.Merchant.Create().SetName(handle).SetHandle(handle).Save(viewer.SystemContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	return viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: m.ID, ActorID: pulid.ID("key_" + handle)}
}

func publishable(v viewer.Viewer) viewer.Viewer {
	v.Kind = viewer.KindPublishableKey
	return v
}

// dialects runs test on PostgreSQL and on the embedded default's SQLite.
func dialects(t *testing.T, test func(t *testing.T, db *database.DB)) {
	for name, open := range map[string]func(testing.TB) *database.DB{"postgres": dbtest.Postgres, "sqlite": dbtest.SQLite} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, open(t))
		})
	}
}

const catalogQuery = `{ products(first: 50) { edges { node { id title
  variants(first: 10) { edges { node { sku price available inventoryLevels { onHand reserved warehouse { code } } } } }
  images { url } } } } }`

// availableQuery asks for availability without the stock levels it is summed from, so it
// cannot come from eagerly loaded edges.
const availableQuery = `{ products(first: 50) { edges { node { variants(first: 10) { edges { node { sku available } } } } } } }`

const aliasedQuery = `{ products(first: 50) { edges { node { variants(first: 10) { edges { node {
  sku stock: inventoryLevels { onHand reserved } ... on Variant { available } } } } } } } }`

// seedProducts creates n products of 3 variants, each variant stocked in every warehouse
// with 10 on hand and 3 reserved, and one image per product.
func seedProducts(t *testing.T, s *server, v viewer.Viewer, from, n int, warehouses []*ent.Warehouse) {
	t.Helper()
	ctx := viewer.NewContext(t.Context(), v)
	sizes := []string{"S", "M", "L"}
	for i := from; i < from+n; i++ {
		in := catalog.ProductInput{
			Title:   ptr(fmt.Sprintf("Product %d", i)),
			Options: ptr([]catalog.OptionInput{{Name: "Size", Values: sizes}}),
		}
		for j, size := range sizes {
			in.Variants = append(in.Variants, catalog.VariantInput{
				SKU: ptr(fmt.Sprintf("P%d-%s", i, size)), OptionValues: map[string]string{"Size": size}, Price: ptr(int64(100 * (j + 1))),
			})
		}
		if _, err := s.catalog.CreateProduct(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	products, err := s.db.Client.Product.Query().WithVariants().Order(ent.Asc("id")).Offset(from).All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var levels []*ent.InventoryLevelCreate
	var images []*ent.ProductImageCreate
	for _, p := range products {
		for _, variant := range p.Edges.Variants {
			for _, w := range warehouses {
				levels = append(levels, s.db.Client.InventoryLevel.Create().SetVariantID(variant.ID).SetWarehouseID(w.ID).SetOnHand(10).SetReserved(3))
			}
		}
		images = append(images, s.db.Client.ProductImage.Create().SetProductID(p.ID).
			SetStorageKey(media.ObjectKey(v.MerchantID.String(), p.ID.String(), "img", "front.png")).SetContentType("image/png"))
	}
	if err := s.db.Client.InventoryLevel.CreateBulk(levels...).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Client.ProductImage.CreateBulk(images...).Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

type catalogPage struct {
	Products struct {
		Edges []struct {
			Node struct {
				ID       string
				Variants struct {
					Edges []struct {
						Node struct {
							SKU             string
							Available       int
							InventoryLevels []struct {
								OnHand, Reserved int
								Warehouse        struct{ Code string }
							}
						}
					}
				}
				Images []struct{ URL string }
			}
		}
	}
}

// TestCatalogQueryIsNotNPlusOne proves that a page of products with their variants,
// availability, stock levels, warehouses and images costs the same number of SQL
// statements for 5 products as for 50.
func TestCatalogQueryIsNotNPlusOne(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *database.DB) {
		counter := &countingDriver{Driver: entsql.OpenDB(db.Dialect, db.SQL)}
		s := newServer(t, db, ent.NewClient(ent.Driver(counter)))
		seeder := newServer(t, db, db.Client)
		v := newMerchant(t, db.Client, "shop")
		ctx := viewer.NewContext(t.Context(), v)
		var warehouses []*ent.Warehouse
		for _, code := range []string{"EAST", "WEST"} {
			w, err := db.Client.Warehouse.Create().SetCode(code).SetName(code).Save(ctx)
			if err != nil {
				t.Fatal(err)
			}
			warehouses = append(warehouses, w)
		}

		count := func(query string, products int) int64 {
			t.Helper()
			var page catalogPage
			before := counter.n.Load()
			s.data(v, query, nil, &page)
			n := counter.n.Load() - before
			if len(page.Products.Edges) != products {
				t.Fatalf("%d products, want %d", len(page.Products.Edges), products)
			}
			for _, e := range page.Products.Edges {
				p := e.Node
				if len(p.Variants.Edges) != 3 {
					t.Fatalf("product %s has %d variants, want 3", p.ID, len(p.Variants.Edges))
				}
				for _, ve := range p.Variants.Edges {
					if strings.Contains(query, "available") && ve.Node.Available != 14 {
						t.Fatalf("variant %s available %d, want 2 × (10 - 3)", ve.Node.SKU, ve.Node.Available)
					}
				}
				if query == catalogQuery && (len(p.Images) != 1 || !strings.HasPrefix(p.Images[0].URL, "http://media.test/media/merchants/")) {
					t.Fatalf("product %s images %+v", p.ID, p.Images)
				}
			}
			return n
		}

		seedProducts(t, seeder, v, 0, 5, warehouses)
		few, fewAvailable := count(catalogQuery, 5), count(availableQuery, 5)
		seedProducts(t, seeder, v, 5, 45, warehouses)
		many, manyAvailable := count(catalogQuery, 50), count(availableQuery, 50)
		t.Logf("%s: catalog query %d statements for 5 products, %d for 50; availability alone %d and %d",
			db.Dialect, few, many, fewAvailable, manyAvailable)
		// Levels selected under an alias, and availability through a fragment, still come
		// from the one eager load: asking for availability costs nothing more.
		withAvailable, without := count(aliasedQuery, 50), count(strings.Replace(aliasedQuery, "... on Variant { available }", "", 1), 50)
		if withAvailable != without {
			t.Errorf("aliased levels: %d statements with availability, %d without", withAvailable, without)
		}
		if few != many || few > 10 {
			t.Errorf("catalog query: %d statements for 5 products, %d for 50; want the same, at most 10", few, many)
		}
		// The loader batches the look-ups that arrive within its wait, so a slow run (the
		// race detector on a busy machine) may split them into a few batches; what must not
		// happen is a statement per variant, 150 of them.
		if manyAvailable > 20 {
			t.Errorf("availability: %d statements for 50 products; want a few batches", manyAvailable)
		}
	})
}

const productFields = `id title handle status tags options { name values }
  variants(first: 10) { totalCount edges { node { id sku price compareAtPrice option1 option2 available } } }`

type productNode struct {
	ID, Title, Handle, Status string
	Tags                      []string
	Options                   []struct {
		Name   string
		Values []string
	}
	Variants struct {
		TotalCount int
		Edges      []struct{ Node variantNode }
	}
}

type variantNode struct {
	ID, SKU          string
	Price            int64
	CompareAtPrice   *int64
	Option1, Option2 string
	Available        int
}

func TestCatalogMutations(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *database.DB) {
		s := newServer(t, db, db.Client)
		v := newMerchant(t, db.Client, "shop")
		other := newMerchant(t, db.Client, "other")

		var created struct{ CreateProduct productNode }
		s.data(v, `mutation($in: CreateProductInput!) { createProduct(input: $in) { `+productFields+` } }`, map[string]any{"in": map[string]any{
			"title": "Classic Tee", "tags": []string{"summer"},
			"options": []map[string]any{{"name": "Color", "values": []string{"Red", "Blue"}}, {"name": "Size", "values": []string{"M"}}},
			"variants": []map[string]any{
				// More than 2^31: money is a 64-bit count of minor units.
				{"sku": "TEE-RED-M", "price": 5_000_000_000, "compareAtPrice": 6_000_000_000,
					"optionValues": []map[string]any{{"name": "Color", "value": "Red"}, {"name": "Size", "value": "M"}}},
				{"sku": "TEE-BLUE-M", "price": 1999, "optionValues": []map[string]any{{"name": "Color", "value": "Blue"}, {"name": "Size", "value": "M"}}},
			},
		}}, &created)
		p := created.CreateProduct
		if p.Handle != "classic-tee" || p.Status != "active" || len(p.Options) != 2 || p.Variants.TotalCount != 2 {
			t.Fatalf("createProduct %+v", p)
		}
		// Variants created together have ids of the same millisecond, in no given order.
		red := p.Variants.Edges[0].Node
		if red.SKU != "TEE-RED-M" {
			red = p.Variants.Edges[1].Node
		}
		if red.SKU != "TEE-RED-M" || red.Price != 5_000_000_000 || *red.CompareAtPrice != 6_000_000_000 || red.Option1 != "Red" || red.Available != 0 {
			t.Fatalf("created variant %+v", red)
		}

		var updated struct{ UpdateProduct productNode }
		s.data(v, `mutation($id: ID!) { updateProduct(id: $id, input: {title: "Renamed Tee", tags: []}) { `+productFields+` } }`,
			map[string]any{"id": p.ID}, &updated)
		if updated.UpdateProduct.Title != "Renamed Tee" || len(updated.UpdateProduct.Tags) != 0 || updated.UpdateProduct.Variants.TotalCount != 2 {
			t.Fatalf("updateProduct %+v", updated.UpdateProduct)
		}

		combo := func(color string) []map[string]any {
			return []map[string]any{{"name": "Color", "value": color}, {"name": "Size", "value": "M"}}
		}
		createVariant := `mutation($id: ID!, $in: CreateVariantInput!) { createVariant(productID: $id, input: $in) { id sku price available } }`
		s.expectError(v, createVariant, map[string]any{"id": p.ID, "in": map[string]any{"sku": "TEE-RED-2", "price": 1, "optionValues": combo("Red")}},
			"invalid", "option_values")
		createProduct := `mutation($in: CreateProductInput!) { createProduct(input: $in) { id } }`
		s.expectError(v, createProduct, map[string]any{"in": map[string]any{"title": "Other", "variants": []map[string]any{{"sku": "TEE-RED-M", "price": 1}}}},
			"conflict", "variants[0].sku")
		s.expectError(v, createProduct, map[string]any{"in": map[string]any{"title": " ", "variants": []map[string]any{{"sku": "NEW", "price": -1}}}},
			"invalid", "title")
		s.expectError(publishable(v), createProduct, map[string]any{"in": map[string]any{"title": "Pk", "variants": []map[string]any{{"sku": "PK", "price": 1}}}},
			"forbidden", "")

		s.data(v, `mutation($id: ID!) { updateProduct(id: $id, input: {options: [{name: "Color", values: ["Red", "Blue", "Green"]}, {name: "Size", values: ["M"]}]}) { id } }`,
			map[string]any{"id": p.ID}, &struct{}{})
		var green struct{ CreateVariant variantNode }
		s.data(v, createVariant, map[string]any{"id": p.ID, "in": map[string]any{"sku": "TEE-GREEN-M", "price": 10, "optionValues": combo("Green")}}, &green)
		var repriced struct{ UpdateVariant variantNode }
		s.data(v, `mutation($id: ID!) { updateVariant(id: $id, input: {price: 2500}) { id sku price } }`, map[string]any{"id": green.CreateVariant.ID}, &repriced)
		if repriced.UpdateVariant.Price != 2500 || repriced.UpdateVariant.SKU != "TEE-GREEN-M" {
			t.Fatalf("updateVariant %+v", repriced.UpdateVariant)
		}
		var deleted struct{ DeleteVariant string }
		s.data(v, `mutation($id: ID!) { deleteVariant(id: $id) }`, map[string]any{"id": green.CreateVariant.ID}, &deleted)
		if deleted.DeleteVariant != green.CreateVariant.ID {
			t.Fatalf("deleteVariant %+v", deleted)
		}
		s.expectError(v, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": green.CreateVariant.ID}, "not_found", "")

		var image struct {
			CreateProductImage struct {
				Image struct {
					ID, URL, Status string
					Position        int
					Product         struct{ ID string }
				}
				Upload struct {
					Method, URL, ExpiresAt string
					Headers                []struct{ Name, Value string }
				}
			}
		}
		createImage := `mutation($id: ID!, $in: CreateProductImageInput!) { createProductImage(productID: $id, input: $in) {
			image { id url status position product { id } } upload { method url expiresAt headers { name value } } } }`
		s.data(v, createImage, map[string]any{"id": p.ID, "in": map[string]any{"filename": "front.png", "contentType": "image/png", "sizeBytes": 100}}, &image)
		img, up := image.CreateProductImage.Image, image.CreateProductImage.Upload
		if img.Status != "pending" || img.Position != 1 || img.Product.ID != p.ID || !strings.HasPrefix(img.URL, "http://media.test/media/") ||
			up.Method != "PUT" || !strings.HasPrefix(up.URL, "http://media.test/media/upload/") || up.ExpiresAt == "" ||
			len(up.Headers) != 1 || up.Headers[0].Name != "Content-Type" || up.Headers[0].Value != "image/png" {
			t.Fatalf("createProductImage %+v", image.CreateProductImage)
		}
		s.expectError(v, createImage, map[string]any{"id": p.ID, "in": map[string]any{"filename": "x.html", "contentType": "text/html"}}, "invalid", "content_type")
		s.expectError(v, createImage, map[string]any{"id": p.ID, "in": map[string]any{"filename": "x.png", "contentType": "image/png", "sizeBytes": 2 << 20}},
			"payload_too_large", "size_bytes")

		t.Run("another merchant's product is not found", func(t *testing.T) {
			vars := map[string]any{"id": p.ID}
			s.expectError(other, `mutation($id: ID!) { updateProduct(id: $id, input: {title: "Stolen"}) { id } }`, vars, "not_found", "")
			s.expectError(other, `mutation($id: ID!) { deleteProduct(id: $id) }`, vars, "not_found", "")
			s.expectError(other, createImage, map[string]any{"id": p.ID, "in": map[string]any{"filename": "x.png", "contentType": "image/png"}}, "not_found", "")
			s.expectError(other, `mutation($id: ID!) { updateVariant(id: $id, input: {price: 1}) { id } }`, map[string]any{"id": red.ID}, "not_found", "")
		})

		var gone struct {
			DeleteProduct string
			Products      struct{ TotalCount int }
		}
		s.data(v, `mutation($id: ID!) { deleteProduct(id: $id) }`, map[string]any{"id": p.ID}, &gone)
		s.data(v, `{ products { totalCount } }`, nil, &gone)
		if gone.DeleteProduct != p.ID || gone.Products.TotalCount != 0 {
			t.Fatalf("deleteProduct %+v", gone)
		}
	})
}

// TestVariantImageMutations: GraphQL links a variant to one of its product's images as
// REST does (the same catalog call): another product's image is invalid naming
// image_id, an absent imageID leaves the link and null clears it.
func TestVariantImageMutations(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *database.DB) {
		s := newServer(t, db, db.Client)
		v := newMerchant(t, db.Client, "shop")
		ctx := viewer.NewContext(t.Context(), v)
		newProduct := func(title, sku string) (productID, variantID, imageID string) {
			t.Helper()
			p, err := s.catalog.CreateProduct(ctx, catalog.ProductInput{Title: ptr(title), Variants: []catalog.VariantInput{{SKU: ptr(sku), Price: ptr(int64(100))}}})
			if err != nil {
				t.Fatal(err)
			}
			img, _, err := s.catalog.CreateImage(ctx, pulid.ID(p.ID), catalog.ImageInput{Filename: "a.png", ContentType: "image/png"})
			if err != nil {
				t.Fatal(err)
			}
			return p.ID, p.Variants[0].ID, img.ID
		}
		tee, teeVariant, teeImage := newProduct("Tee", "TEE")
		_, _, mugImage := newProduct("Mug", "MUG")

		type linked struct {
			ID      string
			ImageID *string
			Image   *struct{ ID, URL string }
		}
		const fields = `{ id imageID image { id url } }`
		update := `mutation($id: ID!, $in: UpdateVariantInput!) { updateVariant(id: $id, input: $in) ` + fields + ` }`
		var out struct{ UpdateVariant linked }
		s.data(v, update, map[string]any{"id": teeVariant, "in": map[string]any{"imageID": teeImage}}, &out)
		if got := out.UpdateVariant; got.ImageID == nil || *got.ImageID != teeImage || got.Image == nil || got.Image.ID != teeImage || got.Image.URL == "" {
			t.Fatalf("updateVariant imageID: %+v", got)
		}
		s.expectError(v, update, map[string]any{"id": teeVariant, "in": map[string]any{"imageID": mugImage}}, "invalid", "image_id")
		s.data(v, update, map[string]any{"id": teeVariant, "in": map[string]any{"price": 200}}, &out)
		if out.UpdateVariant.ImageID == nil || *out.UpdateVariant.ImageID != teeImage {
			t.Fatalf("an update without imageID unlinked it: %+v", out.UpdateVariant)
		}
		s.data(v, update, map[string]any{"id": teeVariant, "in": map[string]any{"imageID": nil}}, &out)
		if out.UpdateVariant.ImageID != nil || out.UpdateVariant.Image != nil {
			t.Fatalf("imageID: null did not unlink: %+v", out.UpdateVariant)
		}

		create := `mutation($id: ID!, $in: CreateVariantInput!) { createVariant(productID: $id, input: $in) ` + fields + ` }`
		s.expectError(v, create, map[string]any{"id": tee, "in": map[string]any{"sku": "TEE-2", "price": 1, "imageID": mugImage}}, "invalid", "image_id")
		s.expectError(v, `mutation($in: CreateProductInput!) { createProduct(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"title": "Cap", "variants": []map[string]any{{"sku": "CAP", "price": 1, "imageID": teeImage}},
		}}, "invalid", "variants[0].image_id")
	})
}
