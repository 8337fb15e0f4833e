// Package kv is the small key-value store behind sessions, caches and persisted queries:
// Redis in production, a map in process on the embedded default. Values expire; callers
// must treat a miss as normal.
package kv

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store is a key-value store with expiry.
type Store interface {
	// Get returns the value and true, or false when the key is missing or expired.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Set stores value for ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// SetIfAbsent stores value for ttl unless the key holds a live value, and reports
	// whether it stored it.
	SetIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Delete removes keys; missing keys are not an error.
	Delete(ctx context.Context, keys ...string) error
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
}

// Redis is a Store on a Redis server.
type Redis struct {
	client redis.UniversalClient
}

// NewRedis returns a Store on client.
func NewRedis(client redis.UniversalClient) *Redis { return &Redis{client: client} }

func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := r.client.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return r.client.Set(ctx, key, value, ttl).Err()
}

func (r *Redis) SetIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	err := r.client.SetArgs(ctx, key, value, redis.SetArgs{Mode: "NX", TTL: ttl}).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil, err
}

func (r *Redis) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	return r.client.Del(ctx, keys...).Err()
}

func (r *Redis) Ping(ctx context.Context) error { return r.client.Ping(ctx).Err() }

// Memory is an in-process Store. Expired entries are dropped when read and swept every
// time the map has doubled since the last sweep, so memory stays bounded by live keys.
type Memory struct {
	mu        sync.Mutex
	entries   map[string]memoryEntry
	now       func() time.Time
	sweepSize int
}

type memoryEntry struct {
	value   []byte
	expires time.Time
}

// NewMemory returns an empty in-process Store.
func NewMemory() *Memory {
	return &Memory{entries: map[string]memoryEntry{}, now: time.Now, sweepSize: 1024}
}

func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return nil, false, nil
	}
	if !m.now().Before(e.expires) {
		delete(m.entries, key)
		return nil, false, nil
	}
	return append([]byte(nil), e.value...), true, nil
}

func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set(key, value, ttl)
	return nil
}

func (m *Memory) SetIfAbsent(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[key]; ok && m.now().Before(e.expires) {
		return false, nil
	}
	m.set(key, value, ttl)
	return true, nil
}

// set stores an entry; m.mu is held.
func (m *Memory) set(key string, value []byte, ttl time.Duration) {
	now := m.now()
	if len(m.entries) >= m.sweepSize {
		for k, e := range m.entries {
			if !now.Before(e.expires) {
				delete(m.entries, k)
			}
		}
		m.sweepSize = max(1024, 2*len(m.entries))
	}
	m.entries[key] = memoryEntry{value: append([]byte(nil), value...), expires: now.Add(ttl)}
}

func (m *Memory) Delete(_ context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.entries, k)
	}
	return nil
}

func (m *Memory) Ping(context.Context) error { return nil }
