package jobs

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// failureLogger logs every failed attempt of a job: a warning while River will retry it,
// an error when it gives up (the job is discarded and stays in river_job, state
// discarded, for a week).
type failureLogger struct{ log *slog.Logger }

func (h *failureLogger) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.failed(ctx, job, slog.String("error", err.Error()))
	return nil
}

func (h *failureLogger) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	h.failed(ctx, job, slog.Any("panic", panicVal), slog.String("trace", trace))
	return nil
}

func (h *failureLogger) failed(ctx context.Context, job *rivertype.JobRow, attrs ...slog.Attr) {
	level, msg := slog.LevelWarn, "job failed; will retry"
	if job.Attempt >= job.MaxAttempts {
		level, msg = slog.LevelError, "job failed; giving up"
	}
	attrs = append(attrs,
		slog.String("kind", job.Kind),
		slog.Int64("job_id", job.ID),
		slog.Int("attempt", job.Attempt),
		slog.Int("max_attempts", job.MaxAttempts),
	)
	h.log.LogAttrs(ctx, level, msg, attrs...)
}

// riverLogger is logger for River itself, which reports routine events (leadership,
// each retry) at info level: only its warnings and errors get through.
func riverLogger(logger *slog.Logger) *slog.Logger {
	return slog.New(minLevel{Handler: logger.Handler(), min: slog.LevelWarn}).With("component", "river")
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
