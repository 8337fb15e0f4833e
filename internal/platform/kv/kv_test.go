package kv

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mercantile/mercantile/internal/platform/kv/kvtest"
	"github.com/mercantile/mercantile/internal/pulid"
)

// testStore runs the same contract against every implementation.
func testStore(t *testing.T, s Store, advance func(time.Duration)) {
	ctx := context.Background()
	key := "kvtest:" + pulid.New("k").String()
	t.Cleanup(func() { _ = s.Delete(ctx, key) })

	if _, ok, err := s.Get(ctx, key); err != nil || ok {
		t.Fatalf("Get of a missing key = %v, %v", ok, err)
	}
	if err := s.Set(ctx, key, []byte("v1"), time.Second); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := s.Get(ctx, key); err != nil || !ok || string(v) != "v1" {
		t.Fatalf("Get after Set = %q, %v, %v", v, ok, err)
	}
	advance(1100 * time.Millisecond)
	if _, ok, _ := s.Get(ctx, key); ok {
		t.Fatal("value outlived its ttl")
	}
	if err := s.Set(ctx, key, []byte("v2"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if stored, err := s.SetIfAbsent(ctx, key, []byte("v3"), time.Minute); err != nil || stored {
		t.Fatalf("SetIfAbsent over a live value = %v, %v; want false", stored, err)
	}
	if v, _, _ := s.Get(ctx, key); string(v) != "v2" {
		t.Fatalf("SetIfAbsent replaced a live value: %q", v)
	}
	if err := s.Delete(ctx, key, key+":other"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get(ctx, key); ok {
		t.Fatal("value survived Delete")
	}
	if stored, err := s.SetIfAbsent(ctx, key, []byte("v4"), time.Second); err != nil || !stored {
		t.Fatalf("SetIfAbsent of a missing key = %v, %v; want true", stored, err)
	}
	if v, _, _ := s.Get(ctx, key); string(v) != "v4" {
		t.Fatalf("Get after SetIfAbsent = %q", v)
	}
	advance(1100 * time.Millisecond)
	if stored, _ := s.SetIfAbsent(ctx, key, []byte("v5"), time.Minute); !stored {
		t.Fatal("SetIfAbsent refused to replace an expired value")
	}
}

func TestMemory(t *testing.T) {
	t.Parallel()
	m := NewMemory()
	now := time.Now()
	m.now = func() time.Time { return now }
	testStore(t, m, func(d time.Duration) { now = now.Add(d) })
}

func TestMemorySweepsExpired(t *testing.T) {
	t.Parallel()
	m := NewMemory()
	now := time.Now()
	m.now = func() time.Time { return now }
	ctx := context.Background()
	for i := range 1024 {
		_ = m.Set(ctx, fmt.Sprint("old", i), nil, time.Second)
	}
	now = now.Add(time.Hour)
	_ = m.Set(ctx, "fresh", nil, time.Minute)
	if len(m.entries) != 1 {
		t.Fatalf("expired entries were not swept: %d left", len(m.entries))
	}
}

func TestRedis(t *testing.T) {
	t.Parallel()
	testStore(t, NewRedis(kvtest.Redis(t)), func(d time.Duration) { time.Sleep(d) })
}
