package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
)

const shopifyFixtures = "../../testdata/shopify/"

func TestParityCommand(t *testing.T) {
	t.Setenv("DATABASE_URL", dbtest.PostgresURL(t))
	t.Setenv("IMPORT_DIR", t.TempDir())
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"merchant", "create", "--name", "Parity Goods", "--email", "owner@parity.example.com", "--currency", "EUR"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var created map[string]string
	if err := json.Unmarshal(out.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	mid := created["merchant_id"]
	products, orders := shopifyFixtures+"product_template_2025_new_headers.csv", shopifyFixtures+"orders_export_devstore_2025.csv"
	parityReport := func() map[string]any {
		t.Helper()
		out.Reset()
		if err := run(ctx, []string{"parity", "--merchant", mid, "--products", products, "--orders", orders}, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		var report map[string]any
		if err := json.Unmarshal(out.Bytes(), &report); err != nil {
			t.Fatalf("not JSON: %s", out.String())
		}
		return report
	}
	if r := parityReport(); r["clean"] != false || len(r["missing_skus"].([]any)) != 15 {
		t.Fatalf("empty merchant: %v", r)
	}
	for kind, file := range map[string]string{"shopify_products": products, "shopify_orders": orders} {
		if err := run(ctx, []string{"import", "--merchant", mid, "--kind", kind, "--quiet", file}, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	if r := parityReport(); r["clean"] != true {
		t.Fatalf("after importing: %v", r)
	}
	err := run(ctx, []string{"parity", "--merchant", mid}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--products is required") {
		t.Fatalf("missing flag: %v", err)
	}
}
