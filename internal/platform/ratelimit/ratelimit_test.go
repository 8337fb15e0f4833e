package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/mercantile/mercantile/internal/platform/kv/kvtest"
	"github.com/mercantile/mercantile/internal/pulid"
)

// limiterCases is the contract every Limiter keeps. Each case gets keys of its own; the
// short periods make the refill cases wait for real, briefly.
var limiterCases = []struct {
	name string
	run  func(t *testing.T, l Limiter, key string)
}{
	{"OK burst is allowed then refused", func(t *testing.T, l Limiter, key string) {
		limit := Limit{Rate: 2, Period: time.Second, Burst: 3} // one unit per 500ms
		for want := 2; want >= 0; want-- {
			res := allow(t, l, key, limit, 1)
			if !res.Allowed || res.Remaining != want || res.Limit != 3 || res.RetryAfter != 0 {
				t.Fatalf("charge within the burst: %+v, want allowed with %d remaining", res, want)
			}
		}
		res := allow(t, l, key, limit, 1)
		if res.Allowed || res.Remaining != 0 {
			t.Fatalf("charge past the burst: %+v, want refused", res)
		}
		if res.RetryAfter <= 0 || res.RetryAfter > 500*time.Millisecond {
			t.Errorf("RetryAfter %s, want within one interval (500ms)", res.RetryAfter)
		}
		if res.ResetAfter <= time.Second || res.ResetAfter > 1500*time.Millisecond {
			t.Errorf("ResetAfter %s, want about 1.5s (three units spent)", res.ResetAfter)
		}
	}},
	{"OK refills with time", func(t *testing.T, l Limiter, key string) {
		limit := Limit{Rate: 5, Period: time.Second, Burst: 2} // one unit per 200ms
		allow(t, l, key, limit, 1)
		allow(t, l, key, limit, 1)
		res := allow(t, l, key, limit, 1)
		if res.Allowed {
			t.Fatalf("third charge of a burst of 2 allowed: %+v", res)
		}
		time.Sleep(res.RetryAfter + 20*time.Millisecond)
		if res := allow(t, l, key, limit, 1); !res.Allowed {
			t.Fatalf("refused after waiting RetryAfter: %+v", res)
		}
		// Only one unit came back.
		if res := allow(t, l, key, limit, 1); res.Allowed {
			t.Fatalf("allowed twice after refilling one unit: %+v", res)
		}
	}},
	{"OK cost charges that many", func(t *testing.T, l Limiter, key string) {
		limit := Limit{Rate: 10, Period: 10 * time.Second, Burst: 10} // one unit a second
		if res := allow(t, l, key, limit, 4); !res.Allowed || res.Remaining != 6 {
			t.Fatalf("cost 4 of 10: %+v, want 6 remaining", res)
		}
		res := allow(t, l, key, limit, 7)
		if res.Allowed {
			t.Fatalf("cost 7 with 6 remaining allowed: %+v", res)
		}
		if res.RetryAfter <= 0 || res.RetryAfter > time.Second {
			t.Errorf("RetryAfter %s, want within one interval (one unit short)", res.RetryAfter)
		}
		if res := allow(t, l, key, limit, 6); !res.Allowed || res.Remaining != 0 {
			t.Fatalf("cost 6 with 6 remaining: %+v, want allowed with none left", res)
		}
	}},
	{"ErrOverBurst a cost above the burst is refused", func(t *testing.T, l Limiter, key string) {
		if res := allow(t, l, key, Limit{Rate: 10, Period: time.Second, Burst: 3}, 4); res.Allowed {
			t.Fatalf("cost 4 with a burst of 3 allowed: %+v", res)
		}
	}},
	{"OK keys are independent", func(t *testing.T, l Limiter, key string) {
		limit := Limit{Rate: 1, Period: time.Hour, Burst: 2}
		allow(t, l, key, limit, 2)
		if res := allow(t, l, key, limit, 1); res.Allowed {
			t.Fatalf("spent key allowed: %+v", res)
		}
		if res := allow(t, l, key+":other", limit, 1); !res.Allowed || res.Remaining != 1 {
			t.Fatalf("another key: %+v, want a full budget", res)
		}
	}},
	{"OK concurrent charges never overspend", func(t *testing.T, l Limiter, key string) {
		limit := Limit{Rate: 1, Period: time.Hour, Burst: 25}
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for range 60 {
			wg.Go(func() {
				res, err := l.Allow(context.Background(), key, limit, 1)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Allowed {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if n := allowed.Load(); n != 25 {
			t.Fatalf("%d of 60 concurrent charges allowed, want the burst (25)", n)
		}
	}},
	{"ErrInvalid no cost or no rate", func(t *testing.T, l Limiter, key string) {
		for _, c := range []struct {
			limit Limit
			cost  int
		}{
			{PerSecond(10, 10), 0},
			{PerSecond(0, 10), 1},
			{PerSecond(10, 0), 1},
		} {
			if _, err := l.Allow(context.Background(), key, c.limit, c.cost); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s cost %d: err %v, want ErrInvalid", c.limit, c.cost, err)
			}
		}
	}},
}

func allow(t *testing.T, l Limiter, key string, limit Limit, cost int) Result {
	t.Helper()
	res, err := l.Allow(context.Background(), key, limit, cost)
	if err != nil {
		t.Fatalf("Allow(%s, %s, %d): %v", key, limit, cost, err)
	}
	return res
}

func runLimiterCases(t *testing.T, l Limiter) {
	for _, c := range limiterCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, l, "k:"+pulid.New("t").String())
		})
	}
}

func TestMemory(t *testing.T) {
	t.Parallel()
	runLimiterCases(t, NewMemory(0))
}

func TestRedis(t *testing.T) {
	t.Parallel()
	client := kvtest.Redis(t)
	prefix := "ratelimit-test:" + pulid.New("p").String() + ":"
	t.Cleanup(func() { deleteKeys(t, client, "rate:"+prefix+"*") })
	runLimiterCases(t, NewRedis(client, RedisOptions{Prefix: prefix}))
}

// TestRedisKeysExpire: a budget's key lives only until the budget is full again, so idle
// keys cost Redis nothing.
func TestRedisKeysExpire(t *testing.T) {
	t.Parallel()
	client := kvtest.Redis(t)
	prefix := "ratelimit-test:" + pulid.New("p").String() + ":"
	t.Cleanup(func() { deleteKeys(t, client, "rate:"+prefix+"*") })
	l := NewRedis(client, RedisOptions{Prefix: prefix})
	allow(t, l, "k", Limit{Rate: 1, Period: time.Minute, Burst: 5}, 2)
	ttl, err := client.TTL(context.Background(), "rate:"+prefix+"k").Result()
	if err != nil || ttl <= 0 || ttl > 2*time.Minute {
		t.Fatalf("TTL %s, %v; want about two minutes (two units at one a minute)", ttl, err)
	}
}

func deleteKeys(t *testing.T, client *redis.Client, pattern string) {
	t.Helper()
	ctx := context.Background()
	keys, err := client.Keys(ctx, pattern).Result()
	if err == nil && len(keys) > 0 {
		client.Del(ctx, keys...)
	}
}

// TestMemoryExact checks the GCRA arithmetic on a clock the test moves.
func TestMemoryExact(t *testing.T) {
	t.Parallel()
	m := NewMemory(0)
	now := time.Unix(1_700_000_000, 0)
	m.now = func() time.Time { return now }
	limit := Limit{Rate: 2, Period: time.Second, Burst: 4} // one unit per 500ms

	if res := allow(t, m, "k", limit, 4); !res.Allowed || res.Remaining != 0 || res.ResetAfter != 2*time.Second {
		t.Fatalf("spending the burst: %+v", res)
	}
	res := allow(t, m, "k", limit, 1)
	if res.Allowed || res.RetryAfter != 500*time.Millisecond || res.ResetAfter != 2*time.Second {
		t.Fatalf("charge on an empty budget: %+v, want refused, retry in 500ms, full in 2s", res)
	}
	now = now.Add(499 * time.Millisecond)
	if res := allow(t, m, "k", limit, 1); res.Allowed || res.RetryAfter != time.Millisecond {
		t.Fatalf("1ms early: %+v", res)
	}
	now = now.Add(time.Millisecond)
	if res := allow(t, m, "k", limit, 1); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("on time: %+v", res)
	}
	now = now.Add(time.Hour)
	if res := allow(t, m, "k", limit, 1); !res.Allowed || res.Remaining != 3 || res.ResetAfter != 500*time.Millisecond {
		t.Fatalf("after an idle hour: %+v, want a full budget less one", res)
	}
	if res := allow(t, m, "k", limit, 2); !res.Allowed || res.Remaining != 1 || res.ResetAfter != 1500*time.Millisecond {
		t.Fatalf("cost 2: %+v", res)
	}
}

// TestMemoryIsBounded: past its size the least recently charged key is forgotten.
func TestMemoryIsBounded(t *testing.T) {
	t.Parallel()
	m := NewMemory(2)
	limit := Limit{Rate: 1, Period: time.Hour, Burst: 1}
	for _, k := range []string{"a", "b", "c"} {
		allow(t, m, k, limit, 1)
	}
	if n := m.tats.Len(); n != 2 {
		t.Fatalf("%d keys kept, want 2", n)
	}
	if res := allow(t, m, "c", limit, 1); res.Allowed {
		t.Fatal("the most recent key was forgotten")
	}
	if res := allow(t, m, "a", limit, 1); !res.Allowed {
		t.Fatal("the oldest key was kept")
	}
}

// closedAddr is an address nothing listens on: a listener opened and closed.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil || len(families) != 1 {
		t.Fatalf("gathering the counter: %v, %d families", err, len(families))
	}
	return families[0].GetMetric()[0].GetCounter().GetValue()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFailOpen(t *testing.T) {
	t.Parallel()
	t.Run("OK Redis down allows, counts and warns once", func(t *testing.T) {
		t.Parallel()
		client := redis.NewClient(&redis.Options{Addr: closedAddr(t)})
		t.Cleanup(func() { client.Close() })
		failures := prometheus.NewCounter(prometheus.CounterOpts{Name: "failopen_total"})
		var logs syncBuffer
		l := NewFailOpen(NewRedis(client, RedisOptions{}), failures, slog.New(slog.NewTextHandler(&logs, nil)), time.Hour)
		limit := Limit{Rate: 1, Period: time.Hour, Burst: 1}
		start := time.Now()
		for range 5 {
			res := allow(t, l, "k", limit, 1)
			if !res.Allowed || !res.FailedOpen {
				t.Fatalf("Redis down: %+v, want allowed (failed open)", res)
			}
		}
		// The timeout, not go-redis's retries with backoff, bounds a failing decision.
		if elapsed := time.Since(start); elapsed > 5*(DefaultRedisTimeout+200*time.Millisecond) {
			t.Errorf("5 failing decisions took %s", elapsed)
		}
		if got := counterValue(t, failures); got != 5 {
			t.Errorf("failures counted %v, want 5", got)
		}
		if n := strings.Count(logs.String(), "rate limiter unavailable"); n != 1 {
			t.Errorf("%d warnings for 5 failures within the interval, want 1:\n%s", n, logs.String())
		}
	})
	t.Run("OK a timeout fails open", func(t *testing.T) {
		t.Parallel()
		// A server that accepts connections and never answers: Redis hung, not down.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var conns []net.Conn
		t.Cleanup(func() {
			ln.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				c.Close()
			}
		})
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
		client := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ContextTimeoutEnabled: true})
		t.Cleanup(func() { client.Close() })
		failures := prometheus.NewCounter(prometheus.CounterOpts{Name: "failopen_total"})
		l := NewFailOpen(NewRedis(client, RedisOptions{Timeout: 50 * time.Millisecond}), failures, slog.New(slog.DiscardHandler), 0)
		start := time.Now()
		if res := allow(t, l, "k", PerSecond(1, 1), 1); !res.Allowed || !res.FailedOpen {
			t.Fatalf("Redis hung: %+v", res)
		}
		if elapsed := time.Since(start); elapsed > time.Second {
			t.Errorf("a hung Redis held the decision for %s", elapsed)
		}
		if got := counterValue(t, failures); got != 1 {
			t.Errorf("failures counted %v, want 1", got)
		}
	})
	t.Run("OK decisions pass through", func(t *testing.T) {
		t.Parallel()
		failures := prometheus.NewCounter(prometheus.CounterOpts{Name: "failopen_total"})
		l := NewFailOpen(NewMemory(0), failures, slog.New(slog.DiscardHandler), 0)
		limit := Limit{Rate: 1, Period: time.Hour, Burst: 1}
		if res := allow(t, l, "k", limit, 1); !res.Allowed || res.FailedOpen {
			t.Fatalf("first charge: %+v", res)
		}
		if res := allow(t, l, "k", limit, 1); res.Allowed || res.FailedOpen {
			t.Fatalf("a refusal did not pass through: %+v", res)
		}
		if got := counterValue(t, failures); got != 0 {
			t.Errorf("failures counted %v without a failure", got)
		}
	})
	t.Run("OK a caller that gave up is not a failure", func(t *testing.T) {
		t.Parallel()
		client := redis.NewClient(&redis.Options{Addr: closedAddr(t)})
		t.Cleanup(func() { client.Close() })
		failures := prometheus.NewCounter(prometheus.CounterOpts{Name: "failopen_total"})
		l := NewFailOpen(NewRedis(client, RedisOptions{}), failures, slog.New(slog.DiscardHandler), 0)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if res, err := l.Allow(ctx, "k", PerSecond(1, 1), 1); err != nil || !res.Allowed {
			t.Fatalf("cancelled caller: %+v, %v", res, err)
		}
		if got := counterValue(t, failures); got != 0 {
			t.Errorf("a cancelled request counted as a limiter failure")
		}
	})
}

func TestChargeContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if ChargeFromContext(ctx) != nil {
		t.Fatal("a charge in an empty context")
	}
	var spent int
	ctx = WithCharge(ctx, func(_ context.Context, cost int) error { spent += cost; return nil })
	if err := ChargeFromContext(ctx)(ctx, 3); err != nil || spent != 3 {
		t.Fatalf("charge from context: %v, spent %d", err, spent)
	}
}
