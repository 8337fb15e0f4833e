package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// DefaultMemoryKeys is how many budgets a Memory limiter keeps by default: about 10 MB.
const DefaultMemoryKeys = 100_000

// Memory keeps budgets in process, for the embedded default (one process, no Redis). It
// runs the same GCRA as Redis. The map is a bounded LRU: past its size the least recently
// charged key is forgotten, which only gives that key a full budget again; idle keys are
// the ones forgotten, and their budgets are most likely full already.
type Memory struct {
	mu   sync.Mutex
	tats *simplelru.LRU[string, time.Time]
	now  func() time.Time
}

// NewMemory returns an in-process limiter keeping at most size keys (DefaultMemoryKeys
// when size <= 0).
func NewMemory(size int) *Memory {
	if size <= 0 {
		size = DefaultMemoryKeys
	}
	tats, err := simplelru.NewLRU[string, time.Time](size, nil)
	if err != nil {
		panic(err) // only for size <= 0, excluded above
	}
	return &Memory{tats: tats, now: time.Now}
}

// Allow implements Limiter. It never fails for a valid limit and cost.
//
// GCRA keeps, per key, the theoretical arrival time (TAT): when the budget would be full
// again. Each unit of cost pushes it one emission interval (Period/Rate) later; a charge
// is allowed while the pushed TAT stays within Burst intervals of now.
func (m *Memory) Allow(_ context.Context, key string, l Limit, cost int) (Result, error) {
	if err := l.check(cost); err != nil {
		return Result{}, err
	}
	interval := l.Period / time.Duration(l.Rate)
	if interval <= 0 {
		interval = 1 // more than a billion a second: every nanosecond refills one
	}
	increment := interval * time.Duration(cost)
	burstOffset := interval * time.Duration(l.Burst)

	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	tat, ok := m.tats.Get(key)
	if !ok || tat.Before(now) {
		tat = now
	}
	newTAT := tat.Add(increment)
	// How far now is past the moment this charge would fit in the burst.
	diff := now.Sub(newTAT.Add(-burstOffset))
	if diff < 0 {
		return Result{Limit: l.Burst, RetryAfter: -diff, ResetAfter: tat.Sub(now)}, nil
	}
	m.tats.Add(key, newTAT)
	return Result{
		Allowed:    true,
		Limit:      l.Burst,
		Remaining:  int(diff / interval),
		ResetAfter: newTAT.Sub(now),
	}, nil
}
