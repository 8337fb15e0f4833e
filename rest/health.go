package rest

import (
	"context"
	"net/http"
	"time"
)

// Checker is a dependency /readyz must reach: the database, Redis.
type Checker struct {
	Name  string
	Check func(context.Context) error
}

func (a *api) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// readyz answers 503 while draining, so a load balancer stops sending new requests
// before the listener closes, and 503 while a dependency is unreachable.
func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	out := readiness{Status: "ready", Checks: map[string]string{}}
	status := http.StatusOK
	if a.draining() {
		out.Status = "draining"
		status = http.StatusServiceUnavailable
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	for _, c := range a.checks {
		if err := c.Check(ctx); err != nil {
			out.Checks[c.Name] = "unreachable: " + err.Error()
			status = http.StatusServiceUnavailable
			if out.Status == "ready" {
				out.Status = "degraded"
			}
			continue
		}
		out.Checks[c.Name] = "ok"
	}
	writeJSON(w, status, out)
}
