package jobs

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mercantile/mercantile/internal/platform/database"
)

// depthTimeout bounds the count a scrape runs, so a slow database delays a scrape by
// at most this much instead of holding it.
const depthTimeout = 2 * time.Second

var depthDesc = prometheus.NewDesc("mercantile_jobs",
	"Background jobs waiting or running, by queue and state (available, scheduled, retryable, running).",
	[]string{"queue", "state"}, nil)

// DepthCollector reports the job queue's depth from River's table at each scrape: jobs
// due now and not yet taken (available), waiting for their time (scheduled), waiting to
// retry after a failure (retryable), and running. A backlog of available jobs is a
// worker shortage; retryable ones are a failing dependency (SendGrid, Stripe, Shopify).
func DepthCollector(db *database.DB) prometheus.Collector { return depthCollector{db: db} }

type depthCollector struct{ db *database.DB }

func (c depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- depthDesc }

func (c depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), depthTimeout)
	defer cancel()
	rows, err := c.db.SQL.QueryContext(ctx, `SELECT queue, state, count(*) FROM river_job
WHERE state IN ('available', 'scheduled', 'retryable', 'running') GROUP BY queue, state`)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(depthDesc, err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var queue, state string
		var n float64
		if err := rows.Scan(&queue, &state, &n); err != nil {
			ch <- prometheus.NewInvalidMetric(depthDesc, err)
			return
		}
		ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, n, queue, state)
	}
	if err := rows.Err(); err != nil {
		ch <- prometheus.NewInvalidMetric(depthDesc, err)
	}
}
