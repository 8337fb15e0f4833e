package events_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/mercantile/mercantile/internal/events"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
)

func receive(t *testing.T, ch <-chan []byte) string {
	t.Helper()
	select {
	case p := <-ch:
		return string(p)
	case <-time.After(5 * time.Second):
		t.Fatal("no event arrived")
	}
	return ""
}

func TestLocal(t *testing.T) {
	t.Parallel()
	bus := events.NewLocal()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, _ := bus.Subscribe(ctx, "stock")
	other, _ := bus.Subscribe(ctx, "orders")
	bus.Publish(ctx, "stock", []byte("x"))
	if got := receive(t, a); got != "x" {
		t.Fatalf("got %q", got)
	}
	select {
	case p := <-other:
		t.Fatalf("another channel's subscriber got %q", p)
	default:
	}
	cancel()
	if _, ok := <-a; ok {
		t.Fatal("channel not closed after the context ended")
	}
}

// TestPostgresCrossesProcesses: two buses on one database stand in for two server
// processes; a change published by one reaches subscribers of both.
func TestPostgresCrossesProcesses(t *testing.T) {
	t.Parallel()
	db := dbtest.Postgres(t)
	other := dbtest.Postgres(t) // a database of its own must not hear it
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	one := events.NewPostgres(db.Pool, log, "stock")
	two := events.NewPostgres(db.Pool, log, "stock")
	elsewhere := events.NewPostgres(other.Pool, log, "stock")
	for _, b := range []*events.Postgres{one, two, elsewhere} {
		go b.Run(ctx)
		<-b.Ready()
	}
	sub1, _ := one.Subscribe(ctx, "stock")
	sub2, _ := two.Subscribe(ctx, "stock")
	subElsewhere, _ := elsewhere.Subscribe(ctx, "stock")
	if err := one.Publish(ctx, "stock", []byte(`{"sku":"A"}`)); err != nil {
		t.Fatal(err)
	}
	if receive(t, sub1) != `{"sku":"A"}` || receive(t, sub2) != `{"sku":"A"}` {
		t.Fatal("payload changed in transit")
	}
	select {
	case p := <-subElsewhere:
		t.Fatalf("another database's listener heard %q", p)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestPostgresReconnects: the listener's backend is terminated; it reconnects and keeps
// delivering.
func TestPostgresReconnects(t *testing.T) {
	t.Parallel()
	db := dbtest.Postgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bus := events.NewPostgres(db.Pool, slog.New(slog.DiscardHandler), "stock")
	go bus.Run(ctx)
	<-bus.Ready()
	sub, _ := bus.Subscribe(ctx, "stock")
	var killed int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()) t`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d listeners, %v", killed, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		bus.Publish(ctx, "stock", []byte("after"))
		select {
		case p := <-sub:
			if string(p) == "after" {
				return
			}
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatal("no event after the listener's backend was terminated")
}
