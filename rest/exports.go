package rest

import (
	"context"
	"io"
	"net/http"
)

// csvResponse writes a streamed CSV file. The headers go out with the first bytes, so an
// error before any byte is a problem+json answer; an error later can only cut the
// transfer short (the client sees a truncated body, never a file that looks whole).
type csvResponse struct {
	w        http.ResponseWriter
	filename string
	started  bool
}

func (c *csvResponse) Write(p []byte) (int, error) {
	if !c.started {
		c.started = true
		h := c.w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+c.filename+`"`)
		h.Set("Cache-Control", "no-store")
		c.w.WriteHeader(http.StatusOK)
	}
	n, err := c.w.Write(p)
	if f, ok := c.w.(http.Flusher); ok && err == nil {
		f.Flush()
	}
	return n, err
}

func (a *api) streamCSV(w http.ResponseWriter, r *http.Request, filename string, write func(ctx context.Context, w io.Writer) error) {
	out := &csvResponse{w: w, filename: filename}
	err := write(r.Context(), out)
	if err == nil {
		return
	}
	if !out.started {
		writeError(w, r, a.log, err)
		return
	}
	a.log.ErrorContext(r.Context(), "export cut short", "path", r.URL.Path, "err", err)
	panic(http.ErrAbortHandler)
}

func (a *api) exportProducts(w http.ResponseWriter, r *http.Request) {
	a.streamCSV(w, r, "products_export.csv", a.exports.Products)
}

func (a *api) exportOrders(w http.ResponseWriter, r *http.Request) {
	a.streamCSV(w, r, "orders_export.csv", a.exports.Orders)
}

func (a *api) getParity(w http.ResponseWriter, r *http.Request) {
	report, err := a.parity.Latest(r.Context())
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, report)
}

func (a *api) exportRoutes() []route {
	if a.exports == nil || a.parity == nil {
		return nil
	}
	return []route{
		{"GET", "/api/v1/exports/products.csv", private, a.exportProducts, operation{
			ID: "exportProducts", Tag: "Imports and exports", CSV: true,
			Summary: "The catalog as a Shopify product CSV (legacy header: Handle, Title, Body (HTML), Vendor, Type, Tags, Published, Option1-3 Name/Value, Variant SKU, Variant Grams, Variant Inventory Qty, Variant Price, Variant Compare At Price, Variant Barcode, Image Src, Image Position, Image Alt Text, Status), streamed."}},
		{"GET", "/api/v1/exports/orders.csv", private, a.exportOrders, operation{
			ID: "exportOrders", Tag: "Imports and exports", CSV: true,
			Summary: "The orders in Shopify's orders export format (one row per line item; columns the model does not carry are empty), streamed."}},
		{"GET", "/api/v1/parity", private, a.getParity, operation{
			ID: "getParity", Tag: "Imports and exports", Response: "Parity",
			Summary:  "Compare the data here with the files of the latest succeeded shopify_products and shopify_orders imports: counts, SKUs missing or extra, price and stock differences, orders per month.",
			Conflict: "No succeeded shopify_products import, or its file is no longer stored (conflict)."}},
	}
}
