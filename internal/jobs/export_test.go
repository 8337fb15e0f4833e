package jobs

import (
	"context"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mercantile/mercantile/internal/platform/database"
)

// ForTests returns opts with River's TestOnly set, which skips the random delays
// maintenance services (leader election's among them) start with.
func ForTests(opts Options) Options {
	opts.testOnly = true
	return opts
}

// ListJobs returns db's jobs of kind, in every state.
func ListJobs(ctx context.Context, db *database.DB, kind string) ([]*rivertype.JobRow, error) {
	ins, err := inserterFor(db, nil)
	if err != nil {
		return nil, err
	}
	res, err := ins.JobList(ctx, river.NewJobListParams().Kinds(kind).First(10_000))
	if err != nil {
		return nil, err
	}
	return res.Jobs, nil
}
