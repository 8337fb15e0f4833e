package rest

import (
	"net/http"
	"time"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/merchant"
	"github.com/mercantile/mercantile/internal/merchants"
	"github.com/mercantile/mercantile/internal/shopify"
)

// timeJSON formats t as RFC 3339 in UTC, the one time format of the API.
func timeJSON(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func timeJSONPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := timeJSON(*t)
	return &s
}

type merchantJSON struct {
	ID                string  `json:"id"`
	Name              string  `json:"name"`
	Handle            string  `json:"handle"`
	Currency          string  `json:"currency"`
	Status            string  `json:"status"`
	ShopifyShopDomain *string `json:"shopify_shop_domain"`
	// ShopifyConnected says whether stock is pushed to the shop: a domain and an access
	// token are set and the app was not uninstalled. The token itself is never shown.
	ShopifyConnected bool   `json:"shopify_connected"`
	CreatedAt        string `json:"created_at"`
	UpdatedAt        string `json:"updated_at"`
}

func toMerchantJSON(m *ent.Merchant) merchantJSON {
	return merchantJSON{
		ID: m.ID.String(), Name: m.Name, Handle: m.Handle, Currency: m.Currency,
		Status: string(m.Status), ShopifyShopDomain: m.ShopifyShopDomain,
		ShopifyConnected: shopify.Connected(m),
		CreatedAt:        timeJSON(m.CreatedAt), UpdatedAt: timeJSON(m.UpdatedAt),
	}
}

func (a *api) getMerchant(w http.ResponseWriter, r *http.Request) {
	m, err := a.merchants.Get(r.Context())
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toMerchantJSON(m))
}

type merchantPatch struct {
	Name              *string `json:"name"`
	Currency          *string `json:"currency"`
	ShopifyShopDomain *string `json:"shopify_shop_domain"`
	// ShopifyAccessToken is write-only.
	ShopifyAccessToken *string          `json:"shopify_access_token"`
	Status             *merchant.Status `json:"status"`
}

func (a *api) patchMerchant(w http.ResponseWriter, r *http.Request) {
	var req merchantPatch
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	m, err := a.merchants.Update(r.Context(), merchants.UpdateInput(req))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toMerchantJSON(m))
}
