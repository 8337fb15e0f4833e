package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/merchant"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/jobs"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
)

// dialects runs a test body on a fresh database of each dialect. second opens another
// handle on the same database, as a second process would have.
var dialects = []struct {
	name  string
	fresh func(testing.TB) (db *database.DB, second func() *database.DB)
}{
	{"postgres", func(tb testing.TB) (*database.DB, func() *database.DB) {
		url := dbtest.PostgresURL(tb)
		return open(tb, url), func() *database.DB { return open(tb, url) }
	}},
	{"sqlite", func(tb testing.TB) (*database.DB, func() *database.DB) {
		db := dbtest.SQLite(tb)
		return db, func() *database.DB { return sqliteSecond(tb, db) }
	}},
}

func open(tb testing.TB, url string) *database.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := database.Open(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// sqliteSecond opens db's file again.
func sqliteSecond(tb testing.TB, db *database.DB) *database.DB {
	tb.Helper()
	var path string
	if err := db.SQL.QueryRow("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path); err != nil {
		tb.Fatal(err)
	}
	return open(tb, "sqlite:"+path)
}

func forEachDialect(t *testing.T, body func(t *testing.T, db *database.DB, second func() *database.DB)) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			db, second := d.fresh(t)
			body(t, db, second)
		})
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return viewer.SystemContext(ctx)
}

// testOptions polls often, so SQLite (which has no notifications) is quick too.
func testOptions(opts jobs.Options) jobs.Options {
	if opts.FetchPollInterval == 0 {
		opts.FetchPollInterval = 50 * time.Millisecond
	}
	return jobs.ForTests(opts)
}

// start starts a queue on db with the counting worker and stops it when the test ends.
func start(t *testing.T, db *database.DB, opts jobs.Options, w *countWorker, logger *slog.Logger) *jobs.Queue {
	t.Helper()
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	q, err := jobs.New(db, logger, testOptions(opts))
	if err != nil {
		t.Fatal(err)
	}
	if w != nil {
		if err := jobs.Register(q, w); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := q.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return q
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

type countArgs struct {
	Name string `json:"name"`
	// Fail makes the worker return an error.
	Fail bool `json:"fail,omitempty"`
}

func (countArgs) Kind() string { return "test_count" }

// countWorker counts the runs of each job name.
type countWorker struct {
	river.WorkerDefaults[countArgs]
	mu     sync.Mutex
	counts map[string]int
	ran    chan string
}

func newCountWorker() *countWorker {
	return &countWorker{counts: make(map[string]int), ran: make(chan string, 100)}
}

func (w *countWorker) Work(ctx context.Context, job *river.Job[countArgs]) error {
	w.mu.Lock()
	w.counts[job.Args.Name]++
	w.mu.Unlock()
	w.ran <- job.Args.Name
	if job.Args.Fail {
		return errors.New("told to fail")
	}
	return nil
}

func (w *countWorker) count(name string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counts[name]
}

// waitRan waits for the worker to run the job called name.
func (w *countWorker) waitRan(t *testing.T, name string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case got := <-w.ran:
			if got == name {
				return
			}
		case <-timeout:
			t.Fatalf("job %q did not run", name)
		}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jobsNamed returns the test_count jobs called name.
func jobsNamed(ctx context.Context, t *testing.T, db *database.DB, name string) []*rivertype.JobRow {
	t.Helper()
	all, err := jobs.ListJobs(ctx, db, countArgs{}.Kind())
	if err != nil {
		t.Fatal(err)
	}
	var named []*rivertype.JobRow
	for _, j := range all {
		if strings.Contains(string(j.EncodedArgs), fmt.Sprintf("%q", name)) {
			named = append(named, j)
		}
	}
	return named
}

// createMerchantAndEnqueue is a write that also enqueues its job, in one transaction
// that fails after both when fail is set.
func createMerchantAndEnqueue(ctx context.Context, db *database.DB, handle string, fail bool) error {
	return database.InTx(ctx, db.Client, func(ctx context.Context, tx *ent.Client) error {
		if _, err := tx.Merchant.Create().SetName(handle).SetHandle(handle).Save(ctx); err != nil {
			return err
		}
		if err := jobs.Enqueue(ctx, countArgs{Name: handle}, nil); err != nil {
			return err
		}
		if fail {
			return errors.New("the write failed after enqueueing")
		}
		return nil
	})
}

func merchantExists(ctx context.Context, t *testing.T, db *database.DB, handle string) bool {
	t.Helper()
	ok, err := db.Client.Merchant.Query().Where(merchant.Handle(handle)).Exist(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// (a) A job enqueued in a transaction that rolls back is never run nor visible.
func TestRolledBackJobNeverRuns(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB, _ func() *database.DB) {
		ctx := testContext(t)
		w := newCountWorker()
		start(t, db, jobs.Options{}, w, nil)

		if err := createMerchantAndEnqueue(ctx, db, "rolled-back", true); err == nil {
			t.Fatal("InTx succeeded")
		}
		// A job committed after the rolled-back one runs; by then the other would have.
		if err := createMerchantAndEnqueue(ctx, db, "committed", false); err != nil {
			t.Fatal(err)
		}
		w.waitRan(t, "committed")

		if merchantExists(ctx, t, db, "rolled-back") {
			t.Error("the rolled-back merchant exists")
		}
		if n := w.count("rolled-back"); n != 0 {
			t.Errorf("the rolled-back job ran %d times", n)
		}
		// Matched by args, not id: SQLite reuses a rolled-back row's id.
		if got := jobsNamed(ctx, t, db, "rolled-back"); len(got) != 0 {
			t.Errorf("the rolled-back job is in river_job: %+v", got[0])
		}
	})
}

// (b) A job enqueued in a committed transaction is invisible until the commit, then
// runs exactly once.
func TestCommittedJobRunsOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB, _ func() *database.DB) {
		ctx := testContext(t)
		w := newCountWorker()
		start(t, db, jobs.Options{}, w, nil)

		err := database.InTx(ctx, db.Client, func(ctx context.Context, tx *ent.Client) error {
			if _, err := tx.Merchant.Create().SetName("Once").SetHandle("once").Save(ctx); err != nil {
				return err
			}
			// Nested InTx joins the transaction, and so does its job.
			if err := database.InTx(ctx, db.Client, func(ctx context.Context, _ *ent.Client) error {
				return jobs.Enqueue(ctx, countArgs{Name: "once"}, nil)
			}); err != nil {
				return err
			}
			// Workers poll every 50 ms: give them a chance to see it early.
			time.Sleep(300 * time.Millisecond)
			if n := w.count("once"); n != 0 {
				t.Errorf("the job ran %d times before its transaction committed", n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		w.waitRan(t, "once")
		eventually(t, "the job to be completed", func() bool {
			got := jobsNamed(ctx, t, db, "once")
			return len(got) == 1 && got[0].State == rivertype.JobStateCompleted
		})
		// Time for a duplicate run, had there been one.
		time.Sleep(200 * time.Millisecond)
		if n := w.count("once"); n != 1 {
			t.Errorf("the job ran %d times, want 1", n)
		}
		if got := jobsNamed(ctx, t, db, "once"); len(got) != 1 || got[0].Attempt != 1 {
			t.Errorf("jobs = %+v, want one completed at its first attempt", got)
		}
	})
}

// Outside a transaction a job needs the queue, from ctx or as the receiver; a
// transaction InTx did not begin cannot be joined.
func TestEnqueueOutsideInTx(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB, _ func() *database.DB) {
		ctx := testContext(t)
		w := newCountWorker()
		q := start(t, db, jobs.Options{}, w, nil)

		if err := jobs.Enqueue(ctx, countArgs{Name: "nowhere"}, nil); !errors.Is(err, jobs.ErrNoQueue) {
			t.Errorf("Enqueue without a queue = %v, want ErrNoQueue", err)
		}
		if err := jobs.Enqueue(jobs.NewContext(ctx, q), countArgs{Name: "from-context"}, nil); err != nil {
			t.Fatal(err)
		}
		w.waitRan(t, "from-context")
		if err := q.Enqueue(ctx, countArgs{Name: "from-queue"}, nil); err != nil {
			t.Fatal(err)
		}
		w.waitRan(t, "from-queue")

		tx, err := db.Client.Tx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback() }()
		err = jobs.Enqueue(jobs.NewContext(ent.NewTxContext(ctx, tx), q), countArgs{Name: "foreign-tx"}, nil)
		if err == nil || !strings.Contains(err.Error(), "not begun by database.InTx") {
			t.Errorf("Enqueue in a transaction InTx did not begin = %v, want an error", err)
		}
	})
}

// (c) The periodic job runs on its own and calls the function, again each interval, in
// one process at a time however many run the queue.
func TestExpireReservationsRunsPeriodically(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB, second func() *database.DB) {
		var calls, running, overlaps atomic.Int32
		expire := func(ctx context.Context) (int, error) {
			if running.Add(1) > 1 {
				overlaps.Add(1)
			}
			defer running.Add(-1)
			if _, ok := viewer.FromContext(ctx); ok {
				t.Error("the job's context carries a viewer; the function must set its own")
			}
			calls.Add(1)
			time.Sleep(20 * time.Millisecond)
			return 1, nil
		}
		const interval = 300 * time.Millisecond
		opts := jobs.Options{ExpireReservations: expire, ExpireReservationsInterval: interval}
		begin := time.Now()
		start(t, db, opts, nil, nil)
		start(t, second(), opts, nil, nil)

		eventually(t, "the first run", func() bool { return calls.Load() >= 1 })
		first := time.Since(begin)
		eventually(t, "three runs", func() bool { return calls.Load() >= 3 })
		elapsed := time.Since(begin)
		t.Logf("first run after %v, third after %v", first, elapsed)
		if overlaps.Load() > 0 {
			t.Errorf("%d runs overlapped another", overlaps.Load())
		}
		// Two leaders would double the rate.
		if max := int32(elapsed/interval) + 2; calls.Load() > max {
			t.Errorf("%d runs in %v at one per %v", calls.Load(), elapsed, interval)
		}
	})
}

// Failed attempts are logged: a warning while the job will be retried, an error when
// River gives up.
func TestFailuresAreLogged(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB, _ func() *database.DB) {
		ctx := testContext(t)
		var buf syncBuffer
		w := newCountWorker()
		q := start(t, db, jobs.Options{}, w, slog.New(slog.NewJSONHandler(&buf, nil)))
		if err := q.Enqueue(ctx, countArgs{Name: "last-try", Fail: true}, &river.InsertOpts{MaxAttempts: 1}); err != nil {
			t.Fatal(err)
		}
		if err := q.Enqueue(ctx, countArgs{Name: "will-retry", Fail: true}, &river.InsertOpts{MaxAttempts: 5}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "both failures logged", func() bool {
			s := buf.String()
			return strings.Contains(s, `"level":"ERROR","msg":"job failed; giving up"`) &&
				strings.Contains(s, `"level":"WARN","msg":"job failed; will retry"`)
		})
		if s := buf.String(); !strings.Contains(s, `"kind":"test_count"`) || !strings.Contains(s, `"error":"told to fail"`) {
			t.Errorf("log lacks the kind or the error:\n%s", s)
		}
		eventually(t, "the job given up to be discarded", func() bool {
			got := jobsNamed(ctx, t, db, "last-try")
			return len(got) == 1 && got[0].State == rivertype.JobStateDiscarded
		})
		// The handler logs before River records the failure, and River's backoff retries
		// it 1 s later: it may be retryable, available or running again.
		eventually(t, "the failed job with attempts left to be kept for a retry", func() bool {
			got := jobsNamed(ctx, t, db, "will-retry")
			return len(got) == 1 && len(got[0].Errors) > 0 && got[0].State != rivertype.JobStateDiscarded
		})
	})
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type slowArgs struct{}

func (slowArgs) Kind() string { return "test_slow" }

// slowWorker runs until release is closed or its context ends.
type slowWorker struct {
	river.WorkerDefaults[slowArgs]
	started  chan struct{}
	release  chan struct{}
	finished atomic.Bool
	ctxErr   atomic.Value
}

func (w *slowWorker) Work(ctx context.Context, _ *river.Job[slowArgs]) error {
	close(w.started)
	select {
	case <-w.release:
		w.finished.Store(true)
		return nil
	case <-ctx.Done():
		w.ctxErr.Store(ctx.Err())
		return ctx.Err()
	}
}

func startSlow(t *testing.T, db *database.DB) (*jobs.Queue, *slowWorker) {
	t.Helper()
	q, err := jobs.New(db, slog.New(slog.NewTextHandler(testWriter{t}, nil)), testOptions(jobs.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	w := &slowWorker{started: make(chan struct{}), release: make(chan struct{})}
	if err := jobs.Register(q, w); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	if err := q.Enqueue(ctx, slowArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.started:
	case <-time.After(30 * time.Second):
		t.Fatal("the job did not start")
	}
	return q, w
}

// (d) Stop waits for the running job to finish, then returns.
func TestStopWaitsForRunningJob(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB, _ func() *database.DB) {
		q, w := startSlow(t, db)
		time.AfterFunc(300*time.Millisecond, func() { close(w.release) })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		begin := time.Now()
		if err := q.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if !w.finished.Load() {
			t.Fatal("Stop returned before the running job finished")
		}
		if took := time.Since(begin); took < 250*time.Millisecond {
			t.Errorf("Stop took %v; the job ran 300 ms more", took)
		}
		got, err := jobs.ListJobs(testContext(t), db, slowArgs{}.Kind())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].State != rivertype.JobStateCompleted {
			t.Errorf("job = %+v, want completed", got)
		}
		if err := q.Stop(ctx); err != nil {
			t.Errorf("second Stop: %v", err)
		}
	})
}

// A job still running when Stop's context ends is cancelled, and Stop says so.
func TestStopCancelsJobsAfterGracePeriod(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB, _ func() *database.DB) {
		q, w := startSlow(t, db)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := q.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Stop = %v, want the deadline exceeded", err)
		}
		if w.ctxErr.Load() == nil || w.finished.Load() {
			t.Fatal("the running job's context was not cancelled")
		}
	})
}

func TestRegisterAfterStartFails(t *testing.T) {
	db := dbtest.SQLite(t)
	q := start(t, db, jobs.Options{}, newCountWorker(), nil)
	if err := jobs.Register(q, &slowWorker{}); err == nil {
		t.Error("Register after Start succeeded")
	}
	if err := q.Start(context.Background()); err == nil {
		t.Error("a second Start succeeded")
	}
}
