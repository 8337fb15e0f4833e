package rest

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mercantile/mercantile/ent/importjob"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/exports"
	"github.com/mercantile/mercantile/internal/imports"
	"github.com/mercantile/mercantile/internal/parity"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/shopifycsv"
)

// exportServer serves the API with imports, exports and parity on db, parity guarding
// sunset as serve wires it.
func exportServer(t *testing.T, db *database.DB) (*harness, *imports.Service, *httptest.Server) {
	t.Helper()
	h := newHarnessOn(t, db)
	files := imports.NewDirStore(t.TempDir())
	svc := imports.NewService(db, files)
	svc.Register(imports.KindShopifyProducts, imports.NewProductImporter(db.Client, h.deps.Catalog, h.deps.Inventory))
	svc.Register(imports.KindShopifyOrders, imports.NewOrdersImporter(db.Dialect))
	deps := h.deps
	deps.Imports = svc
	deps.Exports = exports.NewService(db.Client, h.deps.Catalog)
	deps.Parity = parity.NewService(db.Client, files)
	deps.Merchants.RequireBeforeSunset(deps.Parity.CheckSunset)
	registry := prometheus.NewRegistry()
	deps.Registry, deps.Gatherer = registry, registry
	srv := httptest.NewServer(NewRouter(deps))
	t.Cleanup(srv.Close)
	return h, svc, srv
}

func TestExportsAndParity(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(testing.TB) *database.DB{"postgres": dbtest.Postgres, "sqlite": dbtest.SQLite} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testExportsAndParity(t, open(t))
		})
	}
}

func testExportsAndParity(t *testing.T, db *database.DB) {
	h, svc, srv := exportServer(t, db)
	m := h.merchant("exporter", "")
	get := func(key, path string) reply { return getJSON(t, srv, key, path) }
	onSrv := &harness{t: t, server: srv}
	patch := func(body map[string]any) reply {
		return onSrv.do(request{method: "PATCH", path: "/api/v1/merchant", key: m.SecretKey, body: body})
	}

	t.Run("ErrCredentials", func(t *testing.T) {
		for _, path := range []string{"/api/v1/exports/products.csv", "/api/v1/exports/orders.csv", "/api/v1/parity"} {
			get(m.PublishableKey, path).expectProblem(t, 403, "forbidden")
			get("", path).expectProblem(t, 401, "unauthorized")
		}
	})
	t.Run("ErrParity before imports", func(t *testing.T) {
		get(m.SecretKey, "/api/v1/parity").expectProblem(t, 409, "conflict")
	})

	ctx := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: m.Merchant.ID, ActorID: "key_t", Role: viewer.RoleOwner})
	for kind, file := range map[string]string{"shopify_products": "product_template_2024_legacy_headers.csv", "shopify_orders": "orders_export_devstore_2025.csv"} {
		body, err := os.ReadFile("../testdata/shopify/" + file)
		if err != nil {
			t.Fatal(err)
		}
		job, err := svc.Create(ctx, imports.CreateInput{Kind: kind, Filename: file, File: bytes.NewReader(body)}, false)
		if err != nil {
			t.Fatal(err)
		}
		if job, err = svc.Run(ctx, job.ID, imports.RunOptions{}); err != nil || job.Status != importjob.StatusSucceeded {
			t.Fatalf("%s: %v %+v", kind, err, job)
		}
	}

	t.Run("OK exports", func(t *testing.T) {
		for path, header := range map[string][]string{"/api/v1/exports/products.csv": shopifycsv.ProductsHeader, "/api/v1/exports/orders.csv": shopifycsv.OrdersHeader} {
			r := get(m.SecretKey, path)
			if r.status != 200 || r.header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") {
				t.Fatalf("%s: %d %v", path, r.status, r.header)
			}
			recs, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(header, recs[0]); diff != "" {
				t.Fatalf("%s header (-want +got):\n%s", path, diff)
			}
			if path == "/api/v1/exports/orders.csv" && len(recs) != 41 {
				t.Fatalf("orders export has %d rows", len(recs))
			}
		}
	})
	t.Run("OK parity clean", func(t *testing.T) {
		r := get(m.SecretKey, "/api/v1/parity")
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil || r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if problems := conform(v, schemas["Parity"], "$"); len(problems) > 0 {
			t.Fatalf("parity does not match its schema:\n%s\n%s", strings.Join(problems, "\n"), r.body)
		}
		if clean, _ := v.(map[string]any)["clean"].(bool); !clean {
			t.Fatalf("parity not clean: %s", r.body)
		}
	})
	t.Run("sunset refused while parity differs, then allowed", func(t *testing.T) {
		if r := patch(map[string]any{"status": "active"}); r.status != 200 {
			t.Fatalf("to active: %d %s", r.status, r.body)
		}
		sys := viewer.MerchantSystemContext(context.Background(), m.Merchant.ID)
		v := db.Client.Variant.Query().Where(variant.Sku("PNT_DEN_305")).OnlyX(sys)
		db.Client.Variant.UpdateOne(v).SetPrice(v.Price + 100).ExecX(sys)
		p := patch(map[string]any{"status": "sunset"}).expectProblem(t, 409, "conflict")
		if !strings.Contains(p["detail"].(string), "PNT_DEN_305 price") {
			t.Fatalf("refusal does not name the price difference: %v", p)
		}
		db.Client.Variant.UpdateOne(v).SetPrice(v.Price).ExecX(sys)
		if r := patch(map[string]any{"status": "sunset"}); r.status != 200 || r.json(t)["status"] != "sunset" {
			t.Fatalf("to sunset: %d %s", r.status, r.body)
		}
		patch(map[string]any{"status": "active"}).expectProblem(t, 409, "invalid_state_transition")
	})
}
