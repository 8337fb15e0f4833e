// Package jobs is the background job queue: River (github.com/riverqueue/river) on the
// process's database, PostgreSQL or SQLite, with its tables created by
// database.(*DB).Migrate.
//
// Jobs are enqueued in the transaction of the write that calls for them, so a job exists
// if and only if that write committed:
//
//	err := database.InTx(ctx, client, func(ctx context.Context, tx *ent.Client) error {
//		o, err := tx.Order.UpdateOneID(id).SetStatus(order.StatusCancelled).Save(ctx)
//		if err != nil {
//			return err
//		}
//		return jobs.Enqueue(ctx, SendEmailArgs{OrderID: o.ID}, nil)
//	})
//
// A Queue works the jobs: New makes it, Register adds workers before Start, and Stop lets
// the jobs in progress finish. Every process may run one; River elects one leader among
// them for periodic jobs (ExpireReservations) and maintenance.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/mercantile/mercantile/internal/platform/database"
)

// Defaults for Options' zero values.
const (
	DefaultMaxWorkers                 = 10
	DefaultExpireReservationsInterval = 30 * time.Second
)

// Options configure a Queue. The zero value is usable.
type Options struct {
	// MaxWorkers is how many jobs this process works at once. Default 10. Each running
	// job may hold a database connection, so keep it below the pool size (PostgreSQL:
	// pool_max_conns in DATABASE_URL, pgx's default is max(4, CPUs)).
	MaxWorkers int

	// ExpireReservations, when set, is run periodically (every
	// ExpireReservationsInterval) by one process of the cluster, the elected leader
	// enqueueing and any process working it, to cancel unpaid orders whose
	// reservation expired and release their stock. It returns how many it expired. The
	// job's context carries no viewer: the function sets its own. serve passes a
	// closure running orders.Service.ExpireReservations for all merchants under
	// viewer.SystemContext. Failures are retried twice, 5 and 10 s later, and logged.
	ExpireReservations func(ctx context.Context) (int, error)

	// ExpireReservationsInterval is how often ExpireReservations runs. Default 30 s.
	ExpireReservationsInterval time.Duration

	// FetchPollInterval is how often this process looks for new jobs when it is not
	// told of them. On PostgreSQL a committed insert wakes the workers at once
	// (LISTEN/NOTIFY) and this is only a fallback; SQLite has no notifications and
	// River polls its outbox instead. Default 1 s (River's).
	FetchPollInterval time.Duration

	// JobTimeout bounds one attempt of a job (its context is cancelled after it),
	// unless the worker's Timeout says otherwise. Default 1 min (River's).
	JobTimeout time.Duration

	// testOnly sets River's TestOnly (no jittered start of maintenance services); see
	// export_test.go.
	testOnly bool
}

// Queue works jobs on one database. Its methods are safe for concurrent use.
type Queue struct {
	db      *database.DB
	log     *slog.Logger
	opts    Options
	workers *river.Workers

	mu      sync.Mutex
	started bool
	client  runner
}

// runner is what Queue needs of River's client, whose type depends on the driver
// (river.Client[pgx.Tx] on PostgreSQL, river.Client[*sql.Tx] on SQLite).
type runner interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// New returns a queue on db, not yet started. logger receives job failures and River's
// warnings. It does not touch the database: River's tables are created by db.Migrate.
func New(db *database.DB, logger *slog.Logger, opts Options) (*Queue, error) {
	if db.Dialect != dialect.Postgres && db.Dialect != dialect.SQLite {
		return nil, fmt.Errorf("jobs: unsupported dialect %q", db.Dialect)
	}
	if logger == nil {
		logger = slog.Default()
	}
	if opts.MaxWorkers == 0 {
		opts.MaxWorkers = DefaultMaxWorkers
	}
	if opts.ExpireReservationsInterval == 0 {
		opts.ExpireReservationsInterval = DefaultExpireReservationsInterval
	}
	if opts.MaxWorkers < 0 || opts.ExpireReservationsInterval < 0 || opts.FetchPollInterval < 0 || opts.JobTimeout < 0 {
		return nil, errors.New("jobs: negative option")
	}
	q := &Queue{db: db, log: logger, opts: opts, workers: river.NewWorkers()}
	if opts.ExpireReservations != nil {
		if err := Register(q, &expireReservationsWorker{expire: opts.ExpireReservations, log: logger}); err != nil {
			return nil, err
		}
	}
	// Made here so its logger is this one rather than slog.Default's.
	if _, err := inserterFor(db, logger); err != nil {
		return nil, err
	}
	return q, nil
}

// Register adds the worker for jobs of kind T's Kind(). Register before Start; a kind
// may have one worker.
func Register[T river.JobArgs](q *Queue, w river.Worker[T]) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return errors.New("jobs: Register after Start")
	}
	if err := river.AddWorkerSafely(q.workers, w); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	return nil
}

// Start starts working jobs in the background and returns. ctx's values reach every
// job's context, but its cancellation does not stop the queue: Stop does, so that a
// shutdown signal cannot cut running jobs short before Stop's grace period. A Queue
// starts once.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return errors.New("jobs: queue already started")
	}
	client, err := q.newClient()
	if err != nil {
		return err
	}
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: starting: %w", err)
	}
	q.started, q.client = true, client
	return nil
}

// Stop stops fetching jobs and waits for the running ones to finish, at most until ctx
// ends. If it ends first, the running jobs' contexts are cancelled, Stop waits a few
// more seconds for them to return (River makes them available again to be retried)
// and returns ctx's error. Stopping a queue that never started does nothing.
func (q *Queue) Stop(ctx context.Context) error {
	q.mu.Lock()
	client := q.client
	q.mu.Unlock()
	if client == nil {
		return nil
	}
	err := client.Stop(ctx)
	if err == nil || ctx.Err() == nil {
		return err
	}
	hardCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hardStopTimeout)
	defer cancel()
	if hardErr := client.StopAndCancel(hardCtx); hardErr != nil {
		q.log.Error("jobs: jobs still running after being cancelled at stop", "error", hardErr)
	}
	return fmt.Errorf("jobs: stop: jobs still running when the grace period ended; cancelled them: %w", err)
}

// hardStopTimeout is how long Stop waits for cancelled jobs to return.
const hardStopTimeout = 5 * time.Second

func (q *Queue) newClient() (runner, error) {
	cfg := &river.Config{
		Logger:            riverLogger(q.log),
		ErrorHandler:      &failureLogger{log: q.log},
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: q.opts.MaxWorkers}},
		Workers:           q.workers,
		FetchPollInterval: q.opts.FetchPollInterval,
		// River refuses a poll interval shorter than the cooldown between fetches.
		FetchCooldown: min(river.FetchCooldownDefault, q.opts.FetchPollInterval),
		JobTimeout:    q.opts.JobTimeout,
		TestOnly:      q.opts.testOnly,
		Middleware: []rivertype.Middleware{
			// Jobs that enqueue more jobs outside a transaction find the queue in ctx.
			river.WorkerMiddlewareFunc(func(ctx context.Context, _ *rivertype.JobRow, next func(context.Context) error) error {
				return next(NewContext(ctx, q))
			}),
		},
	}
	if q.opts.ExpireReservations != nil {
		cfg.PeriodicJobs = append(cfg.PeriodicJobs, expireReservationsPeriodicJob(q.opts.ExpireReservationsInterval))
	}
	switch q.db.Dialect {
	case dialect.Postgres:
		c, err := river.NewClient(riverpgxv5.New(q.db.Pool), cfg)
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		return c, nil
	default: // SQLite; New checked.
		c, err := river.NewClient(riversqlite.New(q.db.SQL), cfg)
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		return c, nil
	}
}
