package ratelimit

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultWarnEvery is how often FailOpen logs while its limiter keeps failing.
const DefaultWarnEvery = time.Minute

// FailOpen lets requests through when its limiter cannot decide (Redis down or slow): a
// rate limiter protects the service, and refusing every request because of it would be
// the outage it guards against. Each such request is counted, and a warning is logged at
// most once per interval (with how many failed since the last one), not per request.
type FailOpen struct {
	next     Limiter
	failures prometheus.Counter
	log      *slog.Logger
	every    time.Duration

	lastWarn   atomic.Int64 // unix nanoseconds of the last warning
	suppressed atomic.Int64 // failures since the last warning
}

// NewFailOpen wraps next. failures counts the charges allowed because next failed;
// every (DefaultWarnEvery when <= 0) spaces the warnings.
func NewFailOpen(next Limiter, failures prometheus.Counter, log *slog.Logger, every time.Duration) *FailOpen {
	if every <= 0 {
		every = DefaultWarnEvery
	}
	if log == nil {
		log = slog.Default()
	}
	return &FailOpen{next: next, failures: failures, log: log, every: every}
}

// Allow implements Limiter; it never returns an error.
func (f *FailOpen) Allow(ctx context.Context, key string, l Limit, cost int) (Result, error) {
	res, err := f.next.Allow(ctx, key, l, cost)
	if err == nil {
		return res, nil
	}
	open := Result{Allowed: true, Limit: l.Burst, FailedOpen: true}
	if ctx.Err() != nil {
		// The caller went away: nothing is wrong with the limiter.
		return open, nil
	}
	f.failures.Inc()
	n := f.suppressed.Add(1)
	now := time.Now().UnixNano()
	last := f.lastWarn.Load()
	if now-last >= int64(f.every) && f.lastWarn.CompareAndSwap(last, now) {
		f.suppressed.Add(-n)
		f.log.WarnContext(ctx, "rate limiter unavailable: allowing requests unlimited",
			"err", err, "failures", n, "next_warning_after", f.every.String())
	}
	return open, nil
}
