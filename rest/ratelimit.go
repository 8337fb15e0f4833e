package rest

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/platform/config"
	"github.com/mercantile/mercantile/internal/platform/ratelimit"
)

// budget is what a charge is counted in: REST requests, or GraphQL query cost points.
// Each credential has one budget of each.
type budget string

const (
	budgetREST    budget = "rest"
	budgetGraphQL budget = "graphql"
)

// rateLimits decides who pays for a request and whether they can (API.md: rate limits).
// It is the one place that decision is made; REST's middleware and GraphQL's per-operation
// charge both call charge.
//
// Who pays: a secret key per key; a staff user per user (every session of theirs); a
// publishable key per key and client IP, since a storefront shares its key among all
// its shoppers and one shopper must not use up the others' budget; a request without
// credentials per client IP.
type rateLimits struct {
	limiter ratelimit.Limiter
	// perCredential and perIP are the REST limits of a credential and of an anonymous
	// client IP; graphql is every credential's budget of query cost points.
	perCredential, perIP, graphql ratelimit.Limit
	// proxies are the peers whose X-Forwarded-For names the client (TRUSTED_PROXIES).
	proxies []netip.Prefix
	metrics *metrics
}

// failOpenWarnEvery spaces the warnings logged while the limiter's store is failing.
const failOpenWarnEvery = time.Minute

// newRateLimits returns the limits of cfg charged in limiter, or nil when rate limiting is
// off (no limiter, or RATE_LIMIT_ENABLED=false). The limiter fails open.
func newRateLimits(cfg config.Config, limiter ratelimit.Limiter, log *slog.Logger, m *metrics) *rateLimits {
	if limiter == nil || !cfg.RateLimitEnabled {
		return nil
	}
	return &rateLimits{
		limiter:       ratelimit.NewFailOpen(limiter, m.rateLimitFailOpen, log, failOpenWarnEvery),
		perCredential: ratelimit.PerSecond(cfg.RateLimitRPS, cfg.RateLimitBurst),
		perIP:         ratelimit.PerSecond(cfg.RateLimitIPRPS, cfg.RateLimitIPBurst),
		graphql:       ratelimit.PerSecond(cfg.RateLimitGraphQLPPS, cfg.RateLimitGraphQLBurst),
		proxies:       cfg.TrustedProxies,
		metrics:       m,
	}
}

// rateLimited reports whether the route at path is limited (and may answer 429 while
// limits are on). Every route is but:
//   - probes and metrics, so that Kubernetes and Prometheus keep seeing the process
//     under the very load limits are for;
//   - the static documents (OpenAPI, docs, playground), which cost nothing to serve;
//   - Shopify's and Stripe's webhooks. Their signatures are checked before any work and
//     the work is queued, so they are cheap; they arrive from the providers' small pools
//     of addresses on behalf of every merchant at once, so a per-IP limit would throttle
//     all merchants' deliveries together; and a refused delivery is retried with backoff
//     for days (Shopify then removes the subscription), so limiting them would turn a
//     burst of product updates into stale stock rather than protect anything.
//
// /graphql is limited per operation, by its cost (chargeGraphQL).
func rateLimited(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics", "/docs", "/playground", "/api/v1/openapi.json":
		return false
	}
	return !strings.HasPrefix(path, "/webhooks/")
}

// payer is who a charge is counted against.
type payer struct {
	key   string
	limit ratelimit.Limit
	// who names the payer in a refusal's message.
	who string
}

// payerOf returns who pays for a request made from ip with the viewer in ctx, if any.
func (rl *rateLimits) payerOf(ctx context.Context, ip string, b budget) payer {
	var p payer
	v, ok := viewer.FromContext(ctx)
	switch {
	case ok && v.Kind == viewer.KindSecretKey:
		p = payer{key: "key:" + v.ActorID.String(), limit: rl.perCredential, who: "this API key"}
	case ok && v.Kind == viewer.KindUser:
		p = payer{key: "user:" + v.ActorID.String(), limit: rl.perCredential, who: "this user"}
	case ok && v.Kind == viewer.KindPublishableKey:
		p = payer{key: "key:" + v.ActorID.String() + ":ip:" + ip, limit: rl.perCredential, who: "this publishable key from your address"}
	default:
		p = payer{key: "ip:" + ip, limit: rl.perIP, who: "your address"}
	}
	p.key = string(b) + ":" + p.key
	if b == budgetGraphQL {
		p.limit = rl.graphql
	}
	return p
}

// charge spends cost of the budget b of whoever makes the request (the viewer in ctx,
// else the client ip), writes the RateLimit-* headers into h (nil: nowhere), and returns
// a rate_limited error, carrying when to retry, if the budget cannot pay now.
func (rl *rateLimits) charge(ctx context.Context, h http.Header, ip string, b budget, cost int) error {
	p := rl.payerOf(ctx, ip, b)
	res, err := rl.limiter.Allow(ctx, p.key, p.limit, cost)
	if err != nil || res.FailedOpen {
		// Undecided (the store failed, or a limit no budget can be kept with, which the
		// configuration checks prevent): let the request through without promising
		// numbers in headers.
		return nil
	}
	if h != nil {
		h.Set("RateLimit-Limit", strconv.Itoa(res.Limit))
		h.Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
		h.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(res.ResetAfter)))
	}
	if res.Allowed {
		return nil
	}
	rl.metrics.rateLimited.WithLabelValues(string(b)).Inc()
	unit := "requests"
	if b == budgetGraphQL {
		unit = "query cost points"
	}
	e := apperr.New(apperr.RateLimited, "Too many %s from %s: the limit is %d a second with bursts of %d. Retry in %d s.",
		unit, p.who, p.limit.Rate, p.limit.Burst, ceilSeconds(res.RetryAfter))
	e.RetryAfter = res.RetryAfter
	return e
}

// ceilSeconds is d in whole seconds, rounded up.
func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// limitREST charges each request of a REST route one unit of its payer's budget; a
// refusal is 429 rate_limited with Retry-After. It runs after authentication, so that
// the viewer is known.
func (rl *rateLimits) limitREST(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := rl.charge(r.Context(), w.Header(), rl.clientIP(r), budgetREST, 1); err != nil {
				writeError(w, r, log, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// chargeGraphQL puts into the request's context the ratelimit.Charge the GraphQL server
// spends each operation's cost with (graph.NewHandler: one point before parsing, the
// rest of its complexity once validated, so that nothing runs unpaid). Over HTTP a
// refused operation gets status 429 and the RateLimit-* and Retry-After headers with its
// GraphQL error; on a websocket the headers went out with the upgrade, so each
// operation's refusal is its error message alone.
func (rl *rateLimits) chargeGraphQL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := rl.clientIP(r)
		if isWebsocket(r) {
			charge := func(ctx context.Context, cost int) error {
				return rl.charge(ctx, nil, ip, budgetGraphQL, cost)
			}
			next.ServeHTTP(w, r.WithContext(ratelimit.WithCharge(r.Context(), charge)))
			return
		}
		rw := &refusalWriter{ResponseWriter: w}
		charge := func(ctx context.Context, cost int) error {
			err := rl.charge(ctx, w.Header(), ip, budgetGraphQL, cost)
			if e, ok := errors.AsType[*apperr.Error](err); ok {
				rw.refused = true
				w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfterSeconds()))
			}
			return err
		}
		next.ServeHTTP(rw, r.WithContext(ratelimit.WithCharge(r.Context(), charge)))
	})
}

// refusalWriter answers 429 instead of the status the GraphQL transport chose (200)
// once the operation was refused for its rate limit, so that HTTP clients and proxies
// see the refusal for what it is.
type refusalWriter struct {
	http.ResponseWriter
	refused     bool
	wroteHeader bool
}

func (w *refusalWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	if w.refused {
		code = http.StatusTooManyRequests
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *refusalWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streamed responses (incremental delivery) through.
func (w *refusalWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if !w.wroteHeader {
			w.WriteHeader(http.StatusOK)
		}
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *refusalWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// clientIP is the address a request is limited under: the TCP peer, or, when the peer is
// a trusted proxy (TRUSTED_PROXIES), the nearest address in X-Forwarded-For that is not
// one; proxies append the address they received from, so entries left of the first
// untrusted one could be forged by the client. IPv6 clients are limited by their /64,
// the smallest block a site is given, since one host can use every address in it.
func (rl *rateLimits) clientIP(r *http.Request) string {
	addr, ok := clientAddr(r, rl.proxies)
	if !ok {
		return r.RemoteAddr
	}
	if addr.Is6() {
		return netip.PrefixFrom(addr, 64).Masked().String()
	}
	return addr.String()
}

// clientAddr is the client of r: the TCP peer, or, when the peer is one of proxies, the
// nearest address in X-Forwarded-For that is not one. False when RemoteAddr is no address.
func clientAddr(r *http.Request, proxies []netip.Prefix) (netip.Addr, bool) {
	addr, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return netip.Addr{}, false
	}
	if trusted(proxies, addr) {
		forwarded := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(forwarded) - 1; i >= 0; i-- {
			hop, ok := parseAddr(strings.TrimSpace(forwarded[i]))
			if !ok {
				break // a malformed entry: trust nothing left of it
			}
			addr = hop
			if !trusted(proxies, hop) {
				break
			}
		}
	}
	return addr, true
}

func trusted(proxies []netip.Prefix, addr netip.Addr) bool {
	for _, p := range proxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// parseAddr reads "ip:port" (RemoteAddr) or a bare address (X-Forwarded-For).
func parseAddr(s string) (netip.Addr, bool) {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return addr.Unmap().WithZone(""), true
}
