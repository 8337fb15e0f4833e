package jobs

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Retries is the retry policy of jobs that call an HTTP API which may answer 429 with
// how long to wait (SendGrid, Shopify): exponential backoff from Base, capped at Max,
// but never sooner than the API asked. Work records the asked wait with Asked; the
// worker's NextRetry returns Next.
type Retries struct {
	Base, Max time.Duration
	// asked holds, by job id, the wait an attempt was asked for, from Work until River
	// asks NextRetry right after it.
	asked sync.Map
}

// Asked records that job's attempt was asked to wait at least wait (ignored when 0).
func (r *Retries) Asked(jobID int64, wait time.Duration) {
	if wait > 0 {
		r.asked.Store(jobID, wait)
	}
}

// Next is when job's next attempt runs after its attempt-th failed.
func (r *Retries) Next(jobID int64, attempt int) time.Time {
	d := Backoff(r.Base, r.Max, attempt)
	if v, ok := r.asked.LoadAndDelete(jobID); ok {
		d = max(d, v.(time.Duration))
	}
	return time.Now().Add(d)
}

// Backoff is base doubled per earlier attempt, capped at limit, ±20% so that jobs
// failing together do not retry together.
func Backoff(base, limit time.Duration, attempt int) time.Duration {
	d := limit
	if attempt < 30 {
		d = min(base<<max(attempt-1, 0), limit)
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
