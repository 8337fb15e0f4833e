package rest

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/mercantile/mercantile/internal/platform/config"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/platform/kv/kvtest"
	"github.com/mercantile/mercantile/internal/platform/ratelimit"
	"github.com/mercantile/mercantile/internal/pulid"
)

// limitedAPI serves the API (on SQLite: limits do not depend on the database) with
// limiter and the limits tune sets, and returns it with its metrics registry.
func limitedAPI(t *testing.T, limiter ratelimit.Limiter, tune func(*config.Config)) (*harness, *prometheus.Registry) {
	t.Helper()
	h := newHarnessOn(t, dbtest.SQLite(t))
	deps := h.deps
	deps.RateLimiter = limiter
	deps.Config.RateLimitEnabled = true
	deps.Config.RateLimitGraphQLPPS, deps.Config.RateLimitGraphQLBurst = 1, 1000
	tune(&deps.Config)
	registry := prometheus.NewRegistry()
	deps.Registry, deps.Gatherer = registry, registry
	srv := httptest.NewServer(NewRouter(deps))
	t.Cleanup(srv.Close)
	limited := *h
	limited.server = srv
	return &limited, registry
}

// redisLimiter is a limiter on the test Redis whose keys no other test shares.
func redisLimiter(t *testing.T) ratelimit.Limiter {
	t.Helper()
	client := kvtest.Redis(t)
	prefix := "rest-ratelimit-test:" + pulid.New("p").String() + ":"
	t.Cleanup(func() {
		if keys, err := client.Keys(t.Context(), "rate:"+prefix+"*").Result(); err == nil && len(keys) > 0 {
			client.Del(t.Context(), keys...)
		}
	})
	return ratelimit.NewRedis(client, ratelimit.RedisOptions{Prefix: prefix})
}

// metricValue is the value of the counter name with labels (name=value pairs) in reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// expectLimitHeaders checks r carries RateLimit-Limit limit and RateLimit-Remaining
// remaining, with a RateLimit-Reset in whole seconds.
func (r reply) expectLimitHeaders(t *testing.T, limit, remaining int) {
	t.Helper()
	if got := r.header.Get("RateLimit-Limit"); got != strconv.Itoa(limit) {
		t.Errorf("RateLimit-Limit %q, want %d", got, limit)
	}
	if got := r.header.Get("RateLimit-Remaining"); got != strconv.Itoa(remaining) {
		t.Errorf("RateLimit-Remaining %q, want %d", got, remaining)
	}
	if reset, err := strconv.Atoi(r.header.Get("RateLimit-Reset")); err != nil || reset < 0 {
		t.Errorf("RateLimit-Reset %q, want whole seconds", r.header.Get("RateLimit-Reset"))
	}
}

// expectRateLimited checks r is the 429 refusal: problem+json rate_limited, Retry-After
// in whole seconds (at least 1, at most max), and an empty budget in the headers.
func (r reply) expectRateLimited(t *testing.T, limit, maxRetry int) {
	t.Helper()
	r.expectProblem(t, http.StatusTooManyRequests, "rate_limited")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > maxRetry {
		t.Errorf("Retry-After %q, want 1 to %d seconds", r.header.Get("Retry-After"), maxRetry)
	}
	r.expectLimitHeaders(t, limit, 0)
}

func TestRateLimitPerKey(t *testing.T) {
	t.Parallel()
	for name, limiter := range map[string]func(*testing.T) ratelimit.Limiter{
		"in process": func(*testing.T) ratelimit.Limiter { return ratelimit.NewMemory(0) },
		"redis":      redisLimiter,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, registry := limitedAPI(t, limiter(t), func(c *config.Config) { c.RateLimitRPS, c.RateLimitBurst = 1, 3 })
			a := h.merchant("alpha", "")
			b := h.merchant("beta", "")
			get := func(key string) reply {
				return h.do(request{method: "GET", path: "/api/v1/merchant", key: key})
			}
			for remaining := 2; remaining >= 0; remaining-- {
				r := get(a.SecretKey)
				if r.status != http.StatusOK {
					t.Fatalf("request within the burst: %d %s", r.status, r.body)
				}
				r.expectLimitHeaders(t, 3, remaining)
			}
			get(a.SecretKey).expectRateLimited(t, 3, 1)

			t.Run("another key is unaffected", func(t *testing.T) {
				r := get(b.SecretKey)
				if r.status != http.StatusOK {
					t.Fatalf("B's key refused after A's ran out: %d %s", r.status, r.body)
				}
				r.expectLimitHeaders(t, 3, 2)
			})
			t.Run("a refusal is counted", func(t *testing.T) {
				if n := metricValue(t, registry, "mercantile_ratelimit_refused_total", "budget", "rest"); n != 1 {
					t.Fatalf("refusals counted %v, want 1", n)
				}
			})
			t.Run("the OpenAPI document says which routes are limited", func(t *testing.T) {
				var doc struct {
					Paths map[string]map[string]struct {
						Responses map[string]struct {
							Headers map[string]any
						}
					}
				}
				if err := json.Unmarshal(h.do(request{method: "GET", path: "/api/v1/openapi.json"}).body, &doc); err != nil {
					t.Fatal(err)
				}
				for _, op := range []struct {
					path, method string
					limited      bool
				}{
					{"/api/v1/merchant", "get", true}, {"/api/v1/products", "post", true}, {"/api/v1/session", "post", true},
					{"/graphql", "post", true}, {"/healthz", "get", false}, {"/webhooks/stripe", "post", false},
				} {
					responses := doc.Paths[op.path][op.method].Responses
					tooMany, ok := responses["429"]
					if ok != op.limited {
						t.Errorf("%s %s documents 429: %v, want %v", op.method, op.path, ok, op.limited)
					}
					if ok && tooMany.Headers["Retry-After"] == nil {
						t.Errorf("%s %s: 429 without Retry-After", op.method, op.path)
					}
					for status, r := range responses {
						if status < "300" && (r.Headers["RateLimit-Remaining"] != nil) != op.limited {
							t.Errorf("%s %s %s: RateLimit-Remaining documented %v, want %v", op.method, op.path, status, !op.limited, op.limited)
						}
					}
				}
			})
			t.Run("probes, metrics and documents are not limited", func(t *testing.T) {
				for _, path := range []string{"/healthz", "/readyz", "/metrics", "/docs", "/api/v1/openapi.json", "/playground"} {
					for range 5 {
						r := h.do(request{method: "GET", path: path, key: a.SecretKey})
						if r.status != http.StatusOK || r.header.Get("RateLimit-Limit") != "" {
							t.Fatalf("GET %s: %d, RateLimit-Limit %q; want 200 without limit headers", path, r.status, r.header.Get("RateLimit-Limit"))
						}
					}
				}
			})
		})
	}
}

func TestRateLimitPerClientIP(t *testing.T) {
	t.Parallel()
	local := netip.MustParsePrefix("127.0.0.1/32")
	h, _ := limitedAPI(t, ratelimit.NewMemory(0), func(c *config.Config) {
		c.RateLimitRPS, c.RateLimitBurst = 1, 2
		c.RateLimitIPRPS, c.RateLimitIPBurst = 1, 2
		c.TrustedProxies = []netip.Prefix{local}
	})
	m := h.merchant("gamma", "")
	from := func(key, path, ip string) reply {
		return h.do(request{method: "GET", path: path, key: key, header: map[string]string{"X-Forwarded-For": ip}})
	}

	t.Run("a publishable key is limited per client", func(t *testing.T) {
		for range 2 {
			if r := from(m.PublishableKey, "/api/v1/products", "203.0.113.1"); r.status != http.StatusOK {
				t.Fatalf("storefront read: %d %s", r.status, r.body)
			}
		}
		from(m.PublishableKey, "/api/v1/products", "203.0.113.1").expectRateLimited(t, 2, 1)
		r := from(m.PublishableKey, "/api/v1/products", "203.0.113.2")
		if r.status != http.StatusOK {
			t.Fatalf("another shopper of the same storefront refused: %d %s", r.status, r.body)
		}
		r.expectLimitHeaders(t, 2, 1)
	})
	t.Run("a secret key is limited wherever it is used from", func(t *testing.T) {
		from(m.SecretKey, "/api/v1/merchant", "203.0.113.1")
		from(m.SecretKey, "/api/v1/merchant", "203.0.113.2")
		from(m.SecretKey, "/api/v1/merchant", "203.0.113.3").expectRateLimited(t, 2, 1)
	})
	t.Run("a public route is limited per client", func(t *testing.T) {
		for range 2 {
			from("", "/api/v1/session", "198.51.100.1").expectProblem(t, http.StatusNotFound, "not_found")
		}
		from("", "/api/v1/session", "198.51.100.1").expectRateLimited(t, 2, 1)
		from("", "/api/v1/session", "198.51.100.2").expectProblem(t, http.StatusNotFound, "not_found")
	})
	t.Run("IPv6 clients are limited by their /64", func(t *testing.T) {
		from("", "/api/v1/session", "2001:db8:1:2::1")
		from("", "/api/v1/session", "2001:db8:1:2::2")
		from("", "/api/v1/session", "2001:db8:1:2:ffff::3").expectRateLimited(t, 2, 1)
		from("", "/api/v1/session", "2001:db8:1:3::1").expectProblem(t, http.StatusNotFound, "not_found")
	})
	t.Run("webhooks are not limited", func(t *testing.T) {
		for _, path := range []string{"/webhooks/stripe", "/webhooks/shopify"} {
			for range 5 {
				r := h.do(request{method: "POST", path: path, body: map[string]any{}, header: map[string]string{"X-Forwarded-For": "192.0.2.9"}})
				if r.status == http.StatusTooManyRequests || r.header.Get("RateLimit-Limit") != "" {
					t.Fatalf("POST %s: %d with RateLimit-Limit %q", path, r.status, r.header.Get("RateLimit-Limit"))
				}
			}
		}
	})

	t.Run("X-Forwarded-For is ignored from untrusted peers", func(t *testing.T) {
		untrusting, _ := limitedAPI(t, ratelimit.NewMemory(0), func(c *config.Config) { c.RateLimitIPRPS, c.RateLimitIPBurst = 1, 2 })
		for i := range 3 {
			r := untrusting.do(request{method: "GET", path: "/api/v1/session", header: map[string]string{"X-Forwarded-For": "198.51.100." + strconv.Itoa(i+1)}})
			if i < 2 {
				r.expectProblem(t, http.StatusNotFound, "not_found")
				continue
			}
			// A client cannot get a fresh budget by making up addresses.
			r.expectRateLimited(t, 2, 1)
		}
	})
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	rl := &rateLimits{proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}
	for _, c := range []struct {
		name, remote, forwarded, want string
	}{
		{"the peer without a proxy", "198.51.100.7:5000", "", "198.51.100.7"},
		{"forwarded is ignored from an untrusted peer", "198.51.100.7:5000", "203.0.113.1", "198.51.100.7"},
		{"the client a trusted proxy names", "10.1.2.3:5000", "203.0.113.1", "203.0.113.1"},
		{"the nearest untrusted hop, not a forged one", "10.1.2.3:5000", "1.2.3.4, 203.0.113.1, 10.9.9.9", "203.0.113.1"},
		{"only proxies: the farthest", "10.1.2.3:5000", "10.0.0.5, 10.0.0.6", "10.0.0.5"},
		{"a malformed hop stops the walk", "10.1.2.3:5000", "203.0.113.1, garbage", "10.1.2.3"},
		{"IPv4 mapped into IPv6", "[::ffff:198.51.100.7]:5000", "", "198.51.100.7"},
		{"IPv6 by its /64", "[2001:db8:1:2:3:4:5:6]:5000", "", "2001:db8:1:2::/64"},
		{"an IPv6 trusted proxy", "[fd00::1]:5000", "2001:db8::9", "2001:db8::/64"},
		{"an unparsable peer as it is", "pipe", "", "pipe"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remote
			if c.forwarded != "" {
				r.Header.Set("X-Forwarded-For", c.forwarded)
			}
			if got := rl.clientIP(r); got != c.want {
				t.Fatalf("clientIP = %q, want %q", got, c.want)
			}
		})
	}
}

// gqlHTTP posts a GraphQL operation and returns the reply and its decoded body.
func gqlHTTP(t *testing.T, h *harness, key, query string) (reply, gqlReply) {
	t.Helper()
	r := h.do(request{method: "POST", path: "/graphql", key: key, body: map[string]any{"query": query}})
	var out gqlReply
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("GraphQL answered %d %s", r.status, r.body)
	}
	return r, out
}

// slowRefill refills budgets per hour where the configuration says per second.
type slowRefill struct{ ratelimit.Limiter }

func (s slowRefill) Allow(ctx context.Context, key string, l ratelimit.Limit, cost int) (ratelimit.Result, error) {
	l.Period = time.Hour
	return s.Limiter.Allow(ctx, key, l, cost)
}

func remainingOf(t *testing.T, r reply) int {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get("RateLimit-Remaining"))
	if err != nil {
		t.Fatalf("RateLimit-Remaining %q: %s", r.header.Get("RateLimit-Remaining"), r.body)
	}
	return n
}

func TestRateLimitGraphQLByCost(t *testing.T) {
	t.Parallel()
	// A burst of 1000 (the harness's complexity limit), refilled one point an hour so
	// that the counts are exact however slowly the test runs.
	h, registry := limitedAPI(t, slowRefill{ratelimit.NewMemory(0)}, func(c *config.Config) {})
	a := h.merchant("delta", "")
	b := h.merchant("epsilon", "")

	// viewer (1) + merchant (1) + id (1).
	const cheap, cheapCost = `{ viewer { merchant { id } } }`, 3
	// A connection costs its children times its page: 300 * (edges 1 + node 1 + id 1).
	const costly, costlyCost = `{ products(first: 300) { edges { node { id } } } }`, 900

	r, out := gqlHTTP(t, h, a.SecretKey, cheap)
	if r.status != http.StatusOK || len(out.Errors) > 0 {
		t.Fatalf("cheap query: %d %s", r.status, r.body)
	}
	r.expectLimitHeaders(t, 1000, 1000-cheapCost)
	before := remainingOf(t, r)

	r, out = gqlHTTP(t, h, a.SecretKey, costly)
	if r.status != http.StatusOK || len(out.Errors) > 0 {
		t.Fatalf("costly query: %d %s", r.status, r.body)
	}
	if spent := before - remainingOf(t, r); spent != costlyCost {
		t.Fatalf("the costly query spent %d points, want its cost %d", spent, costlyCost)
	}
	left := remainingOf(t, r)

	t.Run("a document that does not parse costs a point", func(t *testing.T) {
		r, out := gqlHTTP(t, h, a.SecretKey, `{ viewer {`)
		if len(out.Errors) == 0 || out.Errors[0].Extensions.Code != "invalid" {
			t.Fatalf("a broken document: %d %s", r.status, r.body)
		}
		if spent := left - remainingOf(t, r); spent != 1 {
			t.Fatalf("a broken document spent %d points, want 1", spent)
		}
		left--
	})

	// Spend all but left%3 points, then ask for a mutation costing four.
	spend := `{ products(first: ` + strconv.Itoa(left/3) + `) { edges { node { id } } } }`
	r, _ = gqlHTTP(t, h, a.SecretKey, spend)
	if remainingOf(t, r) != left%3 {
		t.Fatalf("%d points left, want %d: %s", remainingOf(t, r), left%3, r.body)
	}
	// createProduct (1) + id, title, handle (3).
	create := `mutation { createProduct(input: {title: "Refused", handle: "refused", variants: [{sku: "REFUSED-1", price: 100}]}) { id title handle } }`
	r = h.do(request{method: "POST", path: "/graphql", key: a.SecretKey, body: map[string]any{"query": create}})
	var refused struct {
		Data   json.RawMessage
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
	}
	if err := json.Unmarshal(r.body, &refused); err != nil {
		t.Fatalf("refusal body: %s", r.body)
	}
	if r.status != http.StatusTooManyRequests || len(refused.Errors) != 1 || refused.Errors[0].Extensions["code"] != "rate_limited" {
		t.Fatalf("a mutation over budget: %d %s, want 429 with a rate_limited error", r.status, r.body)
	}
	if retry, ok := refused.Errors[0].Extensions["retryAfter"].(float64); !ok || retry < 1 {
		t.Errorf("extensions.retryAfter %v, want whole seconds", refused.Errors[0].Extensions["retryAfter"])
	}
	if string(refused.Data) != "" && string(refused.Data) != "null" {
		t.Errorf("a refused operation has data: %s", refused.Data)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	r.expectLimitHeaders(t, 1000, 0)

	t.Run("a refused operation does not run", func(t *testing.T) {
		// REST has a budget of its own.
		h.do(request{method: "GET", path: "/api/v1/products/by-handle/refused", key: a.SecretKey}).expectProblem(t, http.StatusNotFound, "not_found")
	})
	t.Run("another key is unaffected", func(t *testing.T) {
		r, out := gqlHTTP(t, h, b.SecretKey, cheap)
		if r.status != http.StatusOK || len(out.Errors) > 0 {
			t.Fatalf("B's query: %d %s", r.status, r.body)
		}
		r.expectLimitHeaders(t, 1000, 1000-cheapCost)
	})
	t.Run("a refusal is counted", func(t *testing.T) {
		if n := metricValue(t, registry, "mercantile_ratelimit_refused_total", "budget", "graphql"); n != 1 {
			t.Fatalf("GraphQL refusals counted %v, want 1", n)
		}
	})
}

func TestRateLimitFailsOpen(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { client.Close() })
	h, registry := limitedAPI(t, ratelimit.NewRedis(client, ratelimit.RedisOptions{}), func(c *config.Config) {
		c.RateLimitRPS, c.RateLimitBurst = 1, 1
	})
	m := h.merchant("zeta", "")
	for range 3 {
		r := h.do(request{method: "GET", path: "/api/v1/merchant", key: m.SecretKey})
		if r.status != http.StatusOK {
			t.Fatalf("with Redis down: %d %s, want the request served", r.status, r.body)
		}
		if r.header.Get("RateLimit-Remaining") != "" {
			t.Errorf("RateLimit-Remaining %q promised without a decision", r.header.Get("RateLimit-Remaining"))
		}
	}
	r, out := gqlHTTP(t, h, m.SecretKey, `{ viewer { merchant { id } } }`)
	if r.status != http.StatusOK || len(out.Errors) > 0 {
		t.Fatalf("GraphQL with Redis down: %d %s", r.status, r.body)
	}
	// Three REST requests, and the GraphQL operation's two charges (one point up front,
	// the rest of its cost once validated).
	if n := metricValue(t, registry, "mercantile_ratelimit_failopen_total"); n != 5 {
		t.Fatalf("mercantile_ratelimit_failopen_total %v, want 5", n)
	}
	if !strings.Contains(string(h.do(request{method: "GET", path: "/metrics"}).body), "mercantile_ratelimit_failopen_total 5") {
		t.Error("/metrics does not show the fail-open count")
	}
}

func TestRateLimitOff(t *testing.T) {
	t.Parallel()
	h, _ := limitedAPI(t, ratelimit.NewMemory(0), func(c *config.Config) {
		c.RateLimitRPS, c.RateLimitBurst = 1, 1
		c.RateLimitEnabled = false
	})
	m := h.merchant("eta", "")
	for range 3 {
		r := h.do(request{method: "GET", path: "/api/v1/merchant", key: m.SecretKey})
		if r.status != http.StatusOK || r.header.Get("RateLimit-Limit") != "" {
			t.Fatalf("RATE_LIMIT_ENABLED=false: %d, RateLimit-Limit %q", r.status, r.header.Get("RateLimit-Limit"))
		}
	}
}
