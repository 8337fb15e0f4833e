// Package catalog owns products, their options, variants and images: validation, handles,
// the search index and the read cache. REST and GraphQL both call this service; it must
// not know about HTTP. Stock lives in internal/inventory; this package only reads it to
// show availability.
package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/media"
	"github.com/mercantile/mercantile/internal/paging"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/pulid"
)

// Service manages the catalog.
type Service struct {
	client        *ent.Client
	dialect       string
	cache         *cache
	media         media.Store
	maxImageBytes int64
}

// NewService returns a catalog service on db, caching reads in store. Images live in
// images, which may be nil where nothing uploads them (image creation is then
// unavailable); maxImageBytes caps each image.
func NewService(db *database.DB, store kv.Store, images media.Store, maxImageBytes int64) *Service {
	return &Service{client: db.Client, dialect: db.Dialect, cache: newCache(store), media: images, maxImageBytes: maxImageBytes}
}

func merchantOf(ctx context.Context) (viewer.Viewer, error) {
	v, ok := viewer.FromContext(ctx)
	if !ok || v.MerchantID == "" {
		return viewer.Viewer{}, apperr.New(apperr.Unauthorized, "Credentials are required.")
	}
	return v, nil
}

// mayWrite refuses viewers that may only read before any validation runs, so a
// storefront key learns nothing about the catalog's rules from a write it may not make.
// Errors: unauthorized, forbidden.
func mayWrite(ctx context.Context) error {
	v, err := merchantOf(ctx)
	if err != nil {
		return err
	}
	if !v.CanWrite() {
		return apperr.New(apperr.Forbidden, "These credentials may only read the catalog.")
	}
	return nil
}

// loadProduct reads a product with everything its read model shows.
func loadProduct(ctx context.Context, client *ent.Client, where ...func(*ent.ProductQuery)) (*ent.Product, error) {
	q := client.Product.Query().
		WithOptions().
		WithVariants(func(vq *ent.VariantQuery) { vq.WithInventoryLevels() }).
		WithImages()
	for _, w := range where {
		w(q)
	}
	p, err := q.Only(ctx)
	if err != nil {
		return nil, apperr.From(err)
	}
	return p, nil
}

func (s *Service) currency(ctx context.Context, client *ent.Client, merchantID pulid.ID) (string, error) {
	m, err := client.Merchant.Get(ctx, merchantID)
	if err != nil {
		return "", apperr.From(err)
	}
	return m.Currency, nil
}

// Product returns the product with id.
// Errors: not_found.
func (s *Service) Product(ctx context.Context, id pulid.ID) (Product, error) {
	raw, err := s.ProductJSON(ctx, id)
	if err != nil {
		return Product{}, err
	}
	var out Product
	err = json.Unmarshal(raw, &out)
	return out, err
}

// ProductJSON returns the product with id as the API shows it, from the cache when it is
// there.
// Errors: not_found.
func (s *Service) ProductJSON(ctx context.Context, id pulid.ID) (json.RawMessage, error) {
	v, err := merchantOf(ctx)
	if err != nil {
		return nil, err
	}
	return s.cache.product(ctx, v.MerchantID, id.String(), func() ([]byte, error) {
		p, err := loadProduct(ctx, s.client, func(q *ent.ProductQuery) { q.Where(product.ID(id)) })
		if err != nil {
			return nil, err
		}
		cur, err := s.currency(ctx, s.client, v.MerchantID)
		if err != nil {
			return nil, err
		}
		return json.Marshal(s.productView(p, cur))
	})
}

// ProductByHandle returns the product with handle.
// Errors: not_found.
func (s *Service) ProductByHandle(ctx context.Context, handle string) (Product, error) {
	raw, err := s.ProductByHandleJSON(ctx, handle)
	if err != nil {
		return Product{}, err
	}
	var out Product
	err = json.Unmarshal(raw, &out)
	return out, err
}

// ProductByHandleJSON returns the product with handle as the API shows it. The handle's
// product id is cached with the lists, since any catalog write may move a handle.
// Errors: not_found.
func (s *Service) ProductByHandleJSON(ctx context.Context, handle string) (json.RawMessage, error) {
	v, err := merchantOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := s.cache.list(ctx, v.MerchantID, "handle|"+handle, func() ([]byte, error) {
		id, err := s.client.Product.Query().Where(product.Handle(handle)).OnlyID(ctx)
		if err != nil {
			return nil, apperr.From(err)
		}
		return []byte(id), nil
	})
	if err != nil {
		return nil, err
	}
	return s.ProductJSON(ctx, pulid.ID(id))
}

// ListFilter narrows a product list.
type ListFilter struct {
	Status       *product.Status
	Vendor       *string
	ProductType  *string
	Tag          *string
	UpdatedAfter *string
}

// Products lists the viewer's products in id order, a keyset page at a time.
// Errors: invalid (filter values).
func (s *Service) Products(ctx context.Context, f ListFilter, p paging.Page) (ProductPage, error) {
	page, err := s.ProductsJSON(ctx, f, p)
	if err != nil {
		return ProductPage{}, err
	}
	return page.Decode()
}

// ProductsJSON is Products as the API shows it, from the cache when it is there.
// Errors: invalid (filter values).
func (s *Service) ProductsJSON(ctx context.Context, f ListFilter, p paging.Page) (RenderedPage, error) {
	v, err := merchantOf(ctx)
	if err != nil {
		return RenderedPage{}, err
	}
	return s.cache.page(ctx, v.MerchantID, fmt.Sprintf("list|%+v|%s|%d", f.key(), p.After, p.Limit), func() (RenderedPage, error) {
		q := s.client.Product.Query().
			WithOptions().
			WithVariants(func(vq *ent.VariantQuery) { vq.WithInventoryLevels() }).
			WithImages().
			Order(ent.Asc(product.FieldID)).
			Limit(p.Limit + 1)
		if p.After != "" {
			q.Where(product.IDGT(p.After))
		}
		if err := f.apply(q); err != nil {
			return RenderedPage{}, err
		}
		rows, err := q.All(ctx)
		if err != nil {
			return RenderedPage{}, apperr.From(err)
		}
		rows, more := paging.Trim(rows, p)
		cur, err := s.currency(ctx, s.client, v.MerchantID)
		if err != nil {
			return RenderedPage{}, err
		}
		products := make([]Product, 0, len(rows))
		for _, r := range rows {
			products = append(products, s.productView(r, cur))
		}
		end := ""
		if len(rows) > 0 {
			end = paging.Cursor(rows[len(rows)-1].ID)
		}
		return renderPage(products, more, end)
	})
}

func (f ListFilter) key() [5]string {
	deref := func(s *string) string {
		if s == nil {
			return "\x00"
		}
		return *s
	}
	status := "\x00"
	if f.Status != nil {
		status = string(*f.Status)
	}
	return [5]string{status, deref(f.Vendor), deref(f.ProductType), deref(f.Tag), deref(f.UpdatedAfter)}
}

func (f ListFilter) apply(q *ent.ProductQuery) error {
	var v apperr.Validation
	if f.Status != nil {
		if product.StatusValidator(*f.Status) != nil {
			v.Add("status", "must be active, draft or archived")
		}
		q.Where(product.StatusEQ(*f.Status))
	}
	if f.Vendor != nil {
		q.Where(product.Vendor(*f.Vendor))
	}
	if f.ProductType != nil {
		q.Where(product.ProductType(*f.ProductType))
	}
	if f.Tag != nil {
		q.Where(func(s *sql.Selector) { s.Where(sqljson.ValueContains(product.FieldTags, *f.Tag)) })
	}
	if f.UpdatedAfter != nil {
		t, err := parseTime(*f.UpdatedAfter)
		if err != nil {
			v.Add("updated_after", "must be an RFC 3339 time")
		}
		q.Where(product.UpdatedAtGT(t))
	}
	return v.Err()
}

func parseTime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339, s)
}

// lockRows locks the selected rows until the transaction ends, so concurrent writes to one
// product apply one after another. SQLite needs no row locks: its transactions take the
// database's write lock when they begin (_txlock=immediate).
func (s *Service) lockRows(sel *sql.Selector) {
	if s.dialect == dialect.Postgres {
		sel.ForUpdate()
	}
}
