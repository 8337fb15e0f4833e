package orders_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mercantile/mercantile/ent/order"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
)

// TestBackendsTerminatedMidOrder: PostgreSQL connections killed while orders are placed
// (pg_terminate_backend, as an administrator or a failover does) fail those placements
// with a clear error, unavailable, and leave no partial order: every order has its lines,
// shipments and payment, reservations equal what open shipments hold, and the ledger
// balances. Once the killing stops the pool reconnects and orders go through.
func TestBackendsTerminatedMidOrder(t *testing.T) {
	t.Parallel()
	db := dbtest.Postgres(t)
	f := newFixture(t, db)
	for _, sku := range []string{"A", "B", "C"} {
		f.stock(t, sku, "W1", 500)
		f.stock(t, sku, "W2", 500)
	}
	ctx := context.Background()
	killer, err := db.SQL.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close()
	stop := make(chan struct{})
	var killed atomic.Int64
	var killing sync.WaitGroup
	killing.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(40 * time.Millisecond):
			}
			var n int64
			if err := killer.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`).Scan(&n); err != nil {
				t.Error(err)
				return
			}
			killed.Add(n)
		}
	})

	var placed, refused atomic.Int64
	var workers sync.WaitGroup
	for w := range 8 {
		workers.Go(func() {
			for i := range 25 {
				skus := []string{"A", "B", "C"}
				_, err := f.svc.Place(f.shop, orderOf(line(skus[(w+i)%3], 1), line(skus[(w+i+1)%3], 2)))
				switch code := apperr.CodeOf(err); code {
				case "":
					placed.Add(1)
				case apperr.Unavailable:
					refused.Add(1)
				default:
					t.Errorf("a placement under killed connections failed with %s: %v", code, err)
				}
			}
		})
	}
	workers.Wait()
	close(stop)
	killing.Wait()
	if killed.Load() == 0 || refused.Load() == 0 {
		t.Fatalf("the fault did not happen: %d backends killed, %d placements refused", killed.Load(), refused.Load())
	}

	// The pool reconnects: the next order goes through.
	if _, err := f.svc.Place(f.shop, orderOf(line("A", 1))); err != nil {
		t.Fatalf("after the fault: %v", err)
	}
	sys := viewer.SystemContext(ctx)
	for _, o := range db.Client.Order.Query().WithLineItems().WithShipments().WithPayments().AllX(sys) {
		if len(o.Edges.LineItems) == 0 || len(o.Edges.Shipments) == 0 || len(o.Edges.Payments) != 1 || o.Number <= 0 || o.Status != order.StatusOpen {
			t.Errorf("partial order %s: %d lines, %d shipments, %d payments, number %d", o.ID,
				len(o.Edges.LineItems), len(o.Edges.Shipments), len(o.Edges.Payments), o.Number)
		}
	}
	t.Logf("%d placed, %d refused as unavailable, %d backends killed", placed.Load(), refused.Load(), killed.Load())
	f.checkInvariants(t)
}
