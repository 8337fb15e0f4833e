package ratelimit

import (
	"context"
	"math"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// DefaultRedisTimeout bounds one decision in Redis. A limiter that waits for a slow or
// unreachable Redis would add its wait to every request; past this the caller fails
// open instead.
const DefaultRedisTimeout = 100 * time.Millisecond

// RedisOptions configures a Redis limiter.
type RedisOptions struct {
	// Prefix is prepended to every key (after redis_rate's own "rate:"), so several
	// deployments or tests can share one Redis.
	Prefix string
	// Timeout bounds each decision; zero is DefaultRedisTimeout. It bounds waiting for a
	// server that accepts but does not answer only when the client was built with
	// ContextTimeoutEnabled; without it go-redis waits its ReadTimeout (3 s by default).
	Timeout time.Duration
}

// Redis keeps budgets in Redis with redis_rate's GCRA script: one key per budget holding
// its theoretical arrival time, expiring when the budget is full again, so idle keys
// cost nothing. Every replica sharing the Redis shares the budgets.
type Redis struct {
	limiter *redis_rate.Limiter
	prefix  string
	timeout time.Duration
}

// NewRedis returns a limiter on client.
func NewRedis(client redis.UniversalClient, opts RedisOptions) *Redis {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultRedisTimeout
	}
	return &Redis{limiter: redis_rate.NewLimiter(client), prefix: opts.Prefix, timeout: timeout}
}

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string, l Limit, cost int) (Result, error) {
	if err := l.check(cost); err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := r.limiter.AllowN(ctx, r.prefix+key, redis_rate.Limit{Rate: l.Rate, Period: l.Period, Burst: l.Burst}, cost)
	if err != nil {
		return Result{}, err
	}
	out := Result{
		Allowed: res.Allowed > 0,
		Limit:   l.Burst,
		// redis_rate says -1 for "not limited".
		RetryAfter: max(res.RetryAfter, 0).Round(time.Microsecond),
		ResetAfter: max(res.ResetAfter, 0).Round(time.Microsecond),
	}
	if out.Allowed {
		out.Remaining = remaining(l, res.ResetAfter)
	}
	return out, nil
}

// remaining is what a budget still holds when it is full again after resetAfter: Burst
// less the units that take that long to refill. redis_rate counts in float seconds since
// 2017, so its times are off by up to about a tenth of a microsecond and the Remaining it
// truncates can come out one short (1.9999999 becomes 1); a hundredth of a unit of
// tolerance absorbs that.
func remaining(l Limit, resetAfter time.Duration) int {
	interval := l.Period.Seconds() / float64(l.Rate)
	spent := int(math.Ceil(resetAfter.Seconds()/interval - 0.01))
	return min(max(l.Burst-spent, 0), l.Burst)
}
