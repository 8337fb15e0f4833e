package kv

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestGenerations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := NewMemory()
	one, two := NewGenerations(store, 8), NewGenerations(store, 8) // two replicas
	value, loads := "v1", 0
	load := func() ([]byte, error) { loads++; return []byte(value), nil }
	fetch := func(g *Generations) string {
		t.Helper()
		raw, err := g.Fetch(ctx, "gen", "entry", time.Minute, load)
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}

	if got := fetch(one); got != "v1" || loads != 1 {
		t.Fatalf("first fetch = %q after %d loads", got, loads)
	}
	if got := fetch(two); got != "v1" || loads != 1 {
		t.Fatalf("the other replica reloaded: %q after %d loads", got, loads)
	}

	// A reader that took the token before a write fills under it after the write
	// retired it: nobody may see what it filled.
	staleGen, _ := one.generation(ctx, "gen")
	value = "v2"
	if err := two.Retire(ctx, "gen"); err != nil {
		t.Fatal(err)
	}
	_ = store.Set(ctx, "entry:"+staleGen, []byte("v1"), time.Minute)
	one.local.Add("entry:"+staleGen, []byte("v1"))
	for _, g := range []*Generations{one, two} {
		if got := fetch(g); got != "v2" {
			t.Fatalf("read after the write = %q", got)
		}
	}
	if loads != 2 {
		t.Fatalf("%d loads, want 2", loads)
	}

	failing := errors.New("database down")
	if _, err := one.Fetch(ctx, "gen2", "entry2", time.Minute, func() ([]byte, error) { return nil, failing }); !errors.Is(err, failing) {
		t.Fatalf("a failed load = %v", err)
	}
	if got, err := one.Fetch(ctx, "gen2", "entry2", time.Minute, load); err != nil || string(got) != "v2" {
		t.Fatalf("a failed load was cached: %q, %v", got, err)
	}

	uncached := NewGenerations(nil, 8)
	before := loads
	for range 2 {
		if _, err := uncached.Fetch(ctx, "gen", "entry", time.Minute, load); err != nil {
			t.Fatal(err)
		}
	}
	if loads != before+2 {
		t.Fatal("a cache without a store cached")
	}
}
