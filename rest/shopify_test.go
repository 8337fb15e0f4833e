package rest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mercantile/mercantile/ent/webhookevent"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/shopify"
)

const testShopifySecret = "hush"

// newShopifyHarness serves the API with Shopify webhooks verified by testShopifySecret.
// No queue runs: these tests are about what the endpoint records and enqueues.
func newShopifyHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	deps := h.deps
	deps.Shopify = shopify.New(h.db, deps.Inventory, deps.Catalog, shopify.Config{Secrets: []string{"rotated-in", testShopifySecret}},
		slog.New(slog.DiscardHandler))
	deps.Registry = prometheus.NewRegistry()
	srv := httptest.NewServer(NewRouter(deps))
	t.Cleanup(srv.Close)
	h.server = srv
	return h
}

// postShopify posts body with Shopify's headers written in lower case, as some proxies
// deliver them.
func postShopify(t *testing.T, h *harness, body []byte, hmacValue, domain, webhookID string) reply {
	t.Helper()
	r, err := http.NewRequest("POST", h.server.URL+"/webhooks/shopify", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	r.Header["content-type"] = []string{"application/json"}
	r.Header["x-shopify-topic"] = []string{"products/create"}
	r.Header["x-shopify-hmac-sha256"] = []string{hmacValue}
	r.Header["x-shopify-shop-domain"] = []string{domain}
	r.Header["x-shopify-webhook-id"] = []string{webhookID}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}

func shopifyHMAC(body []byte, key string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestShopifyWebhookEndpoint(t *testing.T) {
	t.Parallel()
	h := newShopifyHarness(t)
	c := h.merchant("shopify-hooks", "")
	body, err := os.ReadFile("../internal/shopify/testdata/products_create.json")
	if err != nil {
		t.Fatal(err)
	}
	sys := viewer.SystemContext(context.Background())

	t.Run("OK connecting: the token is write-only", func(t *testing.T) {
		r := h.do(request{method: "PATCH", path: "/api/v1/merchant", key: c.SecretKey,
			body: map[string]any{"shopify_shop_domain": "Hooks.myshopify.com", "shopify_access_token": "shpat_secret_value"}})
		m := r.json(t)
		if r.status != http.StatusOK || m["shopify_shop_domain"] != "hooks.myshopify.com" || m["shopify_connected"] != true ||
			strings.Contains(string(r.body), "shpat_secret_value") {
			t.Fatalf("PATCH: %d %s", r.status, r.body)
		}
		if got := h.do(request{method: "GET", path: "/api/v1/merchant", key: c.SecretKey}); strings.Contains(string(got.body), "shpat_") {
			t.Fatalf("GET shows the token: %s", got.body)
		}
	})
	t.Run("ErrBadHMAC", func(t *testing.T) {
		postShopify(t, h, body, shopifyHMAC(body, "forged"), "hooks.myshopify.com", "w-1").expectProblem(t, http.StatusUnauthorized, "unauthorized")
		postShopify(t, h, body, "", "hooks.myshopify.com", "w-1").expectProblem(t, http.StatusUnauthorized, "unauthorized")
		if n := h.client.WebhookEvent.Query().CountX(sys); n != 0 {
			t.Fatalf("%d events recorded", n)
		}
	})
	t.Run("ErrUnknownShop", func(t *testing.T) {
		postShopify(t, h, body, shopifyHMAC(body, testShopifySecret), "nobody.myshopify.com", "w-1").expectProblem(t, http.StatusNotFound, "not_found")
	})
	t.Run("OK recorded once, previous secret accepted", func(t *testing.T) {
		for i, want := range []string{"queued", "duplicate"} {
			r := postShopify(t, h, body, shopifyHMAC(body, testShopifySecret), "hooks.myshopify.com", "w-1")
			if r.status != http.StatusOK || r.json(t)["outcome"] != want {
				t.Fatalf("delivery %d: %d %s", i+1, r.status, r.body)
			}
		}
		evs := h.client.WebhookEvent.Query().AllX(sys)
		if len(evs) != 1 || evs[0].Source != webhookevent.SourceShopify || evs[0].Topic != "products/create" || string(evs[0].Payload) != string(body) {
			t.Fatalf("events %+v", evs)
		}
	})
	t.Run("ErrUnconfigured", func(t *testing.T) {
		plain := newHarness(t)
		postShopify(t, plain, body, shopifyHMAC(body, testShopifySecret), "hooks.myshopify.com", "w-1").
			expectProblem(t, http.StatusServiceUnavailable, "unavailable")
	})
}
