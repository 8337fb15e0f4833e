// Package exports writes the viewer's catalog and orders as Shopify CSV files: products
// in the legacy product header (shopifycsv.ProductsHeader), orders in the orders export
// header (shopifycsv.OrdersHeader). Files are streamed a keyset page at a time, so
// memory never holds a whole table. It reads only; it must not change anything.
//
// Product columns carried by the model: Handle, Title, Body (HTML), Vendor, Type, Tags,
// Published, Option1-3 Name/Value, Variant SKU, Variant Grams, Variant Inventory Qty (what
// can still be sold: on hand less reserved, over all warehouses), Variant Price, Variant
// Compare At Price, Variant Barcode, Image Src, Image Position, Image Alt Text, Variant
// Image (the URL its Image Src row has, so an import links the same image), Status.
// Order columns filled: Name, Email, Financial Status, Paid at, Fulfillment Status,
// Currency, Subtotal, Shipping, Taxes, Total, Created at (when the order was placed at
// its source, in UTC), Lineitem quantity/name/price/sku, Shipping address columns,
// Notes, Cancelled at, Refunded Amount, Id (Shopify's) and Source; the others stay
// empty because the model does not carry them.
package exports

import (
	"context"
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/order"
	"github.com/mercantile/mercantile/ent/orderlineitem"
	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/ent/productimage"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/pulid"
	"github.com/mercantile/mercantile/internal/shopifycsv"
)

// Page sizes: enough rows per query to stream quickly, few enough to keep memory flat.
const (
	productPage = 200
	orderPage   = 500
)

// Service writes exports.
type Service struct {
	client  *ent.Client
	catalog *catalog.Service
}

// NewService returns an export service reading with client; cat gives image URLs.
func NewService(client *ent.Client, cat *catalog.Service) *Service {
	return &Service{client: client, catalog: cat}
}

func (s *Service) merchant(ctx context.Context) (*ent.Merchant, error) {
	v, ok := viewer.FromContext(ctx)
	if !ok || v.MerchantID == "" {
		return nil, apperr.New(apperr.Unauthorized, "Credentials are required.")
	}
	m, err := s.client.Merchant.Get(ctx, v.MerchantID)
	return m, apperr.Translate(err)
}

// Products writes the viewer's products to w as a Shopify product CSV, in handle order
// (unique per merchant, so the file is the same however the products were created): a
// product's
// first row carries its fields, each variant and image takes a row, and rows beyond the
// variants are image-only rows.
// Errors: unauthorized; a write error of w is returned as it is.
func (s *Service) Products(ctx context.Context, w io.Writer) error {
	m, err := s.merchant(ctx)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(shopifycsv.ProductsHeader); err != nil {
		return err
	}
	after := ""
	for {
		q := s.client.Product.Query().Order(ent.Asc(product.FieldHandle)).Limit(productPage).
			WithOptions().
			WithVariants(func(vq *ent.VariantQuery) {
				vq.Order(ent.Asc(variant.FieldPosition), ent.Asc(variant.FieldID)).WithInventoryLevels()
			}).
			WithImages(func(iq *ent.ProductImageQuery) {
				iq.Order(ent.Asc(productimage.FieldPosition), ent.Asc(productimage.FieldID))
			})
		if after != "" {
			q.Where(product.HandleGT(after))
		}
		page, err := q.All(ctx)
		if err != nil {
			return apperr.From(err)
		}
		for _, p := range page {
			for _, row := range s.productRows(p, m.Currency) {
				if err := cw.Write(row); err != nil {
					return err
				}
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if len(page) < productPage {
			return nil
		}
		after = page[len(page)-1].Handle
	}
}

// productCol is the position of each product column.
var productCol = func() map[string]int {
	m := make(map[string]int, len(shopifycsv.ProductsHeader))
	for i, h := range shopifycsv.ProductsHeader {
		m[h] = i
	}
	return m
}()

func (s *Service) productRows(p *ent.Product, currency string) [][]string {
	vs, imgs := p.Edges.Variants, p.Edges.Images
	opts := slices.Clone(p.Edges.Options)
	slices.SortFunc(opts, func(a, b *ent.ProductOption) int { return a.Position - b.Position })
	imageURLs := make(map[pulid.ID]string, len(imgs))
	for _, img := range imgs {
		imageURLs[img.ID] = s.catalog.ImageURL(img)
	}
	n := max(len(vs), len(imgs), 1)
	rows := make([][]string, n)
	for i := range rows {
		row := make([]string, len(shopifycsv.ProductsHeader))
		set := func(col, value string) { row[productCol[col]] = value }
		set("Handle", p.Handle)
		if i == 0 {
			set("Title", p.Title)
			set("Body (HTML)", p.DescriptionHTML)
			set("Vendor", p.Vendor)
			set("Type", p.ProductType)
			set("Tags", strings.Join(p.Tags, ", "))
			set("Published", strings.ToUpper(strconv.FormatBool(p.PublishedAt != nil)))
			set("Status", string(p.Status))
			if len(opts) == 0 {
				set("Option1 Name", "Title")
			}
			for _, o := range opts {
				set("Option"+strconv.Itoa(o.Position)+" Name", o.Name)
			}
		}
		if i < len(vs) {
			v := vs[i]
			values := [3]string{v.Option1, v.Option2, v.Option3}
			if len(opts) == 0 && values == [3]string{} {
				values[0] = "Default Title"
			}
			for j, value := range values {
				set("Option"+strconv.Itoa(j+1)+" Value", value)
			}
			set("Variant SKU", v.Sku)
			set("Variant Grams", strconv.Itoa(v.WeightGrams))
			set("Variant Inventory Qty", strconv.FormatInt(catalog.Available(v.Edges.InventoryLevels), 10))
			set("Variant Price", shopifycsv.FormatMoney(v.Price, currency))
			if v.CompareAtPrice != nil {
				set("Variant Compare At Price", shopifycsv.FormatMoney(*v.CompareAtPrice, currency))
			}
			set("Variant Barcode", v.Barcode)
			if v.ImageID != nil {
				set("Variant Image", imageURLs[*v.ImageID])
			}
		}
		if i < len(imgs) {
			img := imgs[i]
			set("Image Src", imageURLs[img.ID])
			set("Image Position", strconv.Itoa(img.Position))
			set("Image Alt Text", img.Alt)
		}
		rows[i] = row
	}
	return rows
}

// orderCol is the position of each orders export column.
var orderCol = func() map[string]int {
	m := make(map[string]int, len(shopifycsv.OrdersHeader))
	for i, h := range shopifycsv.OrdersHeader {
		m[h] = i
	}
	return m
}()

// Orders writes the viewer's orders to w as a Shopify orders export, in order number
// order, lines in the order they were written: one row per line item, the order's fields on its first row, continuation rows carrying Name, Created at
// and the line item columns, as Shopify writes them.
// Errors: unauthorized; a write error of w is returned as it is.
func (s *Service) Orders(ctx context.Context, w io.Writer) error {
	if _, err := s.merchant(ctx); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(shopifycsv.OrdersHeader); err != nil {
		return err
	}
	var after int64
	first := true
	for {
		q := s.client.Order.Query().Order(ent.Asc(order.FieldNumber)).Limit(orderPage).
			WithLineItems(func(lq *ent.OrderLineItemQuery) { lq.Order(ent.Asc(orderlineitem.FieldID)) })
		if !first {
			q.Where(order.NumberGT(after))
		}
		page, err := q.All(ctx)
		if err != nil {
			return apperr.From(err)
		}
		for _, o := range page {
			for _, row := range orderRows(o) {
				if err := cw.Write(row); err != nil {
					return err
				}
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if len(page) < orderPage {
			return nil
		}
		after, first = page[len(page)-1].Number, false
	}
}

// placedAt is when an order was placed: at its source for imported and synced orders,
// else when it was created here.
func placedAt(o *ent.Order) time.Time {
	if o.ProcessedAt != nil {
		return *o.ProcessedAt
	}
	return o.CreatedAt
}

func formatTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(shopifycsv.TimeLayout)
}

func orderRows(o *ent.Order) [][]string {
	lines := o.Edges.LineItems
	placed := placedAt(o)
	n := max(len(lines), 1)
	rows := make([][]string, n)
	for i := range rows {
		row := make([]string, len(shopifycsv.OrdersHeader))
		set := func(col, value string) { row[orderCol[col]] = value }
		set("Name", o.Name)
		set("Created at", formatTime(&placed))
		if i == 0 {
			money := func(minor int64) string { return shopifycsv.FormatMoney(minor, o.Currency) }
			set("Email", o.Email)
			set("Financial Status", string(o.FinancialStatus))
			set("Paid at", formatTime(o.PaidAt))
			set("Fulfillment Status", string(o.FulfillmentStatus))
			set("Currency", o.Currency)
			set("Subtotal", money(o.Subtotal))
			set("Shipping", money(o.ShippingTotal))
			set("Taxes", money(o.TaxTotal))
			set("Total", money(o.Total))
			set("Refunded Amount", money(o.AmountRefunded))
			set("Notes", o.Note)
			set("Cancelled at", formatTime(o.CancelledAt))
			set("Source", string(o.Source))
			if o.ShopifyID != nil {
				set("Id", strconv.FormatInt(*o.ShopifyID, 10))
			}
			a := o.ShippingAddress
			set("Shipping Name", a.Name)
			set("Shipping Company", a.Company)
			set("Shipping Address1", a.Line1)
			set("Shipping Address2", a.Line2)
			set("Shipping Street", strings.TrimSpace(a.Line1+" "+a.Line2))
			set("Shipping City", a.City)
			set("Shipping Zip", a.PostalCode)
			set("Shipping Province", a.Region)
			set("Shipping Country", a.Country)
			set("Shipping Phone", a.Phone)
		}
		if i < len(lines) {
			l := lines[i]
			title := l.Title
			if l.VariantTitle != "" && l.VariantTitle != "Default Title" {
				title += " - " + l.VariantTitle
			}
			set("Lineitem quantity", strconv.Itoa(l.Quantity))
			set("Lineitem name", title)
			set("Lineitem price", shopifycsv.FormatMoney(l.UnitPrice, o.Currency))
			set("Lineitem sku", l.Sku)
		}
		rows[i] = row
	}
	return rows
}
