package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/mercantile/mercantile/bench/internal/scratch"
)

// timeline names the phases of the run by the time each began.
type timeline struct {
	mu     sync.Mutex
	names  []string
	starts []time.Time
}

func (t *timeline) mark(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.names = append(t.names, name)
	t.starts = append(t.starts, time.Now())
}

// phase is the index of the phase a request sent at ts belongs to.
func (t *timeline) phase(ts time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := 0
	for j, s := range t.starts {
		if !ts.Before(s) {
			i = j
		}
	}
	return i
}

type restart struct {
	Instance   int
	Unhealthy  time.Duration // SIGTERM to the proxy's poll seeing /readyz not 200
	Exit       time.Duration // SIGTERM to the process's exit
	ExitStatus string
	Ready      time.Duration // start to /readyz 200
	Routed     time.Duration // start to the proxy routing to it again
}

type stats struct {
	requests, failed, insufficient int
	lat                            []time.Duration
}

func (s *stats) add(r *vegeta.Result, failed, insufficient bool) {
	s.requests++
	if failed {
		s.failed++
	}
	if insufficient {
		s.insufficient++
	}
	s.lat = append(s.lat, r.Latency)
}

func (s *stats) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	slices.Sort(s.lat)
	return s.lat[min(len(s.lat)-1, int(p*float64(len(s.lat))))]
}

type failure struct {
	count       int
	first, last time.Duration // since the load began
}

type rollReport struct {
	cpus, rate, products int
	wall, drainDelay     time.Duration
	phaseNames           []string
	phaseOffsets         []time.Duration
	phases               []*stats
	endpoints            map[string]*stats
	total                stats
	failures             map[string]*failure // "phase | endpoint | error"
	failed               int
	orderIDs             []string
	restarts             []restart
	retries, noBackend   int
	retryErrs, proxyErrs map[string]int
	missing, partial     int
	ordersInDB           int
	badLevels            int
}

func endpoint(r *vegeta.Result) string {
	switch {
	case r.Method == http.MethodPost:
		return "POST /api/v1/orders"
	case strings.Contains(r.URL, "/inventory/"):
		return "GET /api/v1/inventory/{sku}"
	case strings.Contains(r.URL, "/products?"):
		return "GET /api/v1/products?limit=20"
	default:
		return "GET /api/v1/products/{id}"
	}
}

func summarize(results []vegeta.Result, tl *timeline) *rollReport {
	rep := &rollReport{endpoints: map[string]*stats{}, failures: map[string]*failure{}, phaseNames: tl.names}
	for _, s := range tl.starts {
		rep.phaseOffsets = append(rep.phaseOffsets, s.Sub(tl.starts[0]))
		rep.phases = append(rep.phases, &stats{})
	}
	for i := range results {
		r := &results[i]
		ep := endpoint(r)
		var problem struct {
			ID   string `json:"id"`
			Code string `json:"code"`
		}
		_ = json.Unmarshal(r.Body, &problem)
		insufficient := r.Code == http.StatusConflict && r.Method == http.MethodPost && problem.Code == "insufficient_inventory"
		failed := r.Error != "" || (r.Code/100 != 2 && !insufficient)
		if r.Code == http.StatusCreated && r.Method == http.MethodPost && problem.ID != "" {
			rep.orderIDs = append(rep.orderIDs, problem.ID)
		}
		ph := tl.phase(r.Timestamp)
		rep.total.add(r, failed, insufficient)
		rep.phases[ph].add(r, failed, insufficient)
		if rep.endpoints[ep] == nil {
			rep.endpoints[ep] = &stats{}
		}
		rep.endpoints[ep].add(r, failed, insufficient)
		if !failed {
			continue
		}
		rep.failed++
		what := strconv.Itoa(int(r.Code)) + " " + problem.Code
		if r.Code == 0 {
			what = "transport: " + truncate(r.Error)
		}
		key := tl.names[ph] + " | " + ep + " | " + what
		at := r.Timestamp.Sub(tl.starts[0])
		f := rep.failures[key]
		if f == nil {
			f = &failure{first: at}
			rep.failures[key] = f
		}
		f.count++
		f.last = at
	}
	return rep
}

func (rep *rollReport) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Two `mercantile serve` instances (same PostgreSQL database and Redis DB, SHUTDOWN_DRAIN_DELAY=%s, "+
		"SHUTDOWN_TIMEOUT=15s, RATE_LIMIT_ENABLED=false) behind a round-robin reverse proxy in the benchmark process that routes "+
		"only to instances whose `/readyz` answered 200 at its last poll (every 300 ms). vegeta offers %d req/s (open loop) "+
		"through the proxy with the publishable key: 30%% `GET /api/v1/products?limit=20`, 25%% `GET /api/v1/products/{id}`, "+
		"30%% `GET /api/v1/inventory/{sku}`, 15%% `POST /api/v1/orders` (1-3 lines, unique `Idempotency-Key`) on %d products "+
		"x 3 variants x 3 warehouses. Each instance in turn: SIGTERM, wait for its exit, start a new one on the same port, "+
		"wait for `/readyz` 200. A failure is a transport error or any non-2xx answer other than 409 "+
		"`insufficient_inventory`. Machine: %d CPUs (`nproc`), everything on it.\n\n",
		rep.drainDelay, rep.rate, rep.products, rep.cpus)

	fmt.Fprintf(&b, "| phase | began at | requests | failed | p50 | p95 | p99 |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for i, name := range rep.phaseNames {
		s := rep.phases[i]
		fmt.Fprintf(&b, "| %s | %.1f s | %d | %d | %s | %s | %s |\n", name, rep.phaseOffsets[i].Seconds(), s.requests, s.failed,
			scratch.MS(s.pct(.5)), scratch.MS(s.pct(.95)), scratch.MS(s.pct(.99)))
	}
	fmt.Fprintf(&b, "| **all** | | **%d** | **%d** | %s | %s | %s |\n\n", rep.total.requests, rep.total.failed,
		scratch.MS(rep.total.pct(.5)), scratch.MS(rep.total.pct(.95)), scratch.MS(rep.total.pct(.99)))

	fmt.Fprintf(&b, "| endpoint | requests | failed | 409 insufficient | p50 | p95 | p99 |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, ep := range slices.Sorted(maps.Keys(rep.endpoints)) {
		s := rep.endpoints[ep]
		fmt.Fprintf(&b, "| `%s` | %d | %d | %d | %s | %s | %s |\n", ep, s.requests, s.failed, s.insufficient,
			scratch.MS(s.pct(.5)), scratch.MS(s.pct(.95)), scratch.MS(s.pct(.99)))
	}
	b.WriteString("\n")

	fmt.Fprintf(&b, "| instance | SIGTERM → proxy sees not ready | SIGTERM → exit | exit status | start → `/readyz` 200 | start → routed again |\n|---|---:|---:|---|---:|---:|\n")
	for _, r := range rep.restarts {
		unhealthy := scratch.MS(r.Unhealthy)
		if r.Unhealthy < 0 {
			unhealthy = "never (exited between polls)"
		}
		routed := scratch.MS(r.Routed)
		if r.Routed < 0 {
			routed = "not within 5 s"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s |\n", r.Instance, unhealthy, scratch.MS(r.Exit), r.ExitStatus, scratch.MS(r.Ready), routed)
	}
	b.WriteString("\n")

	if len(rep.failures) > 0 {
		b.WriteString("Failures (phase | endpoint | status and problem code, or transport error): count, first and last send time since the load began:\n\n")
		for _, k := range slices.Sorted(maps.Keys(rep.failures)) {
			f := rep.failures[k]
			fmt.Fprintf(&b, "- %s: %d, %.2f s to %.2f s\n", k, f.count, f.first.Seconds(), f.last.Seconds())
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Proxy: %d GETs retried on the other instance after a transport error before any response", rep.retries)
	if len(rep.retryErrs) > 0 {
		fmt.Fprintf(&b, " (%s)", counts(rep.retryErrs))
	}
	fmt.Fprintf(&b, "; %d answered 502 by the proxy", sum(rep.proxyErrs))
	if len(rep.proxyErrs) > 0 {
		fmt.Fprintf(&b, " (%s)", counts(rep.proxyErrs))
	}
	fmt.Fprintf(&b, "; %d found no healthy instance.\n\n", rep.noBackend)

	fmt.Fprintf(&b, "Orders: %d answered 201; %d of them missing from the database; %d orders in the database in all; "+
		"%d orders whose line count differs from their request's (partial orders); %d stock levels with reserved > on hand or negative.\n",
		len(rep.orderIDs), rep.missing, rep.ordersInDB, rep.partial, rep.badLevels)
	return b.String()
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func counts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%q ×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
