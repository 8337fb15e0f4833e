package rest

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
)

// exposeRequestID returns the request id (set by middleware.RequestID) in X-Request-Id,
// so a client can quote it when reporting a problem.
func exposeRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(middleware.RequestIDHeader, middleware.GetReqID(r.Context()))
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic into a logged internal error and a 500 problem.
func recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					log.ErrorContext(r.Context(), "panic", "panic", p, "stack", string(debug.Stack()),
						"request_id", middleware.GetReqID(r.Context()))
					writeError(w, r, log, apperr.New(apperr.Internal, "An internal error occurred."))
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// routePattern is the chi pattern that served r ("/api/v1/products/{id}"), so logs and
// metrics group by route instead of by every distinct id.
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}

// metrics are the per-route RED metrics.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// rateLimited counts refusals by budget (rest, graphql); rateLimitFailOpen counts
	// requests let through because the limiter's store failed.
	rateLimited       *prometheus.CounterVec
	rateLimitFailOpen prometheus.Counter
	// problems counts error answers by route and problem code: insufficient_inventory on
	// POST /api/v1/orders is a reservation that failed, unavailable a dependency down.
	problems *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mercantile_http_requests_total",
			Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mercantile_http_request_duration_seconds",
			Help:    "HTTP request latency by route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
	}
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mercantile_ratelimit_refused_total",
		Help: "Requests and GraphQL operations refused for their rate limit, by budget (rest, graphql).",
	}, []string{"budget"})
	m.rateLimitFailOpen = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mercantile_ratelimit_failopen_total",
		Help: "Requests allowed without a rate limit decision because the limiter's store (Redis) failed.",
	})
	m.problems = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mercantile_http_problems_total",
		Help: "Error answers (problem+json) by route and problem code.",
	}, []string{"route", "code"})
	reg.MustRegister(m.requests, m.duration, m.rateLimited, m.rateLimitFailOpen, m.problems)
	return m
}

// problemKey holds where writeError notes the problem code of the answer, for observe.
type problemKey struct{}

// observe logs and measures every request once it is done.
func observe(log *slog.Logger, m *metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			var problem apperr.Code
			next.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), problemKey{}, &problem)))
			elapsed := time.Since(start)
			route := routePattern(r)
			if problem != "" {
				m.problems.WithLabelValues(route, string(problem)).Inc()
			}
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			m.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
			m.duration.WithLabelValues(route, r.Method).Observe(elapsed.Seconds())
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			attrs := []any{"method", r.Method, "route", route, "path", r.URL.Path, "status", status,
				"duration_ms", float64(elapsed.Microseconds()) / 1000, "bytes", ww.BytesWritten(),
				"request_id", middleware.GetReqID(r.Context())}
			if v, ok := viewer.FromContext(r.Context()); ok {
				attrs = append(attrs, "merchant_id", v.MerchantID.String(), "actor", v.Actor())
			}
			log.Log(r.Context(), level, "request", attrs...)
		})
	}
}

// limitBody caps request bodies; decodeJSON turns the overflow into 413.
func limitBody(limit int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limit {
				writeError(w, r, slog.Default(), apperr.New(apperr.PayloadTooLarge, "The body is larger than %d bytes.", limit))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			next.ServeHTTP(w, r)
		})
	}
}

// timeout bounds how long a request may work. Websocket upgrades are left alone: a
// GraphQL subscription lives as long as the client wants it.
func timeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if d <= 0 || isWebsocket(r) {
				next.ServeHTTP(w, r)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

func isWebsocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}
