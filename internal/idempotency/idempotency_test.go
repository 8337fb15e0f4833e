package idempotency_test

import (
	"context"
	"testing"

	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/idempotency"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
)

func TestBeginCompleteReplay(t *testing.T) {
	t.Parallel()
	db := dbtest.Postgres(t)
	sys := viewer.SystemContext(context.Background())
	a := db.Client.Merchant.Create().SetName("A").SetHandle("a").SaveX(sys)
	b := db.Client.Merchant.Create().SetName("B").SetHandle("b").SaveX(sys)
	ctxA := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: a.ID, ActorID: "key_a"})
	ctxB := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: b.ID, ActorID: "key_b"})
	s := idempotency.NewStore(db.Client)
	const scope = "POST /api/v1/orders"
	body := []byte(`{"x":1}`)

	if r, err := s.Begin(ctxA, "k1", scope, body); err != nil || r != nil {
		t.Fatalf("first Begin = %v, %v", r, err)
	}
	if _, err := s.Begin(ctxA, "k1", scope, body); apperr.CodeOf(err) != apperr.IdempotencyConflict {
		t.Fatalf("retry while running: %v", err)
	}
	if err := s.Complete(ctxA, "k1", scope, 201, []byte(`{"id":"ord_1"}`)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Begin(ctxA, "k1", scope, body)
	if err != nil || r == nil || r.Status != 201 || string(r.Body) != `{"id":"ord_1"}` {
		t.Fatalf("replay = %+v, %v", r, err)
	}
	if _, err := s.Begin(ctxA, "k1", scope, []byte(`{"x":2}`)); apperr.CodeOf(err) != apperr.IdempotencyConflict {
		t.Fatalf("other body: %v", err)
	}
	if r, err := s.Begin(ctxB, "k1", scope, body); err != nil || r != nil {
		t.Fatalf("another merchant's key space: %v %v", r, err)
	}
	if r, err := s.Begin(ctxA, "k1", "POST /api/v1/imports", body); err != nil || r != nil {
		t.Fatalf("another route: %v %v", r, err)
	}

	if _, err := s.Begin(ctxA, "k2", scope, body); err != nil {
		t.Fatal(err)
	}
	if err := s.Abandon(ctxA, "k2", scope); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Begin(ctxA, "k2", scope, body); err != nil || r != nil {
		t.Fatalf("after abandon: %v %v", r, err)
	}

	if _, err := s.Begin(ctxA, "", scope, body); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("empty key: %v", err)
	}
}
