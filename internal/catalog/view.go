package catalog

import (
	"context"
	"sort"
	"time"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/inventorylevel"
	"github.com/mercantile/mercantile/ent/productimage"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/pulid"
)

// Product is the catalog's read model of a product: what REST returns and what the cache
// keeps. Field names are the v1 contract (API.md).
type Product struct {
	ID              string    `json:"id"`
	Title           string    `json:"title"`
	Handle          string    `json:"handle"`
	DescriptionHTML string    `json:"description_html"`
	Vendor          string    `json:"vendor"`
	ProductType     string    `json:"product_type"`
	Tags            []string  `json:"tags"`
	Status          string    `json:"status"`
	Options         []Option  `json:"options"`
	Variants        []Variant `json:"variants"`
	Images          []Image   `json:"images"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// Option is one axis a product varies on.
type Option struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// Variant is a sellable unit; Available is summed over every warehouse.
type Variant struct {
	ID             string            `json:"id"`
	ProductID      string            `json:"product_id"`
	SKU            string            `json:"sku"`
	Title          string            `json:"title"`
	OptionValues   map[string]string `json:"option_values"`
	Price          int64             `json:"price"`
	CompareAtPrice *int64            `json:"compare_at_price"`
	Currency       string            `json:"currency"`
	Barcode        string            `json:"barcode"`
	WeightGrams    int               `json:"weight_grams"`
	Position       int               `json:"position"`
	Available      int64             `json:"available"`
	ImageID        *string           `json:"image_id"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
}

// Image is a product image.
type Image struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	Position int    `json:"position"`
	Alt      string `json:"alt"`
	Status   string `json:"status"`
}

// productView builds the read model from a product loaded with its options, variants
// (with inventory levels) and images.
func (s *Service) productView(p *ent.Product, currency string) Product {
	out := Product{
		ID: p.ID.String(), Title: p.Title, Handle: p.Handle, DescriptionHTML: p.DescriptionHTML,
		Vendor: p.Vendor, ProductType: p.ProductType, Tags: p.Tags, Status: string(p.Status),
		Options: []Option{}, Variants: []Variant{}, Images: []Image{},
		CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	opts := append([]*ent.ProductOption(nil), p.Edges.Options...)
	sort.Slice(opts, func(i, j int) bool { return opts[i].Position < opts[j].Position })
	for _, o := range opts {
		out.Options = append(out.Options, Option{Name: o.Name, Values: o.Values})
	}
	for _, v := range p.Edges.Variants {
		out.Variants = append(out.Variants, variantView(v, opts, currency))
	}
	sort.Slice(out.Variants, func(i, j int) bool {
		if out.Variants[i].Position != out.Variants[j].Position {
			return out.Variants[i].Position < out.Variants[j].Position
		}
		return out.Variants[i].ID < out.Variants[j].ID
	})
	for _, img := range p.Edges.Images {
		out.Images = append(out.Images, s.imageView(img))
	}
	sort.Slice(out.Images, func(i, j int) bool { return out.Images[i].Position < out.Images[j].Position })
	return out
}

func variantView(v *ent.Variant, opts []*ent.ProductOption, currency string) Variant {
	values := map[string]string{}
	for _, o := range opts {
		if val := optionValue(v, o.Position); val != "" {
			values[o.Name] = val
		}
	}
	return Variant{
		ID: v.ID.String(), ProductID: v.ProductID.String(), SKU: v.Sku, Title: v.Title, OptionValues: values,
		Price: v.Price, CompareAtPrice: v.CompareAtPrice, Currency: currency, Barcode: v.Barcode,
		WeightGrams: v.WeightGrams, Position: v.Position, Available: Available(v.Edges.InventoryLevels),
		ImageID: (*string)(v.ImageID), CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC(),
	}
}

func optionValue(v *ent.Variant, position int) string {
	switch position {
	case 1:
		return v.Option1
	case 2:
		return v.Option2
	case 3:
		return v.Option3
	}
	return ""
}

// Available is what a variant can still sell: its stock on hand less what orders have
// reserved, over every warehouse holding it.
func Available(levels []*ent.InventoryLevel) int64 {
	var n int64
	for _, l := range levels {
		n += l.OnHand - l.Reserved
	}
	return n
}

// Availability returns what each variant can still sell (see Available), reading the
// stock of all of them in one query; variants without stock levels have 0.
// Errors: none beyond the data layer's.
func (s *Service) Availability(ctx context.Context, variantIDs []pulid.ID) (map[pulid.ID]int64, error) {
	levels, err := s.client.InventoryLevel.Query().Where(inventorylevel.VariantIDIn(variantIDs...)).All(ctx)
	if err != nil {
		return nil, apperr.From(err)
	}
	byVariant := make(map[pulid.ID][]*ent.InventoryLevel, len(variantIDs))
	for _, l := range levels {
		byVariant[l.VariantID] = append(byVariant[l.VariantID], l)
	}
	out := make(map[pulid.ID]int64, len(variantIDs))
	for _, id := range variantIDs {
		out[id] = Available(byVariant[id])
	}
	return out, nil
}

func (s *Service) imageView(img *ent.ProductImage) Image {
	return Image{ID: img.ID.String(), URL: s.ImageURL(img), Position: img.Position, Alt: img.Alt, Status: string(img.Status)}
}

// ImageURL is where clients read the image: the media store's URL of its object, or the
// address an imported image came from while it has no object of its own (an imported
// image keeps the key a copy would get, and stays pending until one is uploaded).
func (s *Service) ImageURL(img *ent.ProductImage) string {
	if img.SourceURL != "" && img.Status != productimage.StatusUploaded {
		return img.SourceURL
	}
	if s.media != nil && img.StorageKey != "" {
		return s.media.PublicURL(img.StorageKey)
	}
	return img.SourceURL
}
