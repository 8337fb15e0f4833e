// Package ratelimit owns the rate limiting algorithm and its storage: GCRA (the generic
// cell rate algorithm, a token bucket kept as one timestamp per key) in Redis, shared by
// every replica, or in process on the embedded default, with the same semantics. It
// decides whether a key may spend a cost now and says when it may try again.
//
// It knows nothing of HTTP, credentials or routes: which key a request is charged to and
// under which limit is the transport's decision (rest/ratelimit.go). It must not fail
// requests because its storage is down: FailOpen lets them through and counts it.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Limit is a budget: Rate units per Period on average, Burst of them at once.
type Limit struct {
	// Rate is how many units are refilled per Period.
	Rate int
	// Period is the refill period.
	Period time.Duration
	// Burst is the most the budget holds, so the most one moment can spend. A cost above
	// Burst is always refused.
	Burst int
}

// PerSecond is a limit refilling rate units a second and holding burst.
func PerSecond(rate, burst int) Limit {
	return Limit{Rate: rate, Period: time.Second, Burst: burst}
}

func (l Limit) String() string {
	return fmt.Sprintf("%d per %s (burst %d)", l.Rate, l.Period, l.Burst)
}

// ErrInvalid is returned for a limit or cost no budget can be kept with.
var ErrInvalid = errors.New("ratelimit: invalid limit or cost")

func (l Limit) check(cost int) error {
	if l.Rate <= 0 || l.Period <= 0 || l.Burst <= 0 || cost <= 0 {
		return fmt.Errorf("%w: %s, cost %d", ErrInvalid, l, cost)
	}
	return nil
}

// Result is the decision on one charge.
type Result struct {
	// Allowed says the cost was spent; a refused charge spends nothing.
	Allowed bool
	// Limit is what a full budget holds (the limit's Burst).
	Limit int
	// Remaining is what could still be spent at once after this charge.
	Remaining int
	// RetryAfter is how long until the same charge would be allowed; zero when allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the budget is full again.
	ResetAfter time.Duration
	// FailedOpen says the limiter could not decide (its storage failed) and allowed the
	// charge without counting it: Remaining and the durations mean nothing.
	FailedOpen bool
}

// Limiter charges costs to keys' budgets. Implementations are safe for concurrent use.
type Limiter interface {
	// Allow spends cost (at least 1) of key's budget under l if the budget holds it now.
	// An error means the limiter could not decide.
	Allow(ctx context.Context, key string, l Limit, cost int) (Result, error)
}

// Charge spends cost of the budget of whoever makes the request in ctx, and returns an
// error (a rate_limited application error) when the budget cannot pay it now. The
// transport, which knows who the requester is, puts it in the request's context; code
// that only learns the cost later (the GraphQL server, once it has validated an
// operation) calls it.
type Charge func(ctx context.Context, cost int) error

type chargeKey struct{}

// WithCharge returns ctx carrying charge.
func WithCharge(ctx context.Context, charge Charge) context.Context {
	return context.WithValue(ctx, chargeKey{}, charge)
}

// ChargeFromContext returns the Charge in ctx, or nil when requests are not limited.
func ChargeFromContext(ctx context.Context) Charge {
	c, _ := ctx.Value(chargeKey{}).(Charge)
	return c
}
