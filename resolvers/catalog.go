package resolvers

import (
	"context"
	"sort"

	"github.com/99designs/gqlgen/graphql"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/graph"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/media"
	"github.com/mercantile/mercantile/internal/pulid"
)

// The catalog returns its REST read model; mutations answer with the ent node instead,
// re-read through the client, so that clients can select its edges and connections.

func (r *Resolver) productNode(ctx context.Context) func(catalog.Product, error) (*ent.Product, error) {
	return func(p catalog.Product, err error) (*ent.Product, error) {
		if err != nil {
			return nil, err
		}
		return r.client.Product.Get(ctx, pulid.ID(p.ID))
	}
}

func (r *Resolver) variantNode(ctx context.Context) func(catalog.Variant, error) (*ent.Variant, error) {
	return func(v catalog.Variant, err error) (*ent.Variant, error) {
		if err != nil {
			return nil, err
		}
		return r.client.Variant.Get(ctx, pulid.ID(v.ID))
	}
}

func (r *Resolver) imagePayload(ctx context.Context) func(catalog.Image, media.Upload, error) (*graph.CreateProductImagePayload, error) {
	return func(img catalog.Image, up media.Upload, err error) (*graph.CreateProductImagePayload, error) {
		if err != nil {
			return nil, err
		}
		node, err := r.client.ProductImage.Get(ctx, pulid.ID(img.ID))
		if err != nil {
			return nil, err
		}
		return &graph.CreateProductImagePayload{Image: node, Upload: &up}, nil
	}
}

func productInput(in graph.CreateProductInput) catalog.ProductInput {
	out := catalog.ProductInput{
		Title: &in.Title, Handle: in.Handle, DescriptionHTML: in.DescriptionHTML, Vendor: in.Vendor,
		ProductType: in.ProductType, Tags: optionalSlice(in.Tags), Status: in.Status, Options: optionInputs(in.Options),
		Variants: make([]catalog.VariantInput, len(in.Variants)),
	}
	for i, v := range in.Variants {
		out.Variants[i] = variantInput(*v)
	}
	return out
}

func productUpdate(in graph.UpdateProductInput) catalog.ProductInput {
	return catalog.ProductInput{
		Title: in.Title, Handle: in.Handle, DescriptionHTML: in.DescriptionHTML, Vendor: in.Vendor,
		ProductType: in.ProductType, Tags: optionalSlice(in.Tags), Status: in.Status, Options: optionInputs(in.Options),
	}
}

func variantInput(in graph.CreateVariantInput) catalog.VariantInput {
	return catalog.VariantInput{
		SKU: &in.Sku, OptionValues: optionValues(in.OptionValues), Price: int64Of(&in.Price),
		CompareAtPrice: int64Of(in.CompareAtPrice), Barcode: in.Barcode, WeightGrams: in.WeightGrams,
		ImageID: imageRef(in.ImageID),
	}
}

func variantUpdate(in graph.UpdateVariantInput) catalog.VariantInput {
	return catalog.VariantInput{
		SKU: in.Sku, OptionValues: optionValues(in.OptionValues), Price: int64Of(in.Price),
		CompareAtPrice: int64Of(in.CompareAtPrice), Barcode: in.Barcode, WeightGrams: in.WeightGrams,
		ImageID: optionalID(in.ImageID),
	}
}

// imageRef is a variant's image on creation, where null and absent both mean none.
func imageRef(id *pulid.ID) catalog.OptionalID {
	if id == nil {
		return catalog.OptionalID{}
	}
	return catalog.SetTo(id)
}

// optionalID keeps "absent" (leave as it is) apart from null (clear), as REST does.
func optionalID(o graphql.Omittable[*pulid.ID]) catalog.OptionalID {
	id, set := o.ValueOK()
	if !set {
		return catalog.OptionalID{}
	}
	return catalog.SetTo(id)
}

func imageInput(in graph.CreateProductImageInput) catalog.ImageInput {
	return catalog.ImageInput{Filename: in.Filename, ContentType: in.ContentType, Alt: in.Alt, SizeBytes: int64Of(in.SizeBytes)}
}

// optionalSlice keeps "absent" (nil) apart from "empty": an update with tags: [] clears
// them, one without tags leaves them.
func optionalSlice[T any](s []T) *[]T {
	if s == nil {
		return nil
	}
	return &s
}

func optionInputs(in []*graph.OptionInput) *[]catalog.OptionInput {
	if in == nil {
		return nil
	}
	out := make([]catalog.OptionInput, len(in))
	for i, o := range in {
		out[i] = catalog.OptionInput{Name: o.Name, Values: o.Values}
	}
	return &out
}

// optionValues turns GraphQL's name/value pairs into the catalog's map. Absent stays nil,
// which on an update leaves the variant's values as they are.
func optionValues(in []*graph.OptionValueInput) map[string]string {
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in))
	for _, ov := range in {
		out[ov.Name] = ov.Value
	}
	return out
}

// int64Of widens GraphQL's Int, which gqlgen decodes into a 64-bit int, to the int64 of
// money and sizes.
func int64Of(n *int) *int64 {
	if n == nil {
		return nil
	}
	v := int64(*n)
	return &v
}

// uploadHeaders lists an upload's headers in name order, so responses are stable.
func uploadHeaders(h map[string]string) []*graph.UploadHeader {
	out := make([]*graph.UploadHeader, 0, len(h))
	for name, value := range h {
		out = append(out, &graph.UploadHeader{Name: name, Value: value})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// available is what v can still sell: summed from its inventory levels when the query
// loaded them along with v, otherwise through the request's loader, which reads the stock
// of every variant of the response together.
func (r *Resolver) available(ctx context.Context, v *ent.Variant) (int, error) {
	if levels, ok := loadedLevels(ctx, v); ok {
		return int(catalog.Available(levels)), nil
	}
	n, err := r.loadersFrom(ctx).available.Load(ctx, v.ID)
	return int(n), err
}

// loadedLevels returns v's inventory levels if they were loaded with it. entgql loads the
// edges a query selects under the alias of their field (the field's name when it has
// none), so the levels are found by looking for inventoryLevels among the fields selected
// beside this one.
func loadedLevels(ctx context.Context, v *ent.Variant) ([]*ent.InventoryLevel, bool) {
	if levels, err := v.Edges.InventoryLevelsOrErr(); err == nil {
		return levels, true
	}
	// The nearest field above this one is the one that returned v; list elements in
	// between have no field of their own.
	parent := graphql.GetFieldContext(ctx).Parent
	for parent != nil && parent.Field.Field == nil {
		parent = parent.Parent
	}
	if parent == nil {
		return nil, false
	}
	for _, f := range graphql.CollectFields(graphql.GetOperationContext(ctx), parent.Field.Selections, variantTypes) {
		if f.Name != "inventoryLevels" {
			continue
		}
		if levels, err := v.NamedInventoryLevels(f.Alias); err == nil {
			return levels, true
		}
	}
	return nil, false
}

// variantTypes are the types a selection on a Variant satisfies (fragments on either).
var variantTypes = []string{"Variant", "Node"}
