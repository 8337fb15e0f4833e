package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/internal/jobs"
	"github.com/mercantile/mercantile/internal/platform/database"
)

// TestDepthCollector: the queue depth gauge counts jobs by state from River's table.
func TestDepthCollector(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB, _ func() *database.DB) {
		ctx := testContext(t)
		collector := jobs.DepthCollector(db)
		if n := testutil.CollectAndCount(collector, "mercantile_jobs"); n != 0 {
			t.Fatalf("%d series on an empty queue", n)
		}
		for _, name := range []string{"later-1", "later-2"} {
			if err := database.InTx(ctx, db.Client, func(ctx context.Context, _ *ent.Client) error {
				return jobs.Enqueue(ctx, countArgs{Name: name}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
			}); err != nil {
				t.Fatal(err)
			}
		}
		want := `# HELP mercantile_jobs Background jobs waiting or running, by queue and state (available, scheduled, retryable, running).
# TYPE mercantile_jobs gauge
mercantile_jobs{queue="default",state="scheduled"} 2
`
		if err := testutil.CollectAndCompare(collector, strings.NewReader(want), "mercantile_jobs"); err != nil {
			t.Fatal(err)
		}
	})
}
