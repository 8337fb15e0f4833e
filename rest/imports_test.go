package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/imports"
	"github.com/mercantile/mercantile/internal/platform/config"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/pulid"
)

// importServer serves the API with imports on db, MAX_IMPORT_BYTES at 64 KiB, after
// tune changes its configuration.
func importServer(t *testing.T, db *database.DB, tune ...func(*config.Config)) (*harness, *imports.Service, *httptest.Server) {
	t.Helper()
	h := newHarnessOn(t, db)
	svc := imports.NewService(db, imports.NewDirStore(t.TempDir()))
	svc.Register(imports.KindShopifyProducts, imports.NewProductImporter(db.Client, h.deps.Catalog, h.deps.Inventory))
	svc.Register(imports.KindInventory, imports.NewInventoryImporter(h.deps.Inventory))
	deps := h.deps
	deps.Imports = svc
	deps.Config.MaxImportBytes = 64 << 10
	for _, f := range tune {
		f(&deps.Config)
	}
	registry := prometheus.NewRegistry()
	deps.Registry, deps.Gatherer = registry, registry
	srv := httptest.NewServer(NewRouter(deps))
	t.Cleanup(srv.Close)
	return h, svc, srv
}

// postImport sends a multipart upload of fields and file.
func postImport(t *testing.T, srv *httptest.Server, key string, fields map[string]string, file []byte, header map[string]string) reply {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "products.csv")
		_, _ = fw.Write(file)
	}
	_ = mw.Close()
	r, _ := http.NewRequest("POST", srv.URL+"/api/v1/imports", &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Authorization", "Bearer "+key)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}

func getJSON(t *testing.T, srv *httptest.Server, key, path string) reply {
	t.Helper()
	r, _ := http.NewRequest("GET", srv.URL+path, nil)
	r.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}

// TestUploadsOutliveTheRequestTimeout: a file upload is bounded by TRANSFER_TIMEOUT, not
// by the REQUEST_TIMEOUT of ordinary requests, which a 1 GB file would exceed.
func TestUploadsOutliveTheRequestTimeout(t *testing.T) {
	t.Parallel()
	fixture, err := os.ReadFile("../testdata/shopify/product_template_2024_legacy_headers.csv")
	if err != nil {
		t.Fatal(err)
	}
	h, _, srv := importServer(t, dbtest.Postgres(t), func(c *config.Config) {
		c.RequestTimeout, c.TransferTimeout = time.Nanosecond, time.Minute
	})
	key := h.merchant("patient", "correct horse battery").SecretKey
	if r := postImport(t, srv, key, map[string]string{"kind": "shopify_products"}, fixture, nil); r.status != http.StatusAccepted {
		t.Fatalf("upload under TRANSFER_TIMEOUT: %d %s", r.status, r.body)
	}
	if r := getJSON(t, srv, key, "/api/v1/imports"); r.status < 500 {
		t.Fatalf("an ordinary request past REQUEST_TIMEOUT answered %d %s", r.status, r.body)
	}
}

func TestImportsAPI(t *testing.T) {
	t.Parallel()
	fixture, err := os.ReadFile("../testdata/shopify/product_template_2024_legacy_headers.csv")
	if err != nil {
		t.Skip("Shopify fixtures not found:", err)
	}
	for name, open := range map[string]func(testing.TB) *database.DB{"postgres": dbtest.Postgres, "sqlite": dbtest.SQLite} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			h, svc, srv := importServer(t, db)
			m := h.merchant("importer", "correct horse battery")
			key := m.SecretKey
			ctx := viewer.MerchantSystemContext(context.Background(), m.Merchant.ID)

			r := postImport(t, srv, key, map[string]string{"kind": "shopify_products", "dry_run": "false"}, fixture, map[string]string{"Idempotency-Key": "imp-1"})
			if r.status != http.StatusAccepted {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			created := r.json(t)
			id := created["id"].(string)
			if created["status"] != "queued" || created["filename"] != "products.csv" {
				t.Fatalf("created %v", created)
			}
			var queued int
			if err := db.SQL.QueryRowContext(ctx, "SELECT count(*) FROM river_job WHERE kind = '"+imports.RunArgs{}.Kind()+"'").Scan(&queued); err != nil || queued != 1 {
				t.Fatalf("%d River jobs, %v", queued, err)
			}
			again := postImport(t, srv, key, map[string]string{"kind": "shopify_products", "dry_run": "false"}, fixture, map[string]string{"Idempotency-Key": "imp-1"})
			if again.status != http.StatusAccepted || again.header.Get(replayedHeader) != "true" || again.json(t)["id"] != id {
				t.Fatalf("replay: %d %s", again.status, again.body)
			}
			if n := db.Client.ImportJob.Query().CountX(ctx); n != 1 {
				t.Fatalf("%d import jobs after a replay", n)
			}

			// What the River worker does.
			if _, err := svc.Run(ctx, pulid.ID(id), imports.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			got := getJSON(t, srv, key, "/api/v1/imports/"+id)
			if got.status != http.StatusOK {
				t.Fatalf("get: %d %s", got.status, got.body)
			}
			job := got.json(t)
			if job["status"] != "succeeded" || job["rows_total"] != 17.0 || job["rows_imported"] != 17.0 || job["errors_count"] != 0.0 {
				t.Fatalf("job %v", job)
			}
			list := getJSON(t, srv, key, "/api/v1/imports").json(t)
			if data := list["data"].([]any); len(data) != 1 {
				t.Fatalf("list %v", list)
			}

			bad := "sku,warehouse_code,on_hand\nA,W,1\nB,W,2\nC,W,x\n"
			r = postImport(t, srv, key, map[string]string{"kind": "inventory"}, []byte(bad), nil)
			badID := r.json(t)["id"].(string)
			if _, err := svc.Run(ctx, pulid.ID(badID), imports.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			page := getJSON(t, srv, key, "/api/v1/imports/"+badID+"?errors_limit=2").json(t)
			errs := page["errors"].([]any)
			if page["errors_count"] != 3.0 || len(errs) != 2 || page["errors_next_after"] != 3.0 {
				t.Fatalf("first page %v", page)
			}
			page = getJSON(t, srv, key, "/api/v1/imports/"+badID+"?errors_limit=2&errors_after=3").json(t)
			errs = page["errors"].([]any)
			if len(errs) != 1 || errs[0].(map[string]any)["row"] != 4.0 || errs[0].(map[string]any)["column"] != "on_hand" {
				t.Fatalf("second page %v", page)
			}
			if _, more := page["errors_next_after"]; more {
				t.Fatalf("a next page after the last: %v", page)
			}

			postImport(t, srv, m.PublishableKey, map[string]string{"kind": "inventory"}, []byte(bad), nil).expectProblem(t, http.StatusForbidden, "forbidden")
			postImport(t, srv, key, map[string]string{"kind": "nope"}, []byte(bad), nil).expectProblem(t, http.StatusUnprocessableEntity, "invalid")
			postImport(t, srv, key, nil, []byte(bad), nil).expectProblem(t, http.StatusUnprocessableEntity, "invalid")
			postImport(t, srv, key, map[string]string{"kind": "inventory"}, nil, nil).expectProblem(t, http.StatusUnprocessableEntity, "invalid")
			postImport(t, srv, key, map[string]string{"kind": "inventory", "bogus": "1"}, []byte(bad), nil).expectProblem(t, http.StatusBadRequest, "invalid")
			postImport(t, srv, key, map[string]string{"kind": "inventory"}, bytes.Repeat([]byte("x"), 70<<10), nil).expectProblem(t, http.StatusRequestEntityTooLarge, "payload_too_large")
			getJSON(t, srv, key, "/api/v1/imports/imp_unknown").expectProblem(t, http.StatusNotFound, "not_found")

			other := h.merchant("other", "correct horse battery")
			getJSON(t, srv, other.SecretKey, "/api/v1/imports/"+id).expectProblem(t, http.StatusNotFound, "not_found")

			raw, _ := json.Marshal(map[string]any{"kind": "inventory"})
			r2, _ := http.NewRequest("POST", srv.URL+"/api/v1/imports", bytes.NewReader(raw))
			r2.Header.Set("Content-Type", "application/json")
			r2.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(r2)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("JSON body: %d", resp.StatusCode)
			}
			if n := db.Client.ImportJob.Query().CountX(ctx); n != 2 {
				t.Fatalf("%d import jobs, want 2", n)
			}
			if !strings.Contains(getJSON(t, srv, key, "/api/v1/openapi.json").json(t)["paths"].(map[string]any)["/api/v1/imports"].(map[string]any)["post"].(map[string]any)["requestBody"].(map[string]any)["content"].(map[string]any)["multipart/form-data"].(map[string]any)["schema"].(map[string]any)["$ref"].(string), "ImportCreate") {
				t.Fatal("the OpenAPI document does not describe the multipart upload")
			}
		})
	}
}
