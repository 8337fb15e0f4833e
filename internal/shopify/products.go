package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/ent/productoption"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/merchants"
	"github.com/mercantile/mercantile/internal/pulid"
)

// productPayload is what is read of Shopify's product webhook body. Ids are int64:
// encoding/json parses them from their digits, so ids above 2^53 stay exact.
type productPayload struct {
	ID          int64      `json:"id"`
	Title       string     `json:"title"`
	BodyHTML    *string    `json:"body_html"`
	Handle      string     `json:"handle"`
	Vendor      *string    `json:"vendor"`
	ProductType *string    `json:"product_type"`
	Tags        string     `json:"tags"`
	Status      string     `json:"status"`
	PublishedAt *time.Time `json:"published_at"`
	UpdatedAt   *time.Time `json:"updated_at"`
	Options     []struct {
		Name   string   `json:"name"`
		Values []string `json:"values"`
	} `json:"options"`
	Variants []variantPayload `json:"variants"`
}

type variantPayload struct {
	ID              int64   `json:"id"`
	SKU             *string `json:"sku"`
	Price           string  `json:"price"`
	CompareAtPrice  *string `json:"compare_at_price"`
	Barcode         *string `json:"barcode"`
	Grams           int     `json:"grams"`
	Option1         *string `json:"option1"`
	Option2         *string `json:"option2"`
	Option3         *string `json:"option3"`
	InventoryItemID *int64  `json:"inventory_item_id"`
}

// decode reads a webhook body strictly enough to catch a wrong shape, loosely enough to
// accept every field Shopify adds.
func decode(payload []byte, v any) error {
	return json.NewDecoder(bytes.NewReader(payload)).Decode(v)
}

// upsertProduct creates or updates a product and its variants by Shopify id, else by
// SKU. A payload not newer than the one applied last (updated_at) changes nothing, so
// deliveries out of order cannot regress the product.
func (s *Service) upsertProduct(ctx context.Context, tx *ent.Client, payload []byte) (bool, []pulid.ID, error) {
	var p productPayload
	if err := decode(payload, &p); err != nil {
		return false, nil, malformed("product", err)
	}
	if p.ID == 0 {
		return false, nil, malformed("product", errors.New("no id"))
	}
	existing, err := s.findProduct(ctx, tx, p)
	if err != nil {
		return false, nil, err
	}
	if existing != nil && existing.ShopifyUpdatedAt != nil && (p.UpdatedAt == nil || !p.UpdatedAt.After(*existing.ShopifyUpdatedAt)) {
		return false, nil, nil
	}
	title := strings.TrimSpace(p.Title)
	if title == "" {
		title = p.Handle
	}
	handle, err := s.freeHandle(ctx, tx, p, existing)
	if err != nil {
		return false, nil, err
	}
	status := product.StatusDraft
	if product.StatusValidator(product.Status(p.Status)) == nil {
		status = product.Status(p.Status)
	}
	var tags []string
	for _, t := range strings.Split(p.Tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	var saved *ent.Product
	if existing == nil {
		saved, err = tx.Product.Create().SetTitle(truncate(title, 255)).SetHandle(handle).
			SetDescriptionHTML(catalog.SanitizeHTML(deref(p.BodyHTML))).SetVendor(truncate(deref(p.Vendor), 255)).
			SetProductType(truncate(deref(p.ProductType), 255)).SetTags(tags).SetStatus(status).SetShopifyID(p.ID).
			SetNillablePublishedAt(p.PublishedAt).SetNillableShopifyUpdatedAt(p.UpdatedAt).Save(ctx)
	} else {
		saved, err = existing.Update().SetTitle(truncate(title, 255)).SetHandle(handle).
			SetDescriptionHTML(catalog.SanitizeHTML(deref(p.BodyHTML))).SetVendor(truncate(deref(p.Vendor), 255)).
			SetProductType(truncate(deref(p.ProductType), 255)).SetTags(tags).SetStatus(status).SetShopifyID(p.ID).
			SetNillablePublishedAt(p.PublishedAt).SetNillableShopifyUpdatedAt(p.UpdatedAt).Save(ctx)
	}
	if err != nil {
		return false, nil, apperr.From(err)
	}
	if err := s.replaceOptions(ctx, tx, saved.ID, p); err != nil {
		return false, nil, err
	}
	for i, v := range p.Variants {
		if err := s.upsertVariant(ctx, tx, saved.ID, i+1, v); err != nil {
			return false, nil, err
		}
	}
	return true, []pulid.ID{saved.ID}, nil
}

// findProduct finds the payload's product by Shopify id, else through the SKU of one of
// its variants (a product imported before the shop was connected).
func (s *Service) findProduct(ctx context.Context, tx *ent.Client, p productPayload) (*ent.Product, error) {
	pr, err := tx.Product.Query().Where(product.ShopifyID(p.ID)).Only(ctx)
	if err == nil || !ent.IsNotFound(err) {
		return pr, apperr.Translate(err)
	}
	var skus []string
	for _, v := range p.Variants {
		if sku := strings.TrimSpace(deref(v.SKU)); sku != "" {
			skus = append(skus, sku)
		}
	}
	if len(skus) == 0 {
		return nil, nil
	}
	vr, err := tx.Variant.Query().Where(variant.SkuIn(skus...)).Order(ent.Asc(variant.FieldID)).First(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, apperr.From(err)
	}
	pr, err = tx.Product.Get(ctx, vr.ProductID)
	return pr, apperr.Translate(err)
}

// freeHandle is the payload's handle, or, when another product of the merchant has it,
// the handle suffixed with the Shopify id.
func (s *Service) freeHandle(ctx context.Context, tx *ent.Client, p productPayload, existing *ent.Product) (string, error) {
	handle := merchants.Handleize(p.Handle)
	if handle == "" {
		handle = merchants.Handleize(p.Title)
	}
	if handle == "" {
		handle = "product"
	}
	handle = truncate(handle, 200)
	q := tx.Product.Query().Where(product.Handle(handle))
	if existing != nil {
		q.Where(product.IDNEQ(existing.ID))
	}
	taken, err := q.Exist(ctx)
	if err != nil {
		return "", apperr.From(err)
	}
	if taken {
		handle += "-" + strconv.FormatInt(p.ID, 10)
	}
	return handle, nil
}

// replaceOptions makes the product's options those of the payload, when it names any.
func (s *Service) replaceOptions(ctx context.Context, tx *ent.Client, productID pulid.ID, p productPayload) error {
	if len(p.Options) == 0 {
		return nil
	}
	if _, err := tx.ProductOption.Delete().Where(productoption.ProductID(productID)).Exec(ctx); err != nil {
		return apperr.From(err)
	}
	for i, o := range p.Options {
		if i == 3 {
			break
		}
		name := strings.TrimSpace(o.Name)
		if name == "" {
			continue
		}
		if err := tx.ProductOption.Create().SetProductID(productID).SetName(truncate(name, 255)).SetPosition(i + 1).
			SetValues(o.Values).Exec(ctx); err != nil {
			return apperr.From(err)
		}
	}
	return nil
}

// upsertVariant creates or updates one variant by Shopify id, else by SKU. A variant
// without a SKU gets shopify-<id>, since ours are keyed by SKU.
func (s *Service) upsertVariant(ctx context.Context, tx *ent.Client, productID pulid.ID, position int, v variantPayload) error {
	sku := strings.TrimSpace(deref(v.SKU))
	if sku == "" {
		sku = "shopify-" + strconv.FormatInt(v.ID, 10)
	}
	price, err := parseMoney(v.Price)
	if err != nil {
		return malformed("variant price", err)
	}
	var compareAt *int64
	if c := strings.TrimSpace(deref(v.CompareAtPrice)); c != "" {
		n, err := parseMoney(c)
		if err != nil {
			return malformed("variant compare_at_price", err)
		}
		compareAt = &n
	}
	opts := []string{strings.TrimSpace(deref(v.Option1)), strings.TrimSpace(deref(v.Option2)), strings.TrimSpace(deref(v.Option3))}
	var parts []string
	for _, o := range opts {
		if o != "" {
			parts = append(parts, o)
		}
	}
	title := strings.Join(parts, " / ")
	if title == "" {
		title = "Default Title"
	}
	existing, err := tx.Variant.Query().Where(variant.ShopifyID(v.ID)).Only(ctx)
	if ent.IsNotFound(err) {
		existing, err = tx.Variant.Query().Where(variant.Sku(sku)).Only(ctx)
	}
	if err != nil && !ent.IsNotFound(err) {
		return apperr.From(err)
	}
	if existing == nil {
		err = tx.Variant.Create().SetProductID(productID).SetSku(truncate(sku, 64)).SetTitle(truncate(title, 255)).
			SetOption1(opts[0]).SetOption2(opts[1]).SetOption3(opts[2]).SetPrice(price).SetNillableCompareAtPrice(compareAt).
			SetBarcode(truncate(deref(v.Barcode), 64)).SetWeightGrams(max(v.Grams, 0)).SetPosition(position).
			SetShopifyID(v.ID).SetNillableShopifyInventoryItemID(v.InventoryItemID).Exec(ctx)
		return apperr.Translate(err)
	}
	upd := existing.Update().SetProductID(productID).SetSku(truncate(sku, 64)).SetTitle(truncate(title, 255)).
		SetOption1(opts[0]).SetOption2(opts[1]).SetOption3(opts[2]).SetPrice(price).
		SetBarcode(truncate(deref(v.Barcode), 64)).SetWeightGrams(max(v.Grams, 0)).SetPosition(position).SetShopifyID(v.ID)
	if compareAt != nil {
		upd.SetCompareAtPrice(*compareAt)
	} else {
		upd.ClearCompareAtPrice()
	}
	// A payload without the inventory item keeps the one we know.
	if v.InventoryItemID != nil {
		upd.SetShopifyInventoryItemID(*v.InventoryItemID)
	}
	return apperr.Translate(upd.Exec(ctx))
}

// deleteProduct archives the product Shopify deleted: its variants stay, since order
// lines and the stock ledger point at them.
func (s *Service) deleteProduct(ctx context.Context, tx *ent.Client, payload []byte) (bool, []pulid.ID, error) {
	var p struct {
		ID int64 `json:"id"`
	}
	if err := decode(payload, &p); err != nil {
		return false, nil, malformed("product", err)
	}
	pr, err := tx.Product.Query().Where(product.ShopifyID(p.ID)).Only(ctx)
	if ent.IsNotFound(err) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, apperr.From(err)
	}
	if pr.Status == product.StatusArchived {
		return false, nil, nil
	}
	if err := pr.Update().SetStatus(product.StatusArchived).Exec(ctx); err != nil {
		return false, nil, apperr.From(err)
	}
	return true, []pulid.ID{pr.ID}, nil
}

// parseMoney reads a decimal amount such as "19.99" as minor units (cents), exactly.
func parseMoney(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		if strings.Trim(frac[2:], "0") != "" {
			return 0, errors.New("amount " + strconv.Quote(s) + " has more than 2 decimals")
		}
		frac = frac[:2]
	}
	frac += strings.Repeat("0", 2-len(frac))
	w, err := strconv.ParseUint(whole, 10, 62)
	if err != nil {
		return 0, errors.New("amount " + strconv.Quote(s) + " is not a non-negative decimal")
	}
	f, err := strconv.ParseUint(frac, 10, 8)
	if err != nil {
		return 0, errors.New("amount " + strconv.Quote(s) + " is not a non-negative decimal")
	}
	return int64(w)*100 + int64(f), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
