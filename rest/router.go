// Package rest is the v1 REST API (API.md): the chi router, its middleware, one file per
// resource, problem+json errors, and the OpenAPI document built from the same route table
// that registers the handlers, so the two cannot drift. Handlers decode, call a domain
// service, and encode; they hold no business rules.
package rest

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/cors"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/audit"
	"github.com/mercantile/mercantile/internal/auth"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/email"
	"github.com/mercantile/mercantile/internal/exports"
	"github.com/mercantile/mercantile/internal/idempotency"
	"github.com/mercantile/mercantile/internal/imports"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/merchants"
	"github.com/mercantile/mercantile/internal/orders"
	"github.com/mercantile/mercantile/internal/parity"
	"github.com/mercantile/mercantile/internal/payments"
	"github.com/mercantile/mercantile/internal/platform/config"
	"github.com/mercantile/mercantile/internal/platform/ratelimit"
	"github.com/mercantile/mercantile/internal/shopify"
)

// Deps is what the REST API needs.
type Deps struct {
	Config    config.Config
	Logger    *slog.Logger
	Auth      *auth.Service
	Merchants *merchants.Service
	Catalog   *catalog.Service
	Inventory *inventory.Service
	Orders    *orders.Service
	// Emails lists the outbox of transactional email.
	Emails *email.Service
	// Stripe receives POST /webhooks/stripe; nil answers 503 there.
	Stripe *payments.Webhooks
	// Shopify receives POST /webhooks/shopify; nil answers 503 there.
	Shopify *shopify.Service
	// Exports writes the Shopify CSV exports; Parity compares with the imported files.
	// Both nil leaves their routes out.
	Exports *exports.Service
	Parity  *parity.Service
	// Imports runs CSV imports; nil leaves their routes out.
	Imports *imports.Service
	// Idempotency records the responses of POSTs sent with an Idempotency-Key.
	Idempotency *idempotency.Store
	// Audit records the changes staff and secret keys make and serves GET /api/v1/audit;
	// nil records nothing and leaves the route out. GraphQL mutations are recorded by the
	// GraphQL handler (graph.Options.Audit), given the same service.
	Audit *audit.Service
	// Media receives image uploads and serves images under /media when they are kept on
	// local disk (media.Open's handler); nil when they live in S3.
	Media http.Handler
	// GraphQL serves /graphql; Playground serves /playground.
	GraphQL    http.Handler
	Playground http.Handler
	// Registry collects the HTTP metrics; Gatherer serves /metrics (nil: not served here,
	// because METRICS_ADDR has its own listener).
	Registry prometheus.Registerer
	Gatherer prometheus.Gatherer
	// Checks are what /readyz reaches; Draining reports a shutdown in progress.
	Checks   []Checker
	Draining func() bool
	// RateLimiter keeps the rate limit budgets (Redis, or in process on the embedded
	// default); nil, or Config.RateLimitEnabled false, serves without limits. It fails
	// open: when it errs, requests go through and are counted.
	RateLimiter ratelimit.Limiter
}

type api struct {
	cfg         config.Config
	log         *slog.Logger
	auth        *auth.Service
	merchants   *merchants.Service
	catalog     *catalog.Service
	inventory   *inventory.Service
	orders      *orders.Service
	emails      *email.Service
	stripe      *payments.Webhooks
	shopify     *shopify.Service
	exports     *exports.Service
	parity      *parity.Service
	idempotency *idempotency.Store
	audit       *audit.Service
	imports     *imports.Service
	media       http.Handler
	checks      []Checker
	draining    func() bool
	graphql     http.Handler
	playgrnd    http.Handler
	gatherer    prometheus.Gatherer
	// limits is nil when requests are not rate limited.
	limits *rateLimits
}

// route is one endpoint: how it is served and how it is documented.
type route struct {
	method  string
	path    string
	access  access
	handler http.HandlerFunc
	doc     operation
}

// routes is the whole REST surface. The router and the OpenAPI document are both built
// from it.
func (a *api) routes() []route {
	rs := []route{
		{"GET", "/healthz", public, a.healthz, operation{
			ID: "healthz", Tag: "Operations", Summary: "The process is alive.", Response: "Health"}},
		{"GET", "/readyz", public, a.readyz, operation{
			ID: "readyz", Tag: "Operations", Summary: "The database and Redis are reachable and the server is not draining (503 otherwise).", Response: "Readiness"}},
		{"GET", "/api/v1/openapi.json", public, a.openAPIJSON, operation{
			ID: "openapi", Tag: "Operations", Summary: "This document.", Response: "Object"}},
		{"GET", "/docs", public, a.docsPage, operation{
			ID: "docs", Tag: "Operations", Summary: "Human-readable API documentation (HTML).", HTML: true}},
		{"POST", "/api/v1/session", public, a.createSession, operation{
			ID: "createSession", Tag: "Sessions", Summary: "Log in as staff; sets the session cookie and returns the CSRF token.",
			Request: "Login", Response: "Session", Status: http.StatusCreated}},
		{"GET", "/api/v1/session", public, a.getSession, operation{
			ID: "getSession", Tag: "Sessions", Summary: "The session of the cookie sent.", Response: "Session"}},
		{"DELETE", "/api/v1/session", private, a.deleteSession, operation{
			ID: "deleteSession", Tag: "Sessions", Summary: "Log out.", Status: http.StatusNoContent}},
		{"GET", "/api/v1/merchant", private, a.getMerchant, operation{
			ID: "getMerchant", Tag: "Merchant", Summary: "The merchant of the credentials.", Response: "Merchant"}},
		{"PATCH", "/api/v1/merchant", private, a.patchMerchant, operation{
			ID: "updateMerchant", Tag: "Merchant", Summary: "Change name, currency, Shopify shop domain and access token (write-only), or move status onboarding -> active -> sunset (owners and secret keys).",
			Request: "MerchantUpdate", Response: "Merchant"}},
		{"GET", "/api/v1/keys", private, a.listKeys, operation{
			ID: "listKeys", Tag: "Keys", Summary: "The merchant's API keys (secrets are never shown again).", Response: "APIKeyList", Paged: true}},
		// Not idempotent: a recorded response would keep the new key's secret in the
		// database for a day, where keys are otherwise stored only as hashes.
		{"POST", "/api/v1/keys", private, a.createKey, operation{
			ID: "createKey", Tag: "Keys", Summary: "Create a secret (sk_) or publishable (pk_) key; the response holds the key once (owners).",
			Request: "APIKeyCreate", Response: "APIKey", Status: http.StatusCreated}},
		{"DELETE", "/api/v1/keys/{id}", private, a.revokeKey, operation{
			ID: "revokeKey", Tag: "Keys", Summary: "Revoke a key; it stops working at once (owners).", Response: "APIKey"}},
		{"GET", "/api/v1/users", private, a.listUsers, operation{
			ID: "listUsers", Tag: "Staff", Summary: "The merchant's staff.", Response: "UserList", Paged: true}},
		{"POST", "/api/v1/users", private, a.createUser, operation{
			ID: "createUser", Tag: "Staff", Summary: "Add a staff member (owners).", Request: "UserCreate", Response: "User", Status: http.StatusCreated,
			Idempotent: true}},
	}
	rs = append(rs, a.catalogRoutes()...)
	rs = append(rs, a.inventoryRoutes()...)
	rs = append(rs, a.orderRoutes()...)
	rs = append(rs, a.emailRoutes()...)
	rs = append(rs, a.paymentRoutes()...)
	rs = append(rs, a.exportRoutes()...)
	rs = append(rs, a.importRoutes()...)
	rs = append(rs, a.shopifyRoutes()...)
	rs = append(rs, a.auditRoutes()...)
	if a.media != nil {
		rs = append(rs,
			route{"PUT", "/media/upload/*", public, a.media.ServeHTTP, operation{
				ID: "uploadMedia", Tag: "Media", Summary: "Receive an image's bytes at the upload URL POST /api/v1/products/{id}/images returned (local storage only; the URL's signature is the credential).",
				Upload: true}},
			route{"GET", "/media/*", public, a.media.ServeHTTP, operation{
				ID: "getMedia", Tag: "Media", Summary: "An uploaded image (local storage only).", Binary: true}},
			route{"HEAD", "/media/*", public, a.media.ServeHTTP, operation{
				ID: "headMedia", Tag: "Media", Summary: "An uploaded image's headers (local storage only)."}},
		)
	}
	if a.graphql != nil {
		gqlDoc := operation{ID: "graphql", Tag: "GraphQL", Summary: "GraphQL endpoint (also websocket for subscriptions); explore it at /playground.",
			Request: "GraphQLRequest", Response: "GraphQLResponse"}
		get := gqlDoc
		get.ID = "graphqlGet"
		get.Request = ""
		rs = append(rs,
			route{"POST", "/graphql", storefront, a.graphql.ServeHTTP, gqlDoc},
			route{"GET", "/graphql", storefront, a.graphql.ServeHTTP, get},
		)
	}
	if a.playgrnd != nil {
		rs = append(rs, route{"GET", "/playground", public, a.playgrnd.ServeHTTP, operation{
			ID: "playground", Tag: "GraphQL", Summary: "The GraphQL playground (HTML).", HTML: true}})
	}
	if a.gatherer != nil {
		rs = append(rs, route{"GET", "/metrics", public, promhttp.HandlerFor(a.gatherer, promhttp.HandlerOpts{}).ServeHTTP, operation{
			ID: "metrics", Tag: "Operations", Summary: "Prometheus metrics (text exposition format).", Text: true}})
	}
	return rs
}

// NewRouter returns the HTTP handler of the whole API.
func NewRouter(d Deps) http.Handler {
	a := &api{
		cfg: d.Config, log: d.Logger, auth: d.Auth, merchants: d.Merchants, catalog: d.Catalog, inventory: d.Inventory, orders: d.Orders, stripe: d.Stripe, shopify: d.Shopify,
		emails: d.Emails, idempotency: d.Idempotency, media: d.Media, checks: d.Checks, draining: d.Draining, graphql: d.GraphQL, playgrnd: d.Playground,
		gatherer: d.Gatherer, exports: d.Exports, parity: d.Parity, imports: d.Imports, audit: d.Audit,
	}
	if a.draining == nil {
		a.draining = func() bool { return false }
	}
	m := newMetrics(d.Registry)
	a.limits = newRateLimits(d.Config, d.RateLimiter, a.log, m)

	r := chi.NewRouter()
	r.Use(middleware.RequestID, exposeRequestID, observe(a.log, m), recoverer(a.log))
	if len(d.Config.CORSAllowedOrigins) > 0 {
		r.Use(cors.Handler(cors.Options{
			AllowedOrigins:   d.Config.CORSAllowedOrigins,
			AllowedMethods:   []string{"GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"},
			AllowedHeaders:   []string{"Authorization", "Content-Type", "Idempotency-Key", csrfHeader},
			ExposedHeaders:   []string{"X-Request-Id", replayedHeader, "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"},
			AllowCredentials: true,
			MaxAge:           600,
		}))
	}

	for _, rt := range a.routes() {
		var h http.Handler = rt.handler
		// Multipart uploads are too large to hold: their handlers honour the key themselves.
		if rt.doc.Idempotent && !rt.doc.Multipart {
			h = a.idempotent(rt.method+" "+rt.path, h)
		}
		// Limited after authentication, which names who pays, and before the handler and
		// the idempotency store see the request.
		if a.limits != nil && rateLimited(rt.path) {
			h = a.limits.limitREST(a.log)(h)
		}
		// Recorded once everything inside has answered (a replayed response is not
		// recorded again), and after authentication, which names the actor.
		if a.audit != nil && auditable(rt) {
			h = a.audited(rt.doc.ID, h)
		}
		h = a.authenticate(rt.access)(h)
		if rt.path == "/graphql" {
			// GraphQL has a chain of its own: operations are charged their cost.
			var gql http.Handler = rt.handler
			if a.limits != nil {
				gql = a.limits.chargeGraphQL(gql)
			}
			h = a.authenticateGraphQL(gql)
			if a.audit != nil {
				h = a.withAuditIP(h)
			}
		}
		// Uploads are bounded by their signed size and MAX_IMAGE_BYTES instead, imports by
		// MAX_IMPORT_BYTES.
		switch {
		case rt.doc.Multipart:
			h = limitBody(d.Config.MaxImportBytes)(h)
		case !rt.doc.Upload:
			h = limitBody(d.Config.MaxBodyBytes)(h)
		}
		deadline := d.Config.RequestTimeout
		if rt.doc.Multipart || rt.doc.Upload || rt.doc.CSV {
			deadline = d.Config.TransferTimeout
		}
		r.Method(rt.method, rt.path, timeout(deadline)(h))
	}
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, a.log, apperr.New(apperr.NotFound, "No route %s %s.", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		e := apperr.New(apperr.Invalid, "%s is not allowed on %s.", r.Method, r.URL.Path)
		e.Status = http.StatusMethodNotAllowed
		writeError(w, r, a.log, e)
	})
	return r
}

// AuthenticateWebsocket is what the GraphQL websocket transport calls with the
// Authorization value of connection_init.
func AuthenticateWebsocket(authService *auth.Service) func(ctx context.Context, authorization string) (context.Context, error) {
	a := &api{auth: authService}
	return a.authenticateWebsocket
}
