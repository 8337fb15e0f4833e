package catalog

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/predicate"
	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/ent/productimage"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/pulid"
)

// optionsOf returns a product's options as inputs, in position order.
func optionsOf(p *ent.Product) []OptionInput {
	opts := make([]OptionInput, len(p.Edges.Options))
	for _, o := range p.Edges.Options {
		if o.Position >= 1 && o.Position <= len(opts) {
			opts[o.Position-1] = OptionInput{Name: o.Name, Values: o.Values}
		}
	}
	return opts
}

// CreateVariant adds a variant to a product.
// Errors: not_found (product), invalid, conflict (SKU or combination taken), forbidden.
func (s *Service) CreateVariant(ctx context.Context, productID pulid.ID, in VariantInput) (Variant, error) {
	err := mayWrite(ctx)
	if err != nil {
		return Variant{}, err
	}
	var id pulid.ID
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Client) error {
		p, err := loadProduct(ctx, tx, func(q *ent.ProductQuery) { q.Where(product.ID(productID)).Modify(s.lockRows) })
		if err != nil {
			return err
		}
		if len(p.Edges.Variants) >= MaxVariants {
			return apperr.New(apperr.PayloadTooLarge, "A product has at most %d variants.", MaxVariants).WithField("variants", "too many variants")
		}
		existing := map[[3]string]bool{}
		last := 0
		for _, ev := range p.Edges.Variants {
			existing[[3]string{ev.Option1, ev.Option2, ev.Option3}] = true
			last = max(last, ev.Position)
		}
		var images map[pulid.ID]bool
		if in.ImageID.ID != nil {
			if images, err = s.lockImages(ctx, tx, p.ID); err != nil {
				return err
			}
		}
		var val apperr.Validation
		nv := checkNewVariants(&val, optionsOf(p), []VariantInput{in}, existing, images)
		if err := val.Err(); err != nil {
			return renameFields(err, "variants[0].", "")
		}
		if err := createVariants(ctx, tx, p.ID, nv, last+1); err != nil {
			return renameFields(err, "variants[0].", "")
		}
		id, err = tx.Variant.Query().Where(variant.Sku(nv[0].sku)).OnlyID(ctx)
		if err != nil {
			return apperr.From(err)
		}
		return s.index(ctx, tx, p.ID)
	})
	if err != nil {
		return Variant{}, err
	}
	return s.Variant(ctx, id)
}

// renameFields rewrites field names of an invalid or conflict error, so single-variant
// calls name "sku" rather than "variants[0].sku".
func renameFields(err error, from, to string) error {
	e := apperr.From(err)
	for i, f := range e.Fields {
		e.Fields[i].Field = strings.Replace(f.Field, from, to, 1)
	}
	return e
}

// Variant returns a variant with its availability.
// Errors: not_found.
func (s *Service) Variant(ctx context.Context, id pulid.ID) (Variant, error) {
	return s.variantWhere(ctx, variant.ID(id))
}

// VariantBySKU returns the variant with sku.
// Errors: not_found.
func (s *Service) VariantBySKU(ctx context.Context, sku string) (Variant, error) {
	raw, err := s.VariantBySKUJSON(ctx, sku)
	if err != nil {
		return Variant{}, err
	}
	var out Variant
	err = json.Unmarshal(raw, &out)
	return out, err
}

// VariantBySKUJSON returns the variant with sku as the API shows it, cached with the
// lists: any catalog write, and any stock change of the merchant, retires it.
// Errors: not_found.
func (s *Service) VariantBySKUJSON(ctx context.Context, sku string) (json.RawMessage, error) {
	v, err := merchantOf(ctx)
	if err != nil {
		return nil, err
	}
	return s.cache.list(ctx, v.MerchantID, "variant|sku|"+sku, func() ([]byte, error) {
		out, err := s.variantWhere(ctx, variant.Sku(sku))
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	})
}

func (s *Service) variantWhere(ctx context.Context, where predicate.Variant) (Variant, error) {
	v, err := merchantOf(ctx)
	if err != nil {
		return Variant{}, err
	}
	row, err := s.client.Variant.Query().Where(where).
		WithInventoryLevels().
		WithProduct(func(pq *ent.ProductQuery) { pq.WithOptions() }).
		Only(ctx)
	if err != nil {
		return Variant{}, apperr.From(err)
	}
	cur, err := s.currency(ctx, s.client, v.MerchantID)
	if err != nil {
		return Variant{}, err
	}
	return variantView(row, row.Edges.Product.Edges.Options, cur), nil
}

// UpdateVariant changes a variant; nil fields stay.
// Errors: not_found, invalid, conflict (SKU or combination taken), forbidden.
func (s *Service) UpdateVariant(ctx context.Context, id pulid.ID, in VariantInput) (Variant, error) {
	err := mayWrite(ctx)
	if err != nil {
		return Variant{}, err
	}
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Client) error {
		row, err := tx.Variant.Query().Where(variant.ID(id)).Modify(s.lockRows).Only(ctx)
		if err != nil {
			return apperr.From(err)
		}
		p, err := loadProduct(ctx, tx, func(q *ent.ProductQuery) { q.Where(product.ID(row.ProductID)) })
		if err != nil {
			return err
		}
		var val apperr.Validation
		upd := row.Update()
		if in.SKU != nil {
			sku := strings.TrimSpace(*in.SKU)
			if !validSKU(sku) {
				val.Add("sku", "must be 1 to %d characters without spaces", MaxSKULength)
			}
			upd.SetSku(sku)
		}
		if in.Price != nil {
			if *in.Price < 0 {
				val.Add("price", "must be a non-negative integer amount in minor units")
			}
			upd.SetPrice(*in.Price)
		}
		if in.CompareAtPrice != nil {
			if *in.CompareAtPrice < 0 {
				val.Add("compare_at_price", "must not be negative")
			}
			upd.SetCompareAtPrice(*in.CompareAtPrice)
		}
		if in.Barcode != nil {
			upd.SetBarcode(strings.TrimSpace(*in.Barcode))
		}
		if in.WeightGrams != nil {
			if *in.WeightGrams < 0 {
				val.Add("weight_grams", "must not be negative")
			}
			upd.SetWeightGrams(*in.WeightGrams)
		}
		if in.ImageID.Set {
			if err := s.setImage(ctx, tx, &val, upd, row.ProductID, in.ImageID.ID); err != nil {
				return err
			}
		}
		if in.OptionValues != nil {
			cols := resolveOptionValues(&val, "", optionsOf(p), in.OptionValues)
			for _, other := range p.Edges.Variants {
				if other.ID != id && [3]string{other.Option1, other.Option2, other.Option3} == cols {
					val.Add("option_values", "the combination %q already exists", variantTitle(cols))
				}
			}
			upd.SetOption1(cols[0]).SetOption2(cols[1]).SetOption3(cols[2]).SetTitle(variantTitle(cols))
		}
		if err := val.Err(); err != nil {
			return renameFields(err, ".option_values", "option_values")
		}
		if _, err := upd.Save(ctx); err != nil {
			sku := ""
			if in.SKU != nil {
				sku = *in.SKU
			}
			return conflictOr(err, "sku", "SKU %s already exists.", sku)
		}
		return s.index(ctx, tx, row.ProductID)
	})
	if err != nil {
		return Variant{}, err
	}
	return s.Variant(ctx, id)
}

// setImage makes id the variant's image, or unlinks its image when id is nil; an image
// of another product is invalid.
func (s *Service) setImage(ctx context.Context, tx *ent.Client, val *apperr.Validation, upd *ent.VariantUpdateOne, productID pulid.ID, id *pulid.ID) error {
	if id == nil {
		upd.ClearImageID()
		return nil
	}
	images, err := s.lockImages(ctx, tx, productID)
	if err != nil {
		return err
	}
	if !images[*id] {
		val.Add("image_id", "must be an image of this product")
	}
	upd.SetImageID(*id)
	return nil
}

// lockImages returns the ids of a product's images, locked until the transaction ends:
// an image deleted between this check and the variant's write would fail the write on
// its foreign key, which would read as a conflict of the variant.
func (s *Service) lockImages(ctx context.Context, tx *ent.Client, productID pulid.ID) (map[pulid.ID]bool, error) {
	ids, err := tx.ProductImage.Query().Where(productimage.ProductID(productID)).Modify(s.lockRows).IDs(ctx)
	if err != nil {
		return nil, apperr.From(err)
	}
	images := make(map[pulid.ID]bool, len(ids))
	for _, id := range ids {
		images[id] = true
	}
	return images, nil
}

// DeleteVariant deletes a variant that has no stock history or orders. The last variant
// of a product cannot be deleted: delete the product.
// Errors: not_found, conflict, forbidden.
func (s *Service) DeleteVariant(ctx context.Context, id pulid.ID) error {
	err := mayWrite(ctx)
	if err != nil {
		return err
	}
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Client) error {
		row, err := tx.Variant.Query().Where(variant.ID(id)).Modify(s.lockRows).Only(ctx)
		if err != nil {
			return apperr.From(err)
		}
		n, err := tx.Variant.Query().Where(variant.ProductID(row.ProductID)).Count(ctx)
		if err != nil {
			return apperr.From(err)
		}
		if n == 1 {
			return apperr.New(apperr.Conflict, "A product needs at least one variant; delete the product instead.")
		}
		if err := deleteVariants(ctx, tx, []pulid.ID{id}); err != nil {
			return err
		}
		return s.index(ctx, tx, row.ProductID)
	})
	if err != nil {
		return err
	}
	return nil
}
