package graph

import (
	"context"
	"time"

	"github.com/mercantile/mercantile/internal/platform/kv"
)

// apqTTL keeps a persisted query a day after its last registration; clients resend the
// full query on a miss, so expiry costs one round trip, never a failure.
const apqTTL = 24 * time.Hour

// KVQueryCache stores automatic persisted queries in store, so every replica behind a
// load balancer knows a query any of them has seen.
type KVQueryCache struct {
	store kv.Store
}

// NewKVQueryCache returns a persisted-query cache on store.
func NewKVQueryCache(store kv.Store) *KVQueryCache { return &KVQueryCache{store: store} }

// Get implements graphql.Cache. A store error is a miss: the client then sends the query.
func (c *KVQueryCache) Get(ctx context.Context, hash string) (string, bool) {
	v, ok, err := c.store.Get(ctx, apqKey(hash))
	if err != nil || !ok {
		return "", false
	}
	return string(v), true
}

// Add implements graphql.Cache.
func (c *KVQueryCache) Add(ctx context.Context, hash, query string) {
	_ = c.store.Set(ctx, apqKey(hash), []byte(query), apqTTL)
}

func apqKey(hash string) string { return "mercantile:apq:" + hash }
