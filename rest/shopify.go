package rest

import (
	"io"
	"net/http"

	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/shopify"
)

// shopifyReceipt acknowledges a Shopify webhook; Shopify reads only the status.
type shopifyReceipt struct {
	Received bool   `json:"received"`
	Outcome  string `json:"outcome"`
}

// shopifyWebhook reads the raw body, which the HMAC covers byte for byte, before anything
// decodes it; the router bounds it by MAX_BODY_BYTES. Header names are matched case
// insensitively (net/http canonicalizes them). The work is queued, so the answer is fast.
func (a *api) shopifyWebhook(w http.ResponseWriter, r *http.Request) {
	if a.shopify == nil {
		writeError(w, r, a.log, apperr.New(apperr.Unavailable, "Shopify webhooks are not configured (SHOPIFY_API_SECRET)."))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, r, a.log, decodeError(err))
		return
	}
	outcome, err := a.shopify.Receive(r.Context(), shopify.Delivery{
		Topic: r.Header.Get("X-Shopify-Topic"), HMAC: r.Header.Get("X-Shopify-Hmac-Sha256"),
		ShopDomain: r.Header.Get("X-Shopify-Shop-Domain"), WebhookID: r.Header.Get("X-Shopify-Webhook-Id"), Body: body,
	})
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, shopifyReceipt{Received: true, Outcome: string(outcome)})
}

// shopifyRoutes are Shopify's: the webhooks it delivers.
func (a *api) shopifyRoutes() []route {
	return []route{
		{"POST", "/webhooks/shopify", public, a.shopifyWebhook, operation{
			ID: "shopifyWebhook", Tag: "Webhooks", Summary: "Receive a Shopify webhook, verified by X-Shopify-Hmac-Sha256 (the app secret, or the " +
				"previous one during a rotation), recorded once per X-Shopify-Webhook-Id and applied by a background job: products/create, " +
				"products/update, products/delete, orders/create, orders/updated, orders/paid, orders/cancelled, inventory_levels/update, " +
				"app/uninstalled. Older payloads (updated_at) never overwrite newer ones. Other topics, and webhooks after app/uninstalled, " +
				"are recorded and ignored.",
			Request: "ShopifyWebhook", Response: "ShopifyWebhookReceipt",
			BadRequest:   "X-Shopify-Topic or X-Shopify-Webhook-Id is missing (invalid).",
			Unauthorized: "X-Shopify-Hmac-Sha256 is missing or does not match the raw body (unauthorized); nothing is recorded.",
			NotFound:     "No merchant is connected to X-Shopify-Shop-Domain (not_found)."}},
	}
}
