package kv

import (
	"context"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/mercantile/mercantile/internal/pulid"
)

// generationTTL outlives any entry stored under a generation, so entries never outlive
// the token that reaches them.
const generationTTL = 24 * time.Hour

// Generations is a read cache that a write can never leave stale, shared by replicas.
//
// Entries are keyed by a generation token kept in the store: retiring the token (after
// the write's transaction commits) makes every later read miss and reload, and a reader
// that raced the write can only fill an entry under the old token, which nothing reads
// again. Deleting the entry instead would let such a reader put stale data back.
//
// Because an entry's key changes whenever its content may, an entry never changes once
// written: each process keeps a local copy of what it read or filled, exactly as fresh
// as the store's, so a hit costs one small read of the token instead of a transfer of
// the entry.
//
// A store error is a miss: the cache must never make a request fail.
type Generations struct {
	store Store
	local *lru.Cache[string, []byte]
}

// NewGenerations returns a cache on store (nil: every read loads) keeping up to
// localEntries entries in process.
func NewGenerations(store Store, localEntries int) *Generations {
	local, err := lru.New[string, []byte](max(1, localEntries))
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return &Generations{store: store, local: local}
}

// Fetch returns the entry named entryKey under the current token at genKey, or calls
// load and stores what it returns for ttl.
func (g *Generations) Fetch(ctx context.Context, genKey, entryKey string, ttl time.Duration, load func() ([]byte, error)) ([]byte, error) {
	gen, ok := g.generation(ctx, genKey)
	if !ok {
		return load()
	}
	key := entryKey + ":" + gen
	if raw, ok := g.local.Get(key); ok {
		return raw, nil
	}
	if raw, ok, err := g.store.Get(ctx, key); err == nil && ok {
		g.local.Add(key, raw)
		return raw, nil
	}
	raw, err := load()
	if err != nil {
		return nil, err
	}
	_ = g.store.Set(ctx, key, raw, ttl)
	g.local.Add(key, raw)
	return raw, nil
}

// Retire ends the current tokens at genKeys, so their entries are never read again.
// Call it after the write has committed.
func (g *Generations) Retire(ctx context.Context, genKeys ...string) error {
	if g.store == nil {
		return nil
	}
	return g.store.Delete(ctx, genKeys...)
}

// generation returns the current token at key, starting a new one when none exists.
func (g *Generations) generation(ctx context.Context, key string) (string, bool) {
	if g.store == nil {
		return "", false
	}
	if v, ok, err := g.store.Get(ctx, key); err == nil && ok {
		return string(v), true
	} else if err != nil {
		return "", false
	}
	gen := pulid.New("g").String()
	if err := g.store.Set(ctx, key, []byte(gen), generationTTL); err != nil {
		return "", false
	}
	return gen, true
}
