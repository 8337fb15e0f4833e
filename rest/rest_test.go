package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/graph"
	"github.com/mercantile/mercantile/internal/audit"
	"github.com/mercantile/mercantile/internal/auth"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/email"
	"github.com/mercantile/mercantile/internal/events"
	"github.com/mercantile/mercantile/internal/idempotency"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/media"
	"github.com/mercantile/mercantile/internal/merchants"
	"github.com/mercantile/mercantile/internal/orders"
	"github.com/mercantile/mercantile/internal/platform/config"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/resolvers"
)

type harness struct {
	t         *testing.T
	server    *httptest.Server
	db        *database.DB
	client    *ent.Client
	dialect   string
	merchants *merchants.Service
	api       *api
	deps      Deps
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessOn(t, dbtest.Postgres(t))
}

// testMaxImageBytes keeps the image limit small enough to exceed cheaply.
const testMaxImageBytes = 64 << 10

// newHarnessOn serves the API on db, PostgreSQL or the embedded default's SQLite, with
// images on local disk.
func newHarnessOn(t *testing.T, db *database.DB) *harness {
	t.Helper()
	// Started later: the media store needs the server's URL, and the router the store.
	server := httptest.NewUnstartedServer(nil)
	images, err := media.NewLocal(t.TempDir(), "http://"+server.Listener.Addr().String(), nil, testMaxImageBytes)
	if err != nil {
		t.Fatal(err)
	}
	return newHarnessWith(t, db, server, images, images.Handler())
}

// newHarnessWith serves the API from server (not yet started) with images in store;
// mediaHandler serves /media when images are on local disk.
func newHarnessWith(t *testing.T, db *database.DB, server *httptest.Server, store media.Store, mediaHandler http.Handler) *harness {
	t.Helper()
	cfg, err := config.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxBodyBytes = 16 << 10
	cfg.MaxImageBytes = testMaxImageBytes
	authService := auth.NewService(db.Client, kv.NewMemory(), time.Hour)
	authService.SetBcryptCost(bcrypt.MinCost)
	catalogService := catalog.NewService(db, kv.NewMemory(), store, cfg.MaxImageBytes)
	inventoryService := inventory.NewService(db, kv.NewMemory(), catalogService, newBus(t, db))
	ordersService := orders.NewService(db, inventoryService, time.Hour)
	root := resolvers.New(db.Client, resolvers.Services{Catalog: catalogService, Inventory: inventoryService, Orders: ordersService})
	registry := prometheus.NewRegistry()
	auditService := audit.NewService(db.Client, slog.New(slog.DiscardHandler))
	deps := Deps{
		Config: cfg, Logger: slog.New(slog.DiscardHandler), Auth: authService, Audit: auditService,
		Merchants: merchants.NewService(db.Client, authService), Catalog: catalogService,
		Inventory: inventoryService, Orders: ordersService, Idempotency: idempotency.NewStore(db.Client), Media: mediaHandler,
		Emails: email.NewService(db.Client, email.Config{}, slog.New(slog.DiscardHandler)),
		GraphQL: root.WithLoaders(graph.NewHandler(root, graph.Options{
			ComplexityLimit: 1000, AuthenticateWebsocket: AuthenticateWebsocket(authService), Logger: slog.New(slog.DiscardHandler),
			Audit: auditService,
		})),
		Playground: graph.PlaygroundHandler(),
		Registry:   registry, Gatherer: registry,
		Checks: []Checker{{Name: "database", Check: db.Ping}},
	}
	h := &harness{t: t, db: db, client: db.Client, dialect: db.Dialect, merchants: deps.Merchants, deps: deps}
	server.Config.Handler = NewRouter(deps)
	server.Start()
	h.server = server
	t.Cleanup(h.server.Close)
	h.api = &api{cfg: cfg, log: deps.Logger, auth: authService, merchants: deps.Merchants, catalog: catalogService,
		inventory: inventoryService, orders: ordersService, emails: deps.Emails, idempotency: deps.Idempotency,
		media: mediaHandler, graphql: deps.GraphQL, playgrnd: deps.Playground, gatherer: registry}
	return h
}

// newBus is the event bus serve builds: LISTEN/NOTIFY on PostgreSQL, listening until the
// test ends (and before it starts), in process on SQLite.
func newBus(t *testing.T, db *database.DB) events.Bus {
	t.Helper()
	if db.Pool == nil {
		return events.NewLocal()
	}
	bus := events.NewPostgres(db.Pool, slog.New(slog.DiscardHandler), inventory.ChangesChannel)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		bus.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-bus.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the event listener did not start")
	}
	return bus
}

func (h *harness) merchant(handle, ownerPassword string) merchants.Created {
	h.t.Helper()
	c, err := h.merchants.Create(context.Background(), merchants.CreateInput{
		Name: "Shop " + handle, Handle: handle, OwnerEmail: "owner@" + handle + ".example.com", OwnerPassword: ownerPassword,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return v
}

// expectProblem checks r is a problem+json document with status and code.
func (r reply) expectProblem(t *testing.T, status int, code string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	p := r.json(t)
	if p["code"] != code || int(p["status"].(float64)) != status || p["request_id"] != r.header.Get("X-Request-Id") {
		t.Fatalf("problem %v, want code %s", p, code)
	}
	return p
}

type request struct {
	method, path, key string
	body              any
	header            map[string]string
	cookies           []*http.Cookie
}

func (h *harness) do(req request) reply {
	h.t.Helper()
	var body io.Reader
	switch b := req.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		body = bytes.NewReader(raw)
	}
	r, err := http.NewRequest(req.method, h.server.URL+req.path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if req.key != "" {
		r.Header.Set("Authorization", "Bearer "+req.key)
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	for _, c := range req.cookies {
		r.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}

// concretePath fills route parameters so the path can be requested.
func concretePath(pattern string) string {
	return pathParam.ReplaceAllString(pattern, "key_01HZZZZZZZZZZZZZZZZZZZZZZZ")
}

// apiSuites run against PostgreSQL and against the embedded default's SQLite, so the
// embedded mode behaves as production does.
var apiSuites = map[string]func(*testing.T, *harness){
	"tenant isolation":  testTenantIsolationOverREST,
	"sessions and CSRF": testSessionsAndCSRF,
	"bad input":         testBadInput,
	"key pagination":    testKeyPagination,
	"catalog":           testCatalog,
	"catalog bad input": testCatalogBadInput,
	"catalog access":    testCatalogAccess,
	"catalog search":    testCatalogSearch,
	"product images":    testProductImages,
	"variant images":    testVariantImages,
	"warehouses":        testWarehouses,
	"stock":             testStock,
	"orders":            testOrderFlow,
	"order bad input":   testOrderBadInput,
	"order access":      testOrderAccess,
	"idempotency":       testIdempotency,
	"graphql commerce":  testGraphQLCommerce,
}

func TestAPIOnPostgres(t *testing.T) {
	t.Parallel()
	for name, suite := range apiSuites {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			suite(t, newHarness(t))
		})
	}
}

func TestAPIOnSQLite(t *testing.T) {
	t.Parallel()
	for name, suite := range apiSuites {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			suite(t, newHarnessOn(t, dbtest.SQLite(t)))
		})
	}
}

func TestEveryRouteNeedsCredentials(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, rt := range h.api.routes() {
		if rt.access == public {
			continue
		}
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			r := h.do(request{method: rt.method, path: concretePath(rt.path), body: map[string]any{}})
			r.expectProblem(t, http.StatusUnauthorized, "unauthorized")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
			r = h.do(request{method: rt.method, path: concretePath(rt.path), key: "sk_notarealkey000000000000000000000000000000"})
			r.expectProblem(t, http.StatusUnauthorized, "unauthorized")
		})
	}
}

func testTenantIsolationOverREST(t *testing.T, h *harness) {
	a := h.merchant("alpha", "")
	b := h.merchant("beta", "")
	var aKeys map[string]any
	json.Unmarshal(h.do(request{method: "GET", path: "/api/v1/keys", key: a.SecretKey}).body, &aKeys)
	aKeyID := aKeys["data"].([]any)[0].(map[string]any)["id"].(string)

	t.Run("B sees its own merchant", func(t *testing.T) {
		r := h.do(request{method: "GET", path: "/api/v1/merchant", key: b.SecretKey})
		if r.status != 200 || r.json(t)["id"] != b.Merchant.ID.String() {
			t.Fatalf("GET merchant as B: %d %s", r.status, r.body)
		}
	})
	t.Run("B cannot reach A's key", func(t *testing.T) {
		h.do(request{method: "DELETE", path: "/api/v1/keys/" + aKeyID, key: b.SecretKey}).expectProblem(t, 404, "not_found")
		r := h.do(request{method: "GET", path: "/api/v1/keys", key: b.SecretKey})
		if strings.Contains(string(r.body), aKeyID) {
			t.Fatalf("B's key list shows A's key: %s", r.body)
		}
		if r := h.do(request{method: "GET", path: "/api/v1/merchant", key: a.SecretKey}); r.status != 200 {
			t.Fatalf("A's key stopped working: %s", r.body)
		}
	})
	t.Run("B's GraphQL sees nothing of A", func(t *testing.T) {
		r := h.do(request{method: "POST", path: "/graphql", key: b.SecretKey, body: map[string]any{
			"query": `query($id: ID!) { node(id: $id) { id } viewer { merchant { id } } }`, "variables": map[string]any{"id": a.Merchant.ID},
		}})
		var out struct {
			Data struct {
				Node   any
				Viewer struct{ Merchant struct{ ID string } }
			}
		}
		json.Unmarshal(r.body, &out)
		if out.Data.Node != nil || out.Data.Viewer.Merchant.ID != b.Merchant.ID.String() {
			t.Fatalf("GraphQL as B: %s", r.body)
		}
	})
	t.Run("publishable keys cannot write or read private data", func(t *testing.T) {
		h.do(request{method: "GET", path: "/api/v1/merchant", key: b.PublishableKey}).expectProblem(t, 403, "forbidden")
		h.do(request{method: "POST", path: "/api/v1/keys", key: b.PublishableKey, body: map[string]any{"kind": "secret"}}).
			expectProblem(t, 403, "forbidden")
	})
}

func testSessionsAndCSRF(t *testing.T, h *harness) {
	m := h.merchant("gamma", "owner password 1")

	h.do(request{method: "POST", path: "/api/v1/session", body: map[string]any{"email": "owner@gamma.example.com", "password": "nope nope nope"}}).
		expectProblem(t, 401, "unauthorized")
	r := h.do(request{method: "POST", path: "/api/v1/session", body: map[string]any{"email": "owner@gamma.example.com", "password": "owner password 1"}})
	if r.status != 201 {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	cookies := (&http.Response{Header: r.header}).Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v", cookies)
	}
	csrf := r.json(t)["csrf_token"].(string)

	if r := h.do(request{method: "GET", path: "/api/v1/merchant", cookies: cookies}); r.status != 200 || r.json(t)["id"] != m.Merchant.ID.String() {
		t.Fatalf("GET with cookie: %d %s", r.status, r.body)
	}
	rename := map[string]any{"name": "Renamed"}
	h.do(request{method: "PATCH", path: "/api/v1/merchant", cookies: cookies, body: rename}).expectProblem(t, 403, "forbidden")
	h.do(request{method: "PATCH", path: "/api/v1/merchant", cookies: cookies, body: rename, header: map[string]string{"X-CSRF-Token": "wrong"}}).
		expectProblem(t, 403, "forbidden")
	r = h.do(request{method: "PATCH", path: "/api/v1/merchant", cookies: cookies, body: rename, header: map[string]string{"X-CSRF-Token": csrf}})
	if r.status != 200 || r.json(t)["name"] != "Renamed" {
		t.Fatalf("PATCH with CSRF: %d %s", r.status, r.body)
	}

	t.Run("viewer role reads but cannot write", func(t *testing.T) {
		r := h.do(request{method: "POST", path: "/api/v1/users", key: m.SecretKey, body: map[string]any{
			"email": "viewer@gamma.example.com", "password": "viewer password", "role": "viewer"}})
		if r.status != 201 {
			t.Fatalf("create viewer: %d %s", r.status, r.body)
		}
		r = h.do(request{method: "POST", path: "/api/v1/session", body: map[string]any{"email": "viewer@gamma.example.com", "password": "viewer password"}})
		vc := (&http.Response{Header: r.header}).Cookies()
		vcsrf := r.json(t)["csrf_token"].(string)
		if r := h.do(request{method: "GET", path: "/api/v1/users", cookies: vc}); r.status != 200 {
			t.Fatalf("viewer listing users: %d %s", r.status, r.body)
		}
		h.do(request{method: "PATCH", path: "/api/v1/merchant", cookies: vc, body: rename, header: map[string]string{"X-CSRF-Token": vcsrf}}).
			expectProblem(t, 403, "forbidden")
		h.do(request{method: "POST", path: "/api/v1/keys", cookies: vc, body: map[string]any{"kind": "secret"}, header: map[string]string{"X-CSRF-Token": vcsrf}}).
			expectProblem(t, 403, "forbidden")
	})

	if r := h.do(request{method: "DELETE", path: "/api/v1/session", cookies: cookies, header: map[string]string{"X-CSRF-Token": csrf}}); r.status != 204 {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	h.do(request{method: "GET", path: "/api/v1/merchant", cookies: cookies}).expectProblem(t, 401, "unauthorized")
}

func testBadInput(t *testing.T, h *harness) {
	m := h.merchant("delta", "")
	patch := func(body any) reply {
		return h.do(request{method: "PATCH", path: "/api/v1/merchant", key: m.SecretKey, body: body})
	}
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"malformed JSON", `{"name":`, 400, "invalid", ""},
		{"not an object", `[1]`, 400, "invalid", ""},
		{"two objects", `{} {}`, 400, "invalid", ""},
		{"unknown field", map[string]any{"nme": "x"}, 400, "invalid", "nme"},
		{"wrong type", map[string]any{"name": 5}, 400, "invalid", "name"},
		{"invalid currency", map[string]any{"currency": "dollars"}, 422, "invalid", "currency"},
		{"empty name", map[string]any{"name": " "}, 422, "invalid", "name"},
		{"bad shop domain", map[string]any{"shopify_shop_domain": "example.com"}, 422, "invalid", "shopify_shop_domain"},
		{"status skips a stage", map[string]any{"status": "sunset"}, 409, "invalid_state_transition", "status"},
		{"too large", map[string]any{"name": strings.Repeat("x", 32<<10)}, 413, "payload_too_large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := patch(tt.body).expectProblem(t, tt.status, tt.code)
			if tt.field != "" {
				errs := p["errors"].([]any)
				if len(errs) == 0 || errs[0].(map[string]any)["field"] != tt.field {
					t.Fatalf("errors %v do not name %s", errs, tt.field)
				}
			}
		})
	}
	t.Run("nothing was written", func(t *testing.T) {
		r := h.do(request{method: "GET", path: "/api/v1/merchant", key: m.SecretKey}).json(t)
		if r["name"] != "Shop delta" || r["currency"] != "USD" || r["status"] != "onboarding" {
			t.Fatalf("merchant changed by rejected requests: %v", r)
		}
	})
	t.Run("status moves forward", func(t *testing.T) {
		if r := patch(map[string]any{"status": "active"}); r.status != 200 || r.json(t)["status"] != "active" {
			t.Fatalf("onboarding -> active: %d %s", r.status, r.body)
		}
		patch(map[string]any{"status": "onboarding"}).expectProblem(t, 409, "invalid_state_transition")
	})
	h.do(request{method: "GET", path: "/api/v1/nowhere", key: m.SecretKey}).expectProblem(t, 404, "not_found")
	h.do(request{method: "PUT", path: "/api/v1/merchant", key: m.SecretKey}).expectProblem(t, 405, "invalid")
	h.do(request{method: "GET", path: "/api/v1/keys?limit=0", key: m.SecretKey}).expectProblem(t, 422, "invalid")
}

func testKeyPagination(t *testing.T, h *harness) {
	m := h.merchant("epsilon", "")
	for range 3 {
		if r := h.do(request{method: "POST", path: "/api/v1/keys", key: m.SecretKey, body: map[string]any{"kind": "publishable"}}); r.status != 201 {
			t.Fatalf("create key: %d %s", r.status, r.body)
		}
	}
	var seen []string
	after := ""
	for page := 0; ; page++ {
		var out struct {
			Data     []struct{ ID string }
			PageInfo struct {
				HasNextPage bool    `json:"has_next_page"`
				EndCursor   *string `json:"end_cursor"`
			} `json:"page_info"`
		}
		json.Unmarshal(h.do(request{method: "GET", path: "/api/v1/keys?limit=2&after=" + after, key: m.SecretKey}).body, &out)
		for _, d := range out.Data {
			seen = append(seen, d.ID)
		}
		if !out.PageInfo.HasNextPage {
			break
		}
		after = *out.PageInfo.EndCursor
		if page > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %d keys, want 5 (2 default + 3): %v", len(seen), seen)
	}
}

// TestOpenAPIMatchesRouter proves the document describes exactly the routes served.
func TestOpenAPIMatchesRouter(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var doc struct {
		Paths map[string]map[string]any
	}
	r := h.do(request{method: "GET", path: "/api/v1/openapi.json"})
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	served := map[string]bool{}
	deps := h.deps
	deps.Registry = prometheus.NewRegistry()
	router := NewRouter(deps)
	chi.Walk(router.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		served[method+" "+docPath(route)] = true
		return nil
	})
	for op := range served {
		if !documented[op] {
			t.Errorf("%s is served but not documented", op)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("%s is documented but not served", op)
		}
	}
	if page := h.do(request{method: "GET", path: "/docs"}); page.status != 200 || !bytes.Contains(page.body, []byte("/api/v1/merchant")) {
		t.Fatalf("/docs: %d", page.status)
	}
}

// TestResponsesMatchSchemas checks live responses against the documented schemas, so the
// document cannot promise fields the API does not send, or miss fields it does.
func TestResponsesMatchSchemas(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.merchant("zeta", "owner password 1")
	login := h.do(request{method: "POST", path: "/api/v1/session", body: map[string]any{"email": "owner@zeta.example.com", "password": "owner password 1"}})
	created := h.do(request{method: "POST", path: "/api/v1/products", key: m.SecretKey, body: tshirtBody()})
	var p catalog.Product
	created.decode(t, 201, &p)
	imageCreated := h.do(request{method: "POST", path: "/api/v1/products/" + p.ID + "/images", key: m.SecretKey,
		body: map[string]any{"filename": "front.png", "content_type": "image/png"}})
	var up imageUpload
	imageCreated.decode(t, 201, &up)
	checks := []struct {
		schema string
		reply  reply
	}{
		{"Product", created},
		{"Product", h.do(request{method: "GET", path: "/api/v1/products/" + p.ID, key: m.PublishableKey})},
		{"Product", h.do(request{method: "PATCH", path: "/api/v1/products/" + p.ID, key: m.SecretKey, body: map[string]any{"status": "draft"}})},
		{"ProductList", h.do(request{method: "GET", path: "/api/v1/products?limit=1", key: m.SecretKey})},
		{"ProductList", h.do(request{method: "GET", path: "/api/v1/search?q=shirt", key: m.SecretKey})},
		{"Variant", h.do(request{method: "POST", path: "/api/v1/products/" + p.ID + "/variants", key: m.SecretKey,
			body: map[string]any{"sku": "TSHIRT-RED-L", "option_values": map[string]string{"Color": "Red", "Size": "L"}, "price": 1999}})},
		{"Variant", h.do(request{method: "GET", path: "/api/v1/variants/by-sku/TSHIRT-RED-M", key: m.SecretKey})},
		{"ImageUpload", imageCreated},
		{"Variant", h.do(request{method: "PATCH", path: "/api/v1/variants/" + p.Variants[0].ID, key: m.SecretKey,
			body: map[string]any{"image_id": up.Image.ID}})},
		{"Product", h.do(request{method: "GET", path: "/api/v1/products/" + p.ID, key: m.SecretKey})},
		{"Problem", h.do(request{method: "POST", path: "/api/v1/products", key: m.SecretKey, body: map[string]any{"title": ""}})},
		{"Merchant", h.do(request{method: "GET", path: "/api/v1/merchant", key: m.SecretKey})},
		{"APIKeyList", h.do(request{method: "GET", path: "/api/v1/keys", key: m.SecretKey})},
		{"APIKey", h.do(request{method: "POST", path: "/api/v1/keys", key: m.SecretKey, body: map[string]any{"kind": "secret", "name": "ci"}})},
		{"UserList", h.do(request{method: "GET", path: "/api/v1/users", key: m.SecretKey})},
		{"Session", login},
		{"Problem", h.do(request{method: "GET", path: "/api/v1/merchant"})},
		{"Health", h.do(request{method: "GET", path: "/healthz"})},
		{"Readiness", h.do(request{method: "GET", path: "/readyz"})},
	}
	checks = append(checks, commerceReplies(t, h)...)
	for _, c := range checks {
		t.Run(c.schema, func(t *testing.T) {
			var v any
			if err := json.Unmarshal(c.reply.body, &v); err != nil {
				t.Fatalf("not JSON: %s", c.reply.body)
			}
			if problems := conform(v, schemas[c.schema], "$"); len(problems) > 0 {
				t.Fatalf("response does not match %s:\n%s\n%s", c.schema, strings.Join(problems, "\n"), c.reply.body)
			}
		})
	}
}

// conform is a small JSON Schema check: types, required and unknown properties, refs.
func conform(v any, schema any, at string) []string {
	s, _ := schema.(map[string]any)
	if ref, ok := s["$ref"].(string); ok {
		return conform(v, schemas[strings.TrimPrefix(ref, "#/components/schemas/")], at)
	}
	if !typeMatches(v, s["type"]) {
		return []string{at + ": wrong type"}
	}
	var out []string
	switch val := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		req, _ := s["required"].([]string)
		for _, name := range req {
			if _, ok := val[name]; !ok {
				out = append(out, at+"."+name+": required but missing")
			}
		}
		for name, child := range val {
			if ps, ok := props[name]; ok {
				out = append(out, conform(child, ps, at+"."+name)...)
			} else if s["additionalProperties"] == false {
				out = append(out, at+"."+name+": not documented")
			}
		}
	case []any:
		for i, item := range val {
			out = append(out, conform(item, s["items"], at+"["+string(rune('0'+i%10))+"]")...)
		}
	}
	return out
}

func typeMatches(v any, typ any) bool {
	switch t := typ.(type) {
	case nil:
		return true
	case []string:
		for _, one := range t {
			if typeMatches(v, one) {
				return true
			}
		}
		return false
	case string:
		switch t {
		case "object":
			_, ok := v.(map[string]any)
			return ok
		case "array":
			_, ok := v.([]any)
			return ok
		case "string":
			_, ok := v.(string)
			return ok
		case "integer", "number":
			_, ok := v.(float64)
			return ok
		case "boolean":
			_, ok := v.(bool)
			return ok
		case "null":
			return v == nil
		}
	}
	return false
}
