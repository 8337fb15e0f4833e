package apperr

import (
	"testing"
	"time"
)

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		after time.Duration
		want  int
	}{
		{0, 0},
		{-time.Second, 0},
		{time.Nanosecond, 1},
		{time.Second, 1},
		{time.Second + time.Millisecond, 2},
		{59900 * time.Millisecond, 60},
	} {
		e := New(RateLimited, "slow down")
		e.RetryAfter = c.after
		if got := e.RetryAfterSeconds(); got != c.want {
			t.Errorf("RetryAfter %s: %d seconds, want %d", c.after, got, c.want)
		}
	}
}
