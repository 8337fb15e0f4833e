package catalog

import (
	"context"
	"strconv"
	"strings"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/inventorylevel"
	"github.com/mercantile/mercantile/ent/inventorymovement"
	"github.com/mercantile/mercantile/ent/orderlineitem"
	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/ent/productimage"
	"github.com/mercantile/mercantile/ent/productoption"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/merchants"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/pulid"
)

// CreateProduct creates a product with its options and variants in one transaction.
// Errors: invalid (422, naming each field), conflict (a SKU or handle taken; the error
// names it), forbidden (read-only viewer).
func (s *Service) CreateProduct(ctx context.Context, in ProductInput) (Product, error) {
	err := mayWrite(ctx)
	if err != nil {
		return Product{}, err
	}
	var val apperr.Validation
	title := ""
	if in.Title != nil {
		title = strings.TrimSpace(*in.Title)
	}
	if title == "" || len(title) > MaxTitleLength {
		val.Add("title", "must be 1 to %d characters", MaxTitleLength)
	}
	var opts []OptionInput
	if in.Options != nil {
		opts = checkOptions(&val, *in.Options)
	}
	var tags []string
	if in.Tags != nil {
		tags = checkTags(&val, *in.Tags)
	}
	status := product.StatusActive
	if in.Status != nil {
		if product.StatusValidator(*in.Status) != nil {
			val.Add("status", "must be active, draft or archived")
		}
		status = *in.Status
	}
	if len(in.Variants) == 0 {
		val.Add("variants", "a product needs at least one variant")
	}
	if len(in.Variants) > MaxVariants {
		return Product{}, apperr.New(apperr.PayloadTooLarge, "A product has at most %d variants.", MaxVariants).
			WithField("variants", "too many variants")
	}
	// A new product has no images yet, so any image_id is refused.
	variants := checkNewVariants(&val, opts, in.Variants, nil, nil)
	handle := ""
	if in.Handle != nil {
		handle = strings.TrimSpace(*in.Handle)
		if merchants.Handleize(handle) != handle || handle == "" || len(handle) > MaxTitleLength {
			val.Add("handle", "must be lower-case letters, digits and dashes")
		}
	}
	if err := val.Err(); err != nil {
		return Product{}, err
	}

	var id pulid.ID
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Client) error {
		if handle == "" {
			if handle, err = uniqueHandle(ctx, tx, title); err != nil {
				return err
			}
		}
		create := tx.Product.Create().
			SetTitle(title).SetHandle(handle).SetStatus(status).SetTags(append([]string{}, tags...)).
			SetNillableVendor(trimmed(in.Vendor)).SetNillableProductType(trimmed(in.ProductType))
		if in.DescriptionHTML != nil {
			create.SetDescriptionHTML(SanitizeHTML(*in.DescriptionHTML))
		}
		p, err := create.Save(ctx)
		if err != nil {
			return conflictOr(err, "handle", "A product with handle %q already exists.", handle)
		}
		id = p.ID
		if err := createOptions(ctx, tx, p.ID, opts); err != nil {
			return err
		}
		if err := createVariants(ctx, tx, p.ID, variants, 1); err != nil {
			return err
		}
		return s.index(ctx, tx, p.ID)
	})
	if err != nil {
		return Product{}, err
	}
	return s.Product(ctx, id)
}

// newVariant is a validated variant ready to insert.
type newVariant struct {
	sku       string
	cols      [3]string
	price     int64
	compareAt *int64
	barcode   string
	weight    int
	imageID   *pulid.ID
}

// checkNewVariants validates variants to create; existing holds the option combinations
// the product already has and images the ids of its images.
func checkNewVariants(val *apperr.Validation, opts []OptionInput, in []VariantInput, existing map[[3]string]bool, images map[pulid.ID]bool) []newVariant {
	combos := map[[3]string]bool{}
	for k := range existing {
		combos[k] = true
	}
	skus := map[string]bool{}
	out := make([]newVariant, 0, len(in))
	for i, vi := range in {
		field := "variants[" + strconv.Itoa(i) + "]"
		nv := newVariant{compareAt: vi.CompareAtPrice}
		if vi.SKU == nil || !validSKU(strings.TrimSpace(*vi.SKU)) {
			val.Add(field+".sku", "must be 1 to %d characters without spaces", MaxSKULength)
		} else {
			nv.sku = strings.TrimSpace(*vi.SKU)
			if skus[nv.sku] {
				val.Add(field+".sku", "SKU %q appears twice", nv.sku)
			}
			skus[nv.sku] = true
		}
		if vi.Price == nil || *vi.Price < 0 {
			val.Add(field+".price", "must be a non-negative integer amount in minor units")
		} else {
			nv.price = *vi.Price
		}
		if vi.CompareAtPrice != nil && *vi.CompareAtPrice < 0 {
			val.Add(field+".compare_at_price", "must not be negative")
		}
		if vi.WeightGrams != nil {
			if *vi.WeightGrams < 0 {
				val.Add(field+".weight_grams", "must not be negative")
			}
			nv.weight = *vi.WeightGrams
		}
		if vi.Barcode != nil {
			nv.barcode = strings.TrimSpace(*vi.Barcode)
			if len(nv.barcode) > MaxSKULength {
				val.Add(field+".barcode", "must be at most %d characters", MaxSKULength)
			}
		}
		if id := vi.ImageID.ID; id != nil {
			if !images[*id] {
				val.Add(field+".image_id", "must be an image of this product")
			}
			nv.imageID = id
		}
		nv.cols = resolveOptionValues(val, field, opts, vi.OptionValues)
		if combos[nv.cols] {
			val.Add(field+".option_values", "the combination %q already exists", variantTitle(nv.cols))
		}
		combos[nv.cols] = true
		out = append(out, nv)
	}
	return out
}

func createOptions(ctx context.Context, tx *ent.Client, productID pulid.ID, opts []OptionInput) error {
	if len(opts) == 0 {
		return nil
	}
	builders := make([]*ent.ProductOptionCreate, len(opts))
	for i, o := range opts {
		builders[i] = tx.ProductOption.Create().SetProductID(productID).SetName(o.Name).SetPosition(i + 1).SetValues(o.Values)
	}
	return apperr.Translate(tx.ProductOption.CreateBulk(builders...).Exec(ctx))
}

func createVariants(ctx context.Context, tx *ent.Client, productID pulid.ID, vs []newVariant, firstPosition int) error {
	// Checked first so the conflict can name the SKUs: after a failed insert PostgreSQL
	// accepts no further statement in the transaction. The unique index still decides
	// races between concurrent creates.
	if err := skuConflict(ctx, tx, vs); err != nil {
		return err
	}
	builders := make([]*ent.VariantCreate, len(vs))
	for i, nv := range vs {
		builders[i] = tx.Variant.Create().
			SetProductID(productID).SetSku(nv.sku).SetTitle(variantTitle(nv.cols)).
			SetOption1(nv.cols[0]).SetOption2(nv.cols[1]).SetOption3(nv.cols[2]).
			SetPrice(nv.price).SetNillableCompareAtPrice(nv.compareAt).SetBarcode(nv.barcode).
			SetWeightGrams(nv.weight).SetPosition(firstPosition + i).SetNillableImageID(nv.imageID)
	}
	err := tx.Variant.CreateBulk(builders...).Exec(ctx)
	if ent.IsConstraintError(err) {
		return apperr.New(apperr.Conflict, "A SKU of these variants was taken concurrently; retry.").WithField("variants", "SKU taken")
	}
	return apperr.Translate(err)
}

// skuConflict returns a conflict naming every SKU of vs the merchant already has.
func skuConflict(ctx context.Context, tx *ent.Client, vs []newVariant) error {
	skus := make([]string, len(vs))
	for i, nv := range vs {
		skus[i] = nv.sku
	}
	taken, err := tx.Variant.Query().Where(variant.SkuIn(skus...)).Select(variant.FieldSku).Strings(ctx)
	if err != nil {
		return apperr.From(err)
	}
	if len(taken) == 0 {
		return nil
	}
	isTaken := map[string]bool{}
	for _, sku := range taken {
		isTaken[sku] = true
	}
	var names []string
	e := apperr.New(apperr.Conflict, "")
	for i, nv := range vs {
		if isTaken[nv.sku] {
			names = append(names, nv.sku)
			e.WithField("variants["+strconv.Itoa(i)+"].sku", "SKU "+nv.sku+" already exists")
		}
	}
	e.Message = "SKU " + strings.Join(names, ", ") + " already exists."
	return e
}

// uniqueHandle derives a handle from title, adding -2, -3, ... until it is free.
func uniqueHandle(ctx context.Context, tx *ent.Client, title string) (string, error) {
	base := merchants.Handleize(title)
	if base == "" {
		base = "product"
	}
	if len(base) > 200 {
		base = strings.Trim(base[:200], "-")
	}
	taken, err := tx.Product.Query().
		Where(product.Or(product.Handle(base), product.HandleHasPrefix(base+"-"))).
		Select(product.FieldHandle).Strings(ctx)
	if err != nil {
		return "", apperr.From(err)
	}
	used := map[string]bool{}
	for _, h := range taken {
		used[h] = true
	}
	if !used[base] {
		return base, nil
	}
	for n := 2; ; n++ {
		if h := base + "-" + strconv.Itoa(n); !used[h] {
			return h, nil
		}
	}
}

// UpdateProduct changes a product; nil fields stay. Variants are changed through the
// variant calls, not here.
// Errors: not_found, invalid, conflict (handle), forbidden.
func (s *Service) UpdateProduct(ctx context.Context, id pulid.ID, in ProductInput) (Product, error) {
	err := mayWrite(ctx)
	if err != nil {
		return Product{}, err
	}
	if in.Variants != nil {
		return Product{}, apperr.New(apperr.Invalid, "Change variants with the variant endpoints.").
			WithField("variants", "cannot be changed here")
	}
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Client) error {
		p, err := loadProduct(ctx, tx, func(q *ent.ProductQuery) { q.Where(product.ID(id)).Modify(s.lockRows) })
		if err != nil {
			return err
		}
		var val apperr.Validation
		upd := p.Update()
		if in.Title != nil {
			title := strings.TrimSpace(*in.Title)
			if title == "" || len(title) > MaxTitleLength {
				val.Add("title", "must be 1 to %d characters", MaxTitleLength)
			}
			upd.SetTitle(title)
		}
		if in.Handle != nil {
			h := strings.TrimSpace(*in.Handle)
			if merchants.Handleize(h) != h || h == "" || len(h) > MaxTitleLength {
				val.Add("handle", "must be lower-case letters, digits and dashes")
			}
			upd.SetHandle(h)
		}
		if in.DescriptionHTML != nil {
			upd.SetDescriptionHTML(SanitizeHTML(*in.DescriptionHTML))
		}
		if in.Vendor != nil {
			upd.SetVendor(strings.TrimSpace(*in.Vendor))
		}
		if in.ProductType != nil {
			upd.SetProductType(strings.TrimSpace(*in.ProductType))
		}
		if in.Tags != nil {
			upd.SetTags(checkTags(&val, *in.Tags))
		}
		if in.Status != nil {
			if product.StatusValidator(*in.Status) != nil {
				val.Add("status", "must be active, draft or archived")
			}
			upd.SetStatus(*in.Status)
		}
		if in.Options != nil {
			if err := replaceOptions(ctx, tx, &val, p, *in.Options); err != nil {
				return err
			}
		}
		if err := val.Err(); err != nil {
			return err
		}
		if _, err := upd.Save(ctx); err != nil {
			return conflictOr(err, "handle", "A product with that handle already exists.")
		}
		return s.index(ctx, tx, id)
	})
	if err != nil {
		return Product{}, err
	}
	return s.Product(ctx, id)
}

// replaceOptions swaps a product's options, as long as every existing variant's values
// stay valid under the new ones (renaming an option or adding values is fine).
func replaceOptions(ctx context.Context, tx *ent.Client, val *apperr.Validation, p *ent.Product, in []OptionInput) error {
	opts := checkOptions(val, in)
	if val.Err() != nil {
		return nil
	}
	for _, v := range p.Edges.Variants {
		for i := range MaxOptions {
			current := optionValue(v, i+1)
			switch {
			case i >= len(opts) && current != "":
				val.Add("options", "variant %s has a value for option %d, which would be removed", v.Sku, i+1)
			case i < len(opts) && current == "" && len(p.Edges.Variants) > 0:
				val.Add("options", "variant %s has no value for new option %q", v.Sku, opts[i].Name)
			case i < len(opts) && !contains(opts[i].Values, current):
				val.Add("options", "variant %s uses %q, which option %q would no longer list", v.Sku, current, opts[i].Name)
			}
		}
	}
	if val.Err() != nil {
		return nil
	}
	if _, err := tx.ProductOption.Delete().Where(productoption.ProductID(p.ID)).Exec(ctx); err != nil {
		return apperr.From(err)
	}
	return createOptions(ctx, tx, p.ID, opts)
}

// DeleteProduct deletes a product, its variants, options, images and (empty) stock
// levels. A product with stock history or orders cannot be deleted: archive it instead,
// so the ledger and old orders keep pointing at it.
// Errors: not_found, conflict (history), forbidden.
func (s *Service) DeleteProduct(ctx context.Context, id pulid.ID) error {
	err := mayWrite(ctx)
	if err != nil {
		return err
	}
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Client) error {
		if _, err := tx.Product.Query().Where(product.ID(id)).Modify(s.lockRows).OnlyID(ctx); err != nil {
			return apperr.From(err)
		}
		variantIDs, err := tx.Variant.Query().Where(variant.ProductID(id)).IDs(ctx)
		if err != nil {
			return apperr.From(err)
		}
		if err := deleteVariants(ctx, tx, variantIDs); err != nil {
			return err
		}
		if _, err := tx.ProductImage.Delete().Where(productimage.ProductID(id)).Exec(ctx); err != nil {
			return apperr.From(err)
		}
		if _, err := tx.ProductOption.Delete().Where(productoption.ProductID(id)).Exec(ctx); err != nil {
			return apperr.From(err)
		}
		if err := s.unindex(ctx, tx, id); err != nil {
			return err
		}
		return apperr.Translate(tx.Product.DeleteOneID(id).Exec(ctx))
	})
	if err != nil {
		return err
	}
	return nil
}

// deleteVariants removes variants and their stock levels, refusing when any has stock,
// ledger history or order lines.
func deleteVariants(ctx context.Context, tx *ent.Client, ids []pulid.ID) error {
	if len(ids) == 0 {
		return nil
	}
	if n, err := tx.InventoryMovement.Query().Where(inventorymovement.VariantIDIn(ids...)).Limit(1).Count(ctx); err != nil || n > 0 {
		if err != nil {
			return apperr.From(err)
		}
		return apperr.New(apperr.Conflict, "The variant has stock history; archive the product instead of deleting it.")
	}
	if n, err := tx.OrderLineItem.Query().Where(orderlineitem.VariantIDIn(ids...)).Limit(1).Count(ctx); err != nil || n > 0 {
		if err != nil {
			return apperr.From(err)
		}
		return apperr.New(apperr.Conflict, "The variant has orders; archive the product instead of deleting it.")
	}
	if _, err := tx.InventoryLevel.Delete().Where(inventorylevel.VariantIDIn(ids...)).Exec(ctx); err != nil {
		return apperr.From(err)
	}
	_, err := tx.Variant.Delete().Where(variant.IDIn(ids...)).Exec(ctx)
	return apperr.Translate(err)
}

func trimmed(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	return &t
}

// conflictOr turns a unique violation into a conflict naming field; other errors map as
// usual.
func conflictOr(err error, field, format string, args ...any) error {
	if ent.IsConstraintError(err) {
		return apperr.New(apperr.Conflict, format, args...).WithField(field, "is taken")
	}
	return apperr.From(err)
}
