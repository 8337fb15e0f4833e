package shopifycsv

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ProductsHeader is the legacy product CSV header as Mercantile exports it: the columns
// of Shopify's template that the catalog model carries, in the template's order.
var ProductsHeader = []string{
	"Handle", "Title", "Body (HTML)", "Vendor", "Type", "Tags", "Published",
	"Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value", "Option3 Name", "Option3 Value",
	"Variant SKU", "Variant Grams", "Variant Inventory Qty", "Variant Price", "Variant Compare At Price",
	"Variant Barcode", "Image Src", "Image Position", "Image Alt Text", "Variant Image", "Status",
}

// productAliases maps each column the parity check reads to its names in the legacy and
// the new dialect.
var productAliases = map[string][]string{
	"handle":  {"Handle", "URL handle"},
	"sku":     {"Variant SKU", "SKU"},
	"price":   {"Variant Price", "Price"},
	"qty":     {"Variant Inventory Qty", "Inventory quantity"},
	"option1": {"Option1 Value", "Option1 value"},
	"option2": {"Option2 Value", "Option2 value"},
	"option3": {"Option3 Value", "Option3 value"},
}

// VariantRow is one variant row of a product CSV, as the parity check reads it.
type VariantRow struct {
	Row    int
	Handle string
	SKU    string
	Price  string
	// Qty is the inventory quantity cell, empty when the file leaves stock untracked.
	Qty string
	// Options are the option values; a single "Default Title" (a product without
	// options) reads as none.
	Options [3]string
}

// Key identifies the variant without its SKU: the handle and the option values.
func (v VariantRow) Key() string {
	return v.Handle + "\x00" + v.Options[0] + "\x00" + v.Options[1] + "\x00" + v.Options[2]
}

// Quantity is Qty as a number; ok is false when the cell is empty or not a whole number.
func (v VariantRow) Quantity() (int64, bool) {
	n, err := strconv.ParseInt(v.Qty, 10, 64)
	return n, err == nil
}

// ReadVariants calls fn with every variant row of a product CSV in either dialect,
// skipping image-only rows (a handle and an image, no option value, SKU or price).
// Errors: the header names no handle column, the file is not CSV, or fn's.
func ReadVariants(r io.Reader, fn func(VariantRow) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return errors.New("the product file is empty")
	}
	if err != nil {
		return fmt.Errorf("reading the product header: %w", err)
	}
	names := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := names[h]; !dup {
			names[h] = i
		}
	}
	col := map[string]int{}
	for key, aliases := range productAliases {
		col[key] = -1
		for _, a := range aliases {
			if i, ok := names[strings.ToLower(a)]; ok {
				col[key] = i
				break
			}
		}
	}
	if col["handle"] < 0 {
		return errors.New("not a Shopify product CSV: the header has no Handle or URL handle column")
	}
	cell := func(rec []string, key string) string {
		if i := col[key]; i >= 0 && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("product file row %d: %w", row, err)
		}
		v := VariantRow{Row: row, Handle: cell(rec, "handle"), SKU: cell(rec, "sku"), Price: cell(rec, "price"), Qty: cell(rec, "qty"),
			Options: [3]string{cell(rec, "option1"), cell(rec, "option2"), cell(rec, "option3")}}
		if v.Handle == "" || (v.SKU == "" && v.Price == "" && v.Options == [3]string{}) {
			continue
		}
		if v.Options == [3]string{"Default Title"} {
			v.Options[0] = ""
		}
		if err := fn(v); err != nil {
			return err
		}
	}
}
