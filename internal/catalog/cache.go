package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/pulid"
)

// cacheTTL bounds how long an unread entry lingers; correctness never depends on it.
const cacheTTL = 10 * time.Minute

// cache keeps rendered product pages and lists. Entries are keyed by a generation token:
// a write replaces the token (after its transaction commits), so every later read misses
// and reloads, and a reader that raced the write can only fill an entry under the old
// token, which nothing reads again. Lists share one generation per merchant; a product's
// detail has its own, so a write to one product leaves other products' entries warm.
// A store error is a miss: the cache must never make a request fail.
type cache struct {
	store kv.Store
}

func newCache(store kv.Store) *cache { return &cache{store: store} }

func merchantGenKey(merchantID pulid.ID) string {
	return "mercantile:catalog:gen:" + merchantID.String()
}
func productGenKey(productID string) string { return "mercantile:catalog:pgen:" + productID }

// generation returns the current token under key, starting a new one when none exists.
func (c *cache) generation(ctx context.Context, key string) (string, bool) {
	if v, ok, err := c.store.Get(ctx, key); err == nil && ok {
		return string(v), true
	} else if err != nil {
		return "", false
	}
	gen := pulid.New("g").String()
	if err := c.store.Set(ctx, key, []byte(gen), 24*time.Hour); err != nil {
		return "", false
	}
	return gen, true
}

// cached reads key into out, or calls load, stores its result and copies it into out.
func (c *cache) cached(ctx context.Context, key string, out any, load func() (any, error)) error {
	if c.store != nil && key != "" {
		if raw, ok, err := c.store.Get(ctx, key); err == nil && ok && json.Unmarshal(raw, out) == nil {
			return nil
		}
	}
	v, err := load()
	if err != nil {
		return err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if c.store != nil && key != "" {
		_ = c.store.Set(ctx, key, raw, cacheTTL)
	}
	return json.Unmarshal(raw, out)
}

func (c *cache) product(ctx context.Context, merchantID pulid.ID, productID string, out any, load func() (any, error)) error {
	key := ""
	if c.store != nil {
		if gen, ok := c.generation(ctx, productGenKey(productID)); ok {
			key = "mercantile:catalog:product:" + merchantID.String() + ":" + productID + ":" + gen
		}
	}
	return c.cached(ctx, key, out, load)
}

func (c *cache) list(ctx context.Context, merchantID pulid.ID, query string, out any, load func() (any, error)) error {
	key := ""
	if c.store != nil {
		if gen, ok := c.generation(ctx, merchantGenKey(merchantID)); ok {
			sum := sha256.Sum256([]byte(query))
			key = "mercantile:catalog:list:" + merchantID.String() + ":" + gen + ":" + hex.EncodeToString(sum[:12])
		}
	}
	return c.cached(ctx, key, out, load)
}

// invalidate retires the merchant's list entries and the named products' details. Call
// it after the write has committed.
func (c *cache) invalidate(ctx context.Context, merchantID pulid.ID, productIDs ...string) {
	if c.store == nil {
		return
	}
	keys := []string{merchantGenKey(merchantID)}
	for _, id := range productIDs {
		keys = append(keys, productGenKey(id))
	}
	_ = c.store.Delete(ctx, keys...)
}
