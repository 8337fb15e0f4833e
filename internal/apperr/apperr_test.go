package apperr

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
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

// TestConnectionLostIsUnavailable: a database connection failing under a request is 503
// unavailable (retry), not 500 internal, however the error reaches apperr.
func TestConnectionLostIsUnavailable(t *testing.T) {
	terminated := fmt.Errorf("insert nodes: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P01"})
	for name, c := range map[string]struct {
		err  *Error
		want Code
	}{
		"From, terminated by an administrator": {From(terminated), Unavailable},
		"Wrap as internal, terminated":         {Wrap(terminated, Internal, "Numbering the order failed."), Unavailable},
		"Wrap as internal, connection dropped": {Wrap(fmt.Errorf("read: %w", io.ErrUnexpectedEOF), Internal, "x"), Unavailable},
		"From, connection refused":             {From(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), Unavailable},
		"From, a unique violation":             {From(&pgconn.PgError{Code: "23505"}), Internal},
		"Wrap as internal, a bug":              {Wrap(errors.New("nil map"), Internal, "x"), Internal},
		"Wrap as conflict, terminated":         {Wrap(terminated, Conflict, "x"), Conflict},
	} {
		if c.err.Code != c.want {
			t.Errorf("%s: %s, want %s", name, c.err.Code, c.want)
		}
	}
	if From(terminated).HTTPStatus() != 503 {
		t.Errorf("status %d", From(terminated).HTTPStatus())
	}
}
