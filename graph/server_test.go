package graph_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/graph"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/platform/kv/kvtest"
	"github.com/mercantile/mercantile/internal/pulid"
	"github.com/mercantile/mercantile/resolvers"
)

// testLimit is the complexity limit of every test server.
const testLimit = 1000

// tenant is a merchant with one of each object the tests look for.
type tenant struct {
	merchant, product, variant, warehouse pulid.ID
}

// createTenant creates a merchant with a product, a variant and a warehouse. Both tenants
// use the same product handle, SKU and warehouse code, so a filter on them cannot tell
// the merchants apart: only the privacy rules can.
func createTenant(t *testing.T, client *ent.Client, handle string) tenant {
	t.Helper()
	ctx := viewer.SystemContext(t.Context())
	m, err := client.Merchant.Create().SetName(handle).SetHandle(handle).Save(ctx)
	if err != nil {
		t.Fatalf("creating merchant: %v", err)
	}
	p, err := client.Product.Create().SetMerchantID(m.ID).SetTitle(handle + " shirt").SetHandle("shirt").Save(ctx)
	if err != nil {
		t.Fatalf("creating product: %v", err)
	}
	v, err := client.Variant.Create().SetMerchantID(m.ID).SetProductID(p.ID).SetSku("SHIRT-M").Save(ctx)
	if err != nil {
		t.Fatalf("creating variant: %v", err)
	}
	w, err := client.Warehouse.Create().SetMerchantID(m.ID).SetCode("MAIN").SetName(handle + " main").Save(ctx)
	if err != nil {
		t.Fatalf("creating warehouse: %v", err)
	}
	return tenant{merchant: m.ID, product: p.ID, variant: v.ID, warehouse: w.ID}
}

// secretKey returns the viewer of a secret key of merchant.
func secretKey(merchant pulid.ID) *viewer.Viewer {
	return &viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: merchant, ActorID: "key_x"}
}

// newServer serves the handler the way the router does: chi's request id first, then the
// authentication middleware, here replaced by one that sets v (nil: no viewer).
func newServer(t *testing.T, root graph.ResolverRoot, opts graph.Options, v *viewer.Viewer) *httptest.Server {
	t.Helper()
	h := graph.NewHandler(root, opts)
	authenticated := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v != nil {
			r = r.WithContext(viewer.NewContext(r.Context(), *v))
		}
		h.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(middleware.RequestID(authenticated))
	t.Cleanup(srv.Close)
	return srv
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type response struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// codes returns the extensions.code of each error.
func (r response) codes() []string {
	var codes []string
	for _, e := range r.Errors {
		code, _ := e.Extensions["code"].(string)
		codes = append(codes, code)
	}
	return codes
}

// data decodes the response's data into v, failing the test on errors.
func (r response) data(t *testing.T, v any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decoding data %s: %v", r.Data, err)
	}
}

// post sends body as a JSON POST to srv.
func post(t *testing.T, srv *httptest.Server, body map[string]any) response {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var r response
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("decoding response %q: %v", raw, err)
	}
	return r
}

// query posts a query with variables.
func query(t *testing.T, srv *httptest.Server, q string, vars map[string]any) response {
	t.Helper()
	return post(t, srv, map[string]any{"query": q, "variables": vars})
}

type idConnection struct {
	TotalCount int `json:"totalCount"`
	Edges      []struct {
		Node struct {
			ID pulid.ID `json:"id"`
		} `json:"node"`
	} `json:"edges"`
}

func (c idConnection) ids() []pulid.ID {
	var ids []pulid.ID
	for _, e := range c.Edges {
		ids = append(ids, e.Node.ID)
	}
	return ids
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	db := dbtest.Postgres(t)
	a := createTenant(t, db.Client, "merchant-a")
	b := createTenant(t, db.Client, "merchant-b")
	srv := newServer(t, resolvers.New(db.Client, resolvers.Services{}), graph.Options{ComplexityLimit: testLimit}, secretKey(b.merchant))

	t.Run("connections hold only the viewer's rows", func(t *testing.T) {
		t.Parallel()
		var got struct {
			Products   idConnection `json:"products"`
			Variants   idConnection `json:"variants"`
			Warehouses idConnection `json:"warehouses"`
		}
		query(t, srv, `{
			products(first: 10) { totalCount edges { node { id } } }
			variants(first: 10) { totalCount edges { node { id } } }
			warehouses(first: 10) { totalCount edges { node { id } } }
		}`, nil).data(t, &got)
		want := map[string][]pulid.ID{"products": {b.product}, "variants": {b.variant}, "warehouses": {b.warehouse}}
		gotIDs := map[string][]pulid.ID{"products": got.Products.ids(), "variants": got.Variants.ids(), "warehouses": got.Warehouses.ids()}
		if diff := cmp.Diff(want, gotIDs); diff != "" {
			t.Errorf("ids (-want +got):\n%s", diff)
		}
		counts := []int{got.Products.TotalCount, got.Variants.TotalCount, got.Warehouses.TotalCount}
		if diff := cmp.Diff([]int{1, 1, 1}, counts); diff != "" {
			t.Errorf("totalCount of products, variants, warehouses (-want +got):\n%s", diff)
		}
	})

	t.Run("filters cannot reach another merchant", func(t *testing.T) {
		t.Parallel()
		var got struct {
			Products   idConnection `json:"products"`
			Variants   idConnection `json:"variants"`
			Warehouses idConnection `json:"warehouses"`
		}
		query(t, srv, `query($product: ID!, $variant: ID!, $warehouse: ID!) {
			products(first: 10, where: {idIn: [$product]}) { edges { node { id } } }
			variants(first: 10, where: {id: $variant}) { edges { node { id } } }
			warehouses(first: 10, where: {id: $warehouse}) { edges { node { id } } }
		}`, map[string]any{"product": a.product, "variant": a.variant, "warehouse": a.warehouse}).data(t, &got)
		if n := len(got.Products.Edges) + len(got.Variants.Edges) + len(got.Warehouses.Edges); n != 0 {
			t.Errorf("filtering by merchant A's ids returned %d rows: %+v", n, got)
		}
	})

	for name, id := range map[string]pulid.ID{
		"product": a.product, "variant": a.variant, "warehouse": a.warehouse, "merchant": a.merchant,
	} {
		t.Run("node of another merchant's "+name+" is not found", func(t *testing.T) {
			t.Parallel()
			r := query(t, srv, `query($id: ID!) {
				node(id: $id) { id ... on Product { title } ... on Merchant { name } }
			}`, map[string]any{"id": id})
			if diff := cmp.Diff(`{"node":null}`, string(r.Data)); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"not_found"}, r.codes()); diff != "" {
				t.Errorf("error codes (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("nodes resolves only the viewer's ids", func(t *testing.T) {
		t.Parallel()
		r := query(t, srv, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
			map[string]any{"ids": []pulid.ID{a.product, b.product, a.warehouse, a.variant}})
		want := `{"nodes":[null,{"id":"` + string(b.product) + `"},null,null]}`
		if diff := cmp.Diff(want, string(r.Data)); diff != "" {
			t.Errorf("data (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"not_found", "not_found", "not_found"}, r.codes()); diff != "" {
			t.Errorf("error codes (-want +got):\n%s", diff)
		}
	})

	t.Run("an edge of the viewer's product holds only its variants", func(t *testing.T) {
		t.Parallel()
		var got struct {
			Node struct {
				Variants idConnection `json:"variants"`
			} `json:"node"`
		}
		query(t, srv, `query($id: ID!) { node(id: $id) { ... on Product { variants(first: 10) { edges { node { id } } } } } }`,
			map[string]any{"id": b.product}).data(t, &got)
		if diff := cmp.Diff([]pulid.ID{b.variant}, got.Node.Variants.ids()); diff != "" {
			t.Errorf("variants (-want +got):\n%s", diff)
		}
	})
}

func TestViewer(t *testing.T) {
	t.Parallel()
	db := dbtest.Postgres(t)
	createTenant(t, db.Client, "merchant-a")
	b := createTenant(t, db.Client, "merchant-b")
	const q = `{ viewer { kind role merchant { id handle } } }`

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name   string
			viewer *viewer.Viewer
			want   string
		}{
			{"secret key", secretKey(b.merchant),
				`{"viewer":{"kind":"SECRET_KEY","role":null,"merchant":{"id":"` + string(b.merchant) + `","handle":"merchant-b"}}}`},
			{"staff user", &viewer.Viewer{Kind: viewer.KindUser, MerchantID: b.merchant, ActorID: "usr_x", Role: viewer.RoleOwner},
				`{"viewer":{"kind":"USER","role":"owner","merchant":{"id":"` + string(b.merchant) + `","handle":"merchant-b"}}}`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				srv := newServer(t, resolvers.New(db.Client, resolvers.Services{}), graph.Options{ComplexityLimit: testLimit}, tt.viewer)
				r := query(t, srv, q, nil)
				if len(r.Errors) > 0 {
					t.Fatalf("errors: %+v", r.Errors)
				}
				if diff := cmp.Diff(tt.want, string(r.Data)); diff != "" {
					t.Errorf("data (-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("ErrUnauthorized without a viewer", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, resolvers.New(db.Client, resolvers.Services{}), graph.Options{ComplexityLimit: testLimit}, nil)
		r := query(t, srv, q, nil)
		if diff := cmp.Diff([]string{"unauthorized"}, r.codes()); diff != "" {
			t.Errorf("error codes (-want +got):\n%s", diff)
		}
		if string(r.Data) != "null" {
			t.Errorf("data = %s, want null", r.Data)
		}
	})
}

func TestComplexityLimit(t *testing.T) {
	t.Parallel()
	db := dbtest.Postgres(t)
	b := createTenant(t, db.Client, "merchant-b")
	srv := newServer(t, resolvers.New(db.Client, resolvers.Services{}), graph.Options{ComplexityLimit: testLimit}, secretKey(b.merchant))

	// Costs: id 1, node 1 + children, edges 1 + children, a connection its children
	// times first (or last, or 50).
	tests := []struct {
		name  string
		query string
		vars  map[string]any
		// wantErr is the complexity error's message; empty when the query must pass.
		wantErr string
	}{
		{
			name:    "first multiplies nested connections",
			query:   `{ products(first: 1000) { edges { node { variants(first: 100) { edges { node { id } } } } } } }`,
			wantErr: "operation has complexity 302000, which exceeds the limit of 1000",
		},
		{
			name:    "first from a variable",
			query:   `query($n: Int) { products(first: $n) { edges { node { variants(first: 100) { edges { node { id } } } } } } }`,
			vars:    map[string]any{"n": 1000},
			wantErr: "operation has complexity 302000, which exceeds the limit of 1000",
		},
		{
			name:    "last multiplies like first",
			query:   `{ products(last: 400) { edges { node { id } } } }`,
			wantErr: "operation has complexity 1200, which exceeds the limit of 1000",
		},
		{
			name:    "a connection without first or last costs 50 rows",
			query:   `{ products { edges { node { variants { edges { node { id } } } } } } }`,
			wantErr: "operation has complexity 7600, which exceeds the limit of 1000",
		},
		{
			name:  "small pages pass",
			query: `{ products(first: 5) { edges { node { id variants(first: 5) { edges { node { id } } } } } } }`,
		},
		{
			name:  "one default page of ids passes",
			query: `{ products { edges { node { id } } } }`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := query(t, srv, tt.query, tt.vars)
			if tt.wantErr == "" {
				if len(r.Errors) > 0 {
					t.Fatalf("errors: %+v", r.Errors)
				}
				return
			}
			want := []gqlError{{Message: tt.wantErr, Extensions: map[string]any{"code": "invalid"}}}
			if diff := cmp.Diff(want, r.Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// failingRoot answers Query.viewer with fail() and everything else like the real
// resolvers, to see how the handler presents what resolvers return.
type failingRoot struct {
	*resolvers.Resolver
	fail func() error
}

func (r failingRoot) Query() graph.QueryResolver {
	return failingQuery{QueryResolver: r.Resolver.Query(), fail: r.fail}
}

type failingQuery struct {
	graph.QueryResolver
	fail func() error
}

func (q failingQuery) Viewer(context.Context) (*viewer.Viewer, error) { return nil, q.fail() }

// syncBuffer is a log destination the test reads while the server may write.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	db := dbtest.Postgres(t)
	b := createTenant(t, db.Client, "merchant-b")
	srv := newServer(t, resolvers.New(db.Client, resolvers.Services{}), graph.Options{ComplexityLimit: testLimit}, secretKey(b.merchant))

	t.Run("the request's own faults are invalid", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name, query string
			wantMessage string
		}{
			{"unknown field", `{ products(first: 1) { edges { node { nope } } } }`,
				`Cannot query field "nope" on type "Product".`},
			{"syntax error", `{ products(first: 1) {`, `Expected Name, found <EOF>`},
			{"undecodable cursor", `{ products(first: 1, after: "not a cursor") { edges { node { id } } } }`, ""},
			{"first and last together", `{ products(first: 1, last: 1) { edges { node { id } } } }`,
				"Passing both `first` and `last` to paginate a connection is not supported."},
			{"negative first", `{ products(first: -1) { edges { node { id } } } }`,
				"`first` on a connection cannot be less than zero."},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r := query(t, srv, tt.query, nil)
				if diff := cmp.Diff([]string{"invalid"}, r.codes()); diff != "" {
					t.Fatalf("error codes (-want +got):\n%s\nerrors: %+v", diff, r.Errors)
				}
				if tt.wantMessage != "" && r.Errors[0].Message != tt.wantMessage {
					t.Errorf("message = %q, want %q", r.Errors[0].Message, tt.wantMessage)
				}
			})
		}
	})

	t.Run("resolver errors keep their code", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			fail func() error
			want gqlError
			// wantLog is text the error log must contain; empty: nothing is logged.
			wantLog string
		}{
			{
				name: "invalid names its fields",
				fail: func() error {
					var v apperr.Validation
					v.Add("email", "must be an email address")
					return v.Err()
				},
				want: gqlError{Message: "The request has invalid fields.", Path: []any{"viewer"}, Extensions: map[string]any{
					"code":   "invalid",
					"errors": []any{map[string]any{"field": "email", "message": "must be an email address"}},
				}},
			},
			{
				name: "application codes pass through",
				fail: func() error { return apperr.New(apperr.Conflict, "The SKU is taken.") },
				want: gqlError{Message: "The SKU is taken.", Path: []any{"viewer"}, Extensions: map[string]any{"code": "conflict"}},
			},
			{
				name: "data layer errors are mapped",
				fail: func() error { return &ent.NotFoundError{} },
				want: gqlError{Message: "The requested object does not exist.", Path: []any{"viewer"}, Extensions: map[string]any{"code": "not_found"}},
			},
			{
				name:    "foreign errors are internal, logged and not shown",
				fail:    func() error { return errors.New("pq: secret detail") },
				want:    gqlError{Message: "An internal error occurred.", Path: []any{"viewer"}, Extensions: map[string]any{"code": "internal"}},
				wantLog: "pq: secret detail",
			},
			{
				name:    "panics are internal, logged and not shown",
				fail:    func() error { panic("boom: secret detail") },
				want:    gqlError{Message: "An internal error occurred.", Path: []any{"viewer"}, Extensions: map[string]any{"code": "internal"}},
				wantLog: "boom: secret detail",
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				var logs syncBuffer
				opts := graph.Options{ComplexityLimit: testLimit, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
				srv := newServer(t, failingRoot{Resolver: resolvers.New(db.Client, resolvers.Services{}), fail: tt.fail}, opts, secretKey(b.merchant))
				r := query(t, srv, `{ viewer { kind } }`, nil)
				if diff := cmp.Diff([]gqlError{tt.want}, r.Errors); diff != "" {
					t.Errorf("errors (-want +got):\n%s", diff)
				}
				log := logs.String()
				if tt.wantLog == "" {
					if log != "" {
						t.Errorf("logged %q, want nothing", log)
					}
					return
				}
				for _, want := range []string{tt.wantLog, "request_id=", "path=viewer", "merchant_id=" + string(b.merchant)} {
					if !strings.Contains(log, want) {
						t.Errorf("log %q does not contain %q", log, want)
					}
				}
				if strings.Contains(log, "request_id= ") || strings.Contains(log, `request_id=""`) {
					t.Errorf("log %q has no request id", log)
				}
			})
		}
	})
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	// The schema's own fields never reach a resolver, so no database is needed.
	root := resolvers.New(nil, resolvers.Services{})
	const q = `{ __schema { queryType { name } } }`

	t.Run("off", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, root, graph.Options{ComplexityLimit: testLimit, Introspection: false}, secretKey("mer_b"))
		r := query(t, srv, q, nil)
		if diff := cmp.Diff([]string{"forbidden"}, r.codes()); diff != "" {
			t.Errorf("error codes (-want +got):\n%s", diff)
		}
		if strings.Contains(string(r.Data), "Query") {
			t.Errorf("data %s reveals the schema", r.Data)
		}
		var typename struct {
			Typename string `json:"__typename"`
		}
		query(t, srv, `{ __typename }`, nil).data(t, &typename)
		if typename.Typename != "Query" {
			t.Errorf("__typename = %q, want Query: it is not introspection", typename.Typename)
		}
	})

	t.Run("on", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, root, graph.Options{ComplexityLimit: testLimit, Introspection: true}, secretKey("mer_b"))
		r := query(t, srv, q, nil)
		if len(r.Errors) > 0 {
			t.Fatalf("errors: %+v", r.Errors)
		}
		if diff := cmp.Diff(`{"__schema":{"queryType":{"name":"Query"}}}`, string(r.Data)); diff != "" {
			t.Errorf("data (-want +got):\n%s", diff)
		}
	})
}

func TestGET(t *testing.T) {
	t.Parallel()
	srv := newServer(t, resolvers.New(nil, resolvers.Services{}), graph.Options{ComplexityLimit: testLimit}, secretKey("mer_b"))
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"?query="+url.QueryEscape(`{ __typename }`), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"data":{"__typename":"Query"}}`, string(body)); diff != "" || res.StatusCode != http.StatusOK {
		t.Errorf("status %d, body (-want +got):\n%s", res.StatusCode, diff)
	}
}

func TestPersistedQueries(t *testing.T) {
	t.Parallel()
	const q = `{ __typename }`
	sum := sha256.Sum256([]byte(q))
	extensions := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}
	unknown := []gqlError{{Message: "PersistedQueryNotFound", Extensions: map[string]any{"code": "invalid"}}}

	t.Run("in process", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, resolvers.New(nil, resolvers.Services{}), graph.Options{ComplexityLimit: testLimit}, secretKey("mer_b"))
		r := post(t, srv, map[string]any{"extensions": extensions})
		if diff := cmp.Diff(unknown, r.Errors); diff != "" {
			t.Fatalf("unknown hash: errors (-want +got):\n%s", diff)
		}
		if r := post(t, srv, map[string]any{"query": q, "extensions": extensions}); len(r.Errors) > 0 {
			t.Fatalf("registering: errors: %+v", r.Errors)
		}
		r = post(t, srv, map[string]any{"extensions": extensions})
		if len(r.Errors) > 0 {
			t.Fatalf("known hash: errors: %+v", r.Errors)
		}
		if diff := cmp.Diff(`{"__typename":"Query"}`, string(r.Data)); diff != "" {
			t.Errorf("known hash: data (-want +got):\n%s", diff)
		}
	})

	t.Run("shared by replicas through Redis", func(t *testing.T) {
		t.Parallel()
		opts, err := redis.ParseURL(kvtest.URL())
		if err != nil {
			t.Fatal(err)
		}
		client := redis.NewClient(opts)
		t.Cleanup(func() { _ = client.Close() })
		store := kv.NewRedis(client)
		// A query unique to this run, so an earlier run's registration cannot answer.
		query := fmt.Sprintf("{ __typename alias%d: __typename }", time.Now().UnixNano())
		hash := sha256.Sum256([]byte(query))
		ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(hash[:])}}
		replicaA := newServer(t, resolvers.New(nil, resolvers.Services{}), graph.Options{ComplexityLimit: testLimit, APQCache: graph.NewKVQueryCache(store)}, secretKey("mer_b"))
		replicaB := newServer(t, resolvers.New(nil, resolvers.Services{}), graph.Options{ComplexityLimit: testLimit, APQCache: graph.NewKVQueryCache(store)}, secretKey("mer_b"))
		if r := post(t, replicaB, map[string]any{"extensions": ext}); len(r.Errors) == 0 {
			t.Fatal("replica B knew the query before anyone registered it")
		}
		if r := post(t, replicaA, map[string]any{"query": query, "extensions": ext}); len(r.Errors) > 0 {
			t.Fatalf("registering on A: %+v", r.Errors)
		}
		if r := post(t, replicaB, map[string]any{"extensions": ext}); len(r.Errors) > 0 || !strings.Contains(string(r.Data), "alias") {
			t.Fatalf("replica B did not find the query A registered: %+v %s", r.Errors, r.Data)
		}
	})
}

func TestWebsocket(t *testing.T) {
	t.Parallel()
	const key = "Bearer sk_test_b"
	authenticate := func(ctx context.Context, authorization string) (context.Context, error) {
		if authorization != key {
			return ctx, apperr.New(apperr.Unauthorized, "The key is not valid.")
		}
		return viewer.NewContext(ctx, *secretKey("mer_b")), nil
	}
	// No viewer on the upgrade request: browsers cannot send the key there.
	srv := newServer(t, resolvers.New(nil, resolvers.Services{}), graph.Options{ComplexityLimit: testLimit, AuthenticateWebsocket: authenticate}, nil)

	type message struct {
		ID      string          `json:"id,omitempty"`
		Type    string          `json:"type"`
		Payload json.RawMessage `json:"payload,omitempty"`
	}
	// dial opens a websocket, sends connection_init with payload and returns the reply,
	// or the error that closed the socket instead.
	dial := func(t *testing.T, payload map[string]any) (*websocket.Conn, message, error) {
		t.Helper()
		ctx := t.Context()
		conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"),
			&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.CloseNow() })
		init, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		if err := wsjson.Write(ctx, conn, message{Type: "connection_init", Payload: init}); err != nil {
			t.Fatal(err)
		}
		var reply message
		err = wsjson.Read(ctx, conn, &reply)
		return conn, reply, err
	}

	t.Run("OK with Authorization in connection_init", func(t *testing.T) {
		t.Parallel()
		for _, header := range []string{"Authorization", "authorization"} {
			conn, reply, err := dial(t, map[string]any{header: key})
			if err != nil || reply.Type != "connection_ack" {
				t.Fatalf("%s: reply to connection_init = %+v, %v; want connection_ack", header, reply, err)
			}
			subscribe := message{ID: "1", Type: "subscribe", Payload: json.RawMessage(`{"query":"{ viewer { kind } }"}`)}
			if err := wsjson.Write(t.Context(), conn, subscribe); err != nil {
				t.Fatal(err)
			}
			var next message
			if err := wsjson.Read(t.Context(), conn, &next); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(`{"data":{"viewer":{"kind":"SECRET_KEY"}}}`, string(next.Payload)); diff != "" || next.Type != "next" {
				t.Errorf("%s: %s payload (-want +got):\n%s", header, next.Type, diff)
			}
		}
	})

	for name, payload := range map[string]map[string]any{
		"ErrUnauthorized without Authorization":    {},
		"ErrUnauthorized with a key that is wrong": {"Authorization": "Bearer sk_wrong"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, reply, err := dial(t, payload)
			if status := websocket.CloseStatus(err); status != 4403 {
				t.Errorf("reply to connection_init = %+v, %v; want the socket closed with 4403", reply, err)
			}
		})
	}
}
