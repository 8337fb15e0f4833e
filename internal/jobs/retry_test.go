package jobs_test

import (
	"testing"
	"time"

	"github.com/mercantile/mercantile/internal/jobs"
)

func TestBackoffDoublesWithinJitterUpToTheCap(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		attempt int
		want    time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {4, 8 * time.Second}, {10, time.Minute}, {1000, time.Minute}} {
		for range 50 {
			if d := jobs.Backoff(time.Second, time.Minute, c.attempt); d < c.want*8/10 || d > c.want*12/10 {
				t.Fatalf("attempt %d: %s, want %s ±20%%", c.attempt, d, c.want)
			}
		}
	}
}

func TestRetriesWaitAtLeastWhatWasAsked(t *testing.T) {
	t.Parallel()
	r := &jobs.Retries{Base: time.Second, Max: time.Minute}
	r.Asked(7, 30*time.Second)
	if wait := time.Until(r.Next(7, 1)); wait < 29*time.Second {
		t.Fatalf("next attempt in %s, but the API asked for 30 s", wait)
	}
	// What was asked applies to the attempt that was asked, not the next one.
	if wait := time.Until(r.Next(7, 1)); wait > 2*time.Second {
		t.Fatalf("next attempt in %s, want the 1 s backoff", wait)
	}
}
