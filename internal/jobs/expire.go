package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// ExpireReservationsArgs is the periodic job that cancels unpaid orders whose
// reservation expired (Options.ExpireReservations).
type ExpireReservationsArgs struct{}

// Kind implements river.JobArgs.
func (ExpireReservationsArgs) Kind() string { return "expire_reservations" }

// InsertOpts makes the job unique while it is waiting, running or retrying: a slow or
// failing run, or a new leader's first one, never stacks up more behind it. Retries are
// few because the next period runs it again anyway.
func (ExpireReservationsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 3,
		UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateRetryable, rivertype.JobStateScheduled,
		}},
	}
}

func expireReservationsPeriodicJob(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return ExpireReservationsArgs{}, nil },
		// RunOnStart: a new leader runs it at once, instead of an interval after the
		// last leader's schedule was lost with it.
		&river.PeriodicJobOpts{ID: "expire_reservations", RunOnStart: true})
}

type expireReservationsWorker struct {
	river.WorkerDefaults[ExpireReservationsArgs]
	expire func(context.Context) (int, error)
	log    *slog.Logger
}

func (w *expireReservationsWorker) Work(ctx context.Context, _ *river.Job[ExpireReservationsArgs]) error {
	n, err := w.expire(ctx)
	if n > 0 {
		w.log.InfoContext(ctx, "expired order reservations", "orders", n)
	}
	return err
}

// NextRetry retries soon (5 s, then 10 s) rather than with River's default backoff,
// meant for jobs that run once.
func (w *expireReservationsWorker) NextRetry(job *river.Job[ExpireReservationsArgs]) time.Time {
	return time.Now().Add(time.Duration(job.Attempt) * 5 * time.Second)
}
