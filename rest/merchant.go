package rest

import (
	"net/http"
	"time"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/merchant"
	"github.com/mercantile/mercantile/internal/merchants"
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
	CreatedAt         string  `json:"created_at"`
	UpdatedAt         string  `json:"updated_at"`
}

func toMerchantJSON(m *ent.Merchant) merchantJSON {
	return merchantJSON{
		ID: m.ID.String(), Name: m.Name, Handle: m.Handle, Currency: m.Currency,
		Status: string(m.Status), ShopifyShopDomain: m.ShopifyShopDomain,
		CreatedAt: timeJSON(m.CreatedAt), UpdatedAt: timeJSON(m.UpdatedAt),
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
	Name              *string          `json:"name"`
	Currency          *string          `json:"currency"`
	ShopifyShopDomain *string          `json:"shopify_shop_domain"`
	Status            *merchant.Status `json:"status"`
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
