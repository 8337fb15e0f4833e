package rest

import (
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/media"
	"github.com/mercantile/mercantile/internal/paging"
	"github.com/mercantile/mercantile/internal/pulid"
)

// idParam is the {id} of the route.
func idParam(r *http.Request) pulid.ID { return pulid.ID(chi.URLParam(r, "id")) }

// optionalQuery returns the query parameter name, or nil when the request has none.
func optionalQuery(r *http.Request, name string) *string {
	q := r.URL.Query()
	if !q.Has(name) {
		return nil
	}
	v := q.Get(name)
	return &v
}

func (a *api) createProduct(w http.ResponseWriter, r *http.Request) {
	var in catalog.ProductInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	p, err := a.catalog.CreateProduct(r.Context(), in)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, p)
}

func (a *api) listProducts(w http.ResponseWriter, r *http.Request) {
	page, err := pageFrom(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	f := catalog.ListFilter{
		Vendor: optionalQuery(r, "vendor"), ProductType: optionalQuery(r, "product_type"),
		Tag: optionalQuery(r, "tag"), UpdatedAfter: optionalQuery(r, "updated_after"),
	}
	if s := optionalQuery(r, "status"); s != nil {
		status := product.Status(*s)
		f.Status = &status
	}
	out, err := a.catalog.ProductsJSON(r.Context(), f, page)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeProductPage(w, out)
}

func (a *api) getProduct(w http.ResponseWriter, r *http.Request) {
	p, err := a.catalog.ProductJSON(r.Context(), idParam(r))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeRawJSON(w, http.StatusOK, p)
}

func (a *api) getProductByHandle(w http.ResponseWriter, r *http.Request) {
	p, err := a.catalog.ProductByHandleJSON(r.Context(), chi.URLParam(r, "handle"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeRawJSON(w, http.StatusOK, p)
}

func (a *api) patchProduct(w http.ResponseWriter, r *http.Request) {
	var in catalog.ProductInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	p, err := a.catalog.UpdateProduct(r.Context(), idParam(r), in)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (a *api) deleteProduct(w http.ResponseWriter, r *http.Request) {
	if err := a.catalog.DeleteProduct(r.Context(), idParam(r)); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) createVariant(w http.ResponseWriter, r *http.Request) {
	var in catalog.VariantInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	v, err := a.catalog.CreateVariant(r.Context(), idParam(r), in)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (a *api) getVariant(w http.ResponseWriter, r *http.Request) {
	v, err := a.catalog.Variant(r.Context(), idParam(r))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *api) getVariantBySKU(w http.ResponseWriter, r *http.Request) {
	v, err := a.catalog.VariantBySKUJSON(r.Context(), skuParam(r))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeRawJSON(w, http.StatusOK, v)
}

func (a *api) patchVariant(w http.ResponseWriter, r *http.Request) {
	var in catalog.VariantInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	v, err := a.catalog.UpdateVariant(r.Context(), idParam(r), in)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *api) deleteVariant(w http.ResponseWriter, r *http.Request) {
	if err := a.catalog.DeleteVariant(r.Context(), idParam(r)); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) search(w http.ResponseWriter, r *http.Request) {
	// The search cursor is the catalog's own (score and id), so only limit is parsed here
	// and after goes to the catalog as it came.
	q := r.URL.Query()
	page, err := paging.Parse(q.Get("limit"), "")
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	out, err := a.catalog.SearchJSON(r.Context(), q.Get("q"), page.Limit, q.Get("after"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeProductPage(w, out)
}

// writeProductPage writes a page of products in the list shape ({data, page_info}) with
// the products' JSON as the catalog rendered (and cached) it: no decoding, no encoding,
// no copy.
func writeProductPage(w http.ResponseWriter, page catalog.RenderedPage) {
	info := pageInfoJSON{HasNextPage: page.HasMore}
	if page.EndCursor != "" {
		info.EndCursor = &page.EndCursor
	}
	tail, err := json.Marshal(info)
	if err != nil {
		panic(err) // a struct of a bool and a string always encodes
	}
	writeRawJSON(w, http.StatusOK, []byte(`{"data":`), page.Data, []byte(`,"page_info":`), tail, []byte("}"))
}

// uploadJSON tells the client how to send the image's bytes.
type uploadJSON struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt string            `json:"expires_at"`
}

type imageUploadJSON struct {
	Image  catalog.Image `json:"image"`
	Upload uploadJSON    `json:"upload"`
}

func toUploadJSON(u media.Upload) uploadJSON {
	return uploadJSON{Method: u.Method, URL: u.URL, Headers: u.Headers, ExpiresAt: timeJSON(u.ExpiresAt)}
}

func (a *api) createImage(w http.ResponseWriter, r *http.Request) {
	var in catalog.ImageInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	img, up, err := a.catalog.CreateImage(r.Context(), idParam(r), in)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, imageUploadJSON{Image: img, Upload: toUploadJSON(up)})
}

// catalogRoutes are the catalog's endpoints. Reads are open to storefront (publishable)
// keys; writes need a secret key or a staff session.
func (a *api) catalogRoutes() []route {
	id := "/api/v1/products/{id}"
	filters := []param{
		{Name: "status", Description: "active, draft or archived.", Schema: enum("active", "draft", "archived")},
		{Name: "vendor", Description: "Exact vendor."},
		{Name: "product_type", Description: "Exact product type."},
		{Name: "tag", Description: "Products carrying this tag."},
		{Name: "updated_after", Description: "Products changed after this RFC 3339 time.", Schema: dateTime},
	}
	return []route{
		{"POST", "/api/v1/products", private, a.createProduct, operation{
			ID: "createProduct", Tag: "Catalog", Summary: "Create a product with its options and variants; a SKU the merchant already has is a conflict naming it.",
			Request: "ProductCreate", Response: "Product", Status: http.StatusCreated, Idempotent: true}},
		{"GET", "/api/v1/products", storefront, a.listProducts, operation{
			ID: "listProducts", Tag: "Catalog", Summary: "The merchant's products in creation order (publishable keys allowed).",
			Response: "ProductList", Paged: true, Params: filters}},
		{"GET", id, storefront, a.getProduct, operation{
			ID: "getProduct", Tag: "Catalog", Summary: "A product with its variants and images (publishable keys allowed).", Response: "Product"}},
		{"PATCH", id, private, a.patchProduct, operation{
			ID: "updateProduct", Tag: "Catalog", Summary: "Change a product; absent fields stay. Options may be renamed or extended while every variant's values stay valid.",
			Request: "ProductUpdate", Response: "Product"}},
		{"DELETE", id, private, a.deleteProduct, operation{
			ID: "deleteProduct", Tag: "Catalog", Summary: "Delete a product without stock history or orders (archive it otherwise).", Status: http.StatusNoContent}},
		{"GET", "/api/v1/products/by-handle/{handle}", storefront, a.getProductByHandle, operation{
			ID: "getProductByHandle", Tag: "Catalog", Summary: "The product with this handle (publishable keys allowed).", Response: "Product"}},
		{"POST", id + "/variants", private, a.createVariant, operation{
			ID: "createVariant", Tag: "Catalog", Summary: "Add a variant to a product.", Request: "VariantCreate", Response: "Variant", Status: http.StatusCreated,
			Idempotent: true}},
		{"POST", id + "/images", private, a.createImage, operation{
			ID: "createProductImage", Tag: "Catalog", Summary: "Add an image: returns it (pending) and the upload request that sends its bytes straight to storage.",
			Request: "ImageCreate", Response: "ImageUpload", Status: http.StatusCreated, Idempotent: true}},
		{"GET", "/api/v1/variants/{id}", storefront, a.getVariant, operation{
			ID: "getVariant", Tag: "Catalog", Summary: "A variant with its availability (publishable keys allowed).", Response: "Variant"}},
		{"PATCH", "/api/v1/variants/{id}", private, a.patchVariant, operation{
			ID: "updateVariant", Tag: "Catalog", Summary: "Change a variant; absent fields stay.", Request: "VariantUpdate", Response: "Variant"}},
		{"DELETE", "/api/v1/variants/{id}", private, a.deleteVariant, operation{
			ID: "deleteVariant", Tag: "Catalog", Summary: "Delete a variant without stock history or orders; not a product's last one.", Status: http.StatusNoContent}},
		{"GET", "/api/v1/variants/by-sku/{sku}", storefront, a.getVariantBySKU, operation{
			ID: "getVariantBySKU", Tag: "Catalog", Summary: "The variant with this SKU (publishable keys allowed).", Response: "Variant"}},
		{"GET", "/api/v1/search", storefront, a.search, operation{
			ID: "searchProducts", Tag: "Catalog", Summary: "Full-text search over title, description, vendor, tags and SKUs, best match first (publishable keys allowed).",
			Response: "ProductList", Paged: true, Params: []param{{Name: "q", Description: "The search text (1 to 256 characters).", Required: true}}}},
	}
}
