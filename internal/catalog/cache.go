package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/pulid"
)

const (
	// cacheTTL bounds how long an unread entry lingers; correctness never depends on it.
	cacheTTL = 10 * time.Minute
	// Local copies: product details are a few kilobytes, pages of 50 products with their
	// variants up to a few hundred, so these bound the process's share at tens of MB.
	localProducts = 8192
	localPages    = 256
	// entryPrefix names the entries' format: a version that stores them differently
	// changes it, so replicas of two versions side by side (a rolling update) never read
	// each other's entries. Generation keys are shared, so either version's writes retire
	// both versions' entries.
	entryPrefix = "mercantile:catalog:v3:"
)

// cache keeps rendered products and pages as the JSON the API serves, so a hit is
// written out as stored, with no decoding or encoding. Lists (and searches, handles and
// variants by SKU) share one generation per merchant; a product's detail has its own,
// so a write to one product leaves other products' entries warm.
type cache struct {
	products *kv.Generations
	pages    *kv.Generations
}

func newCache(store kv.Store) *cache {
	return &cache{products: kv.NewGenerations(store, localProducts), pages: kv.NewGenerations(store, localPages)}
}

func merchantGenKey(merchantID pulid.ID) string {
	return "mercantile:catalog:gen:" + merchantID.String()
}
func productGenKey(productID string) string { return "mercantile:catalog:pgen:" + productID }

func (c *cache) product(ctx context.Context, merchantID pulid.ID, productID string, load func() ([]byte, error)) ([]byte, error) {
	return c.products.Fetch(ctx, productGenKey(productID), entryPrefix+"product:"+merchantID.String()+":"+productID, cacheTTL, load)
}

// list caches anything that any write to the merchant's catalog may change: list pages,
// search results, handles.
func (c *cache) list(ctx context.Context, merchantID pulid.ID, query string, load func() ([]byte, error)) ([]byte, error) {
	sum := sha256.Sum256([]byte(query))
	key := entryPrefix + "list:" + merchantID.String() + ":" + hex.EncodeToString(sum[:12])
	return c.pages.Fetch(ctx, merchantGenKey(merchantID), key, cacheTTL, load)
}

// page caches a RenderedPage under the merchant's list generation.
func (c *cache) page(ctx context.Context, merchantID pulid.ID, query string, load func() (RenderedPage, error)) (RenderedPage, error) {
	raw, err := c.list(ctx, merchantID, query, func() ([]byte, error) {
		p, err := load()
		if err != nil {
			return nil, err
		}
		return p.encode(), nil
	})
	if err != nil {
		return RenderedPage{}, err
	}
	return decodePage(raw)
}

// invalidate retires the merchant's list entries and the named products' details. Call
// it after the write has committed.
func (c *cache) invalidate(ctx context.Context, merchantID pulid.ID, productIDs ...string) {
	keys := []string{merchantGenKey(merchantID)}
	for _, id := range productIDs {
		keys = append(keys, productGenKey(id))
	}
	_ = c.pages.Retire(ctx, keys...)
}

// RenderedPage is a page of products as the API shows it: Data is the JSON array of
// products, kept as cached so a hit is served with no decoding.
type RenderedPage struct {
	Data      json.RawMessage
	HasMore   bool
	EndCursor string
}

// renderPage encodes products into a RenderedPage.
func renderPage(products []Product, hasMore bool, endCursor string) (RenderedPage, error) {
	if products == nil {
		products = []Product{}
	}
	data, err := json.Marshal(products)
	if err != nil {
		return RenderedPage{}, err
	}
	return RenderedPage{Data: data, HasMore: hasMore, EndCursor: endCursor}, nil
}

// encode stores a page as one header line ("<has more> <end cursor>") and the JSON
// array; cursors are base64url and hold neither spaces nor newlines.
func (p RenderedPage) encode() []byte {
	head := strconv.FormatBool(p.HasMore) + " " + p.EndCursor + "\n"
	return append([]byte(head), p.Data...)
}

var errBadPage = errors.New("catalog: malformed cached page")

func decodePage(raw []byte) (RenderedPage, error) {
	head, data, ok := bytes.Cut(raw, []byte("\n"))
	if !ok {
		return RenderedPage{}, errBadPage
	}
	more, cursor, ok := bytes.Cut(head, []byte(" "))
	if !ok {
		return RenderedPage{}, errBadPage
	}
	hasMore, err := strconv.ParseBool(string(more))
	if err != nil {
		return RenderedPage{}, errBadPage
	}
	return RenderedPage{Data: data, HasMore: hasMore, EndCursor: string(cursor)}, nil
}

// ProductPage is a decoded page of products.
type ProductPage struct {
	Products  []Product
	HasMore   bool
	EndCursor string
}

// Decode parses the page's products.
func (p RenderedPage) Decode() (ProductPage, error) {
	out := ProductPage{HasMore: p.HasMore, EndCursor: p.EndCursor}
	if err := json.Unmarshal(p.Data, &out.Products); err != nil {
		return ProductPage{}, err
	}
	return out, nil
}
