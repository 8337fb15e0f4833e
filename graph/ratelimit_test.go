package graph_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/mercantile/mercantile/graph"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/platform/ratelimit"
	"github.com/mercantile/mercantile/resolvers"
)

// budget is a ratelimit.Charge over a fixed number of points that records each charge
// and who it was charged to.
type budget struct {
	mu      sync.Mutex
	left    int
	charges []int
	payers  []viewer.Kind
}

func (b *budget) charge(ctx context.Context, cost int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, _ := viewer.FromContext(ctx)
	b.payers = append(b.payers, v.Kind)
	if cost > b.left {
		e := apperr.New(apperr.RateLimited, "Too many query cost points.")
		e.RetryAfter = 6200 * time.Millisecond
		return e
	}
	b.left -= cost
	b.charges = append(b.charges, cost)
	return nil
}

func (b *budget) spent() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.charges...)
}

// countingRoot counts the calls of Query.viewer.
type countingRoot struct {
	*resolvers.Resolver
	calls *int
	mu    *sync.Mutex
}

func (r countingRoot) Query() graph.QueryResolver {
	return countingQuery{QueryResolver: r.Resolver.Query(), root: r}
}

type countingQuery struct {
	graph.QueryResolver
	root countingRoot
}

func (q countingQuery) Viewer(ctx context.Context) (*viewer.Viewer, error) {
	q.root.mu.Lock()
	*q.root.calls++
	q.root.mu.Unlock()
	return q.QueryResolver.Viewer(ctx)
}

// chargedServer serves the handler with b's charge in every request's context, as the
// REST router's chargeGraphQL does, and a secret key's viewer.
func chargedServer(t *testing.T, root graph.ResolverRoot, opts graph.Options, b *budget) *httptest.Server {
	t.Helper()
	h := graph.NewHandler(root, opts)
	srv := httptest.NewServer(middleware.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := ratelimit.WithCharge(r.Context(), b.charge)
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			ctx = viewer.NewContext(ctx, *secretKey("mer_b"))
		}
		h.ServeHTTP(w, r.WithContext(ctx))
	})))
	t.Cleanup(srv.Close)
	return srv
}

func TestRateLimitCharges(t *testing.T) {
	t.Parallel()
	var calls int
	root := countingRoot{Resolver: resolvers.New(nil, resolvers.Services{}), calls: &calls, mu: &sync.Mutex{}}

	t.Run("OK an operation pays its complexity, one point first", func(t *testing.T) {
		t.Parallel()
		b := &budget{left: 100}
		srv := chargedServer(t, root, graph.Options{ComplexityLimit: testLimit}, b)
		var out struct{ Viewer struct{ Kind string } }
		// viewer (1) + kind (1) + __typename (1).
		query(t, srv, `{ viewer { kind __typename } }`, nil).data(t, &out)
		if diff := cmp.Diff([]int{1, 2}, b.spent()); diff != "" {
			t.Fatalf("charges (-want +got):\n%s", diff)
		}
	})
	t.Run("OK a document that never validates pays one point", func(t *testing.T) {
		t.Parallel()
		b := &budget{left: 100}
		srv := chargedServer(t, root, graph.Options{ComplexityLimit: testLimit}, b)
		for _, q := range []string{`{ viewer {`, `{ nosuchfield }`} {
			if r := query(t, srv, q, nil); len(r.Errors) == 0 {
				t.Fatalf("%s: no error", q)
			}
		}
		// Nor does an operation over the complexity limit pay more than that point.
		query(t, srv, `{ products(first: 1000) { edges { node { id } } } }`, nil)
		if diff := cmp.Diff([]int{1, 1, 1}, b.spent()); diff != "" {
			t.Fatalf("charges (-want +got):\n%s", diff)
		}
	})
	t.Run("ErrRateLimited the operation does not run", func(t *testing.T) {
		t.Parallel()
		var calls int
		root := countingRoot{Resolver: resolvers.New(nil, resolvers.Services{}), calls: &calls, mu: &sync.Mutex{}}
		for _, left := range []int{0, 2} { // refused before parsing, and once costed
			b := &budget{left: left}
			srv := chargedServer(t, root, graph.Options{ComplexityLimit: testLimit}, b)
			r := query(t, srv, `{ viewer { kind __typename } }`, nil)
			want := []gqlError{{Message: "Too many query cost points.", Extensions: map[string]any{"code": "rate_limited", "retryAfter": float64(7)}}}
			if diff := cmp.Diff(want, r.Errors); diff != "" {
				t.Errorf("budget %d: errors (-want +got):\n%s", left, diff)
			}
			if string(r.Data) != "" && string(r.Data) != "null" {
				t.Errorf("budget %d: data %s from a refused operation", left, r.Data)
			}
		}
		if calls != 0 {
			t.Fatalf("the resolver ran %d times for refused operations", calls)
		}
	})
	t.Run("OK without a charge nothing is limited", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, root, graph.Options{ComplexityLimit: testLimit}, secretKey("mer_b"))
		if r := query(t, srv, `{ viewer { kind } }`, nil); len(r.Errors) > 0 {
			t.Fatalf("errors: %+v", r.Errors)
		}
	})
	t.Run("OK websocket operations pay as the viewer of connection_init", func(t *testing.T) {
		t.Parallel()
		b := &budget{left: 100}
		authenticate := func(ctx context.Context, _ string) (context.Context, error) {
			return viewer.NewContext(ctx, *secretKey("mer_b")), nil
		}
		srv := chargedServer(t, root, graph.Options{ComplexityLimit: testLimit, AuthenticateWebsocket: authenticate}, b)
		ctx := t.Context()
		conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"),
			&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		type message struct {
			ID      string          `json:"id,omitempty"`
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload,omitempty"`
		}
		var reply message
		if err := wsjson.Write(ctx, conn, message{Type: "connection_init", Payload: json.RawMessage(`{"Authorization":"Bearer sk_x"}`)}); err != nil {
			t.Fatal(err)
		}
		if err := wsjson.Read(ctx, conn, &reply); err != nil || reply.Type != "connection_ack" {
			t.Fatalf("connection_init: %+v, %v", reply, err)
		}
		if err := wsjson.Write(ctx, conn, message{ID: "1", Type: "subscribe", Payload: json.RawMessage(`{"query":"{ viewer { kind __typename } }"}`)}); err != nil {
			t.Fatal(err)
		}
		if err := wsjson.Read(ctx, conn, &reply); err != nil || reply.Type != "next" {
			t.Fatalf("subscribe: %+v, %v", reply, err)
		}
		if diff := cmp.Diff([]int{1, 2}, b.spent()); diff != "" {
			t.Fatalf("charges (-want +got):\n%s", diff)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, kind := range b.payers {
			if kind != viewer.KindSecretKey {
				t.Fatalf("charged to %q, want the websocket's viewer", kind)
			}
		}
	})
}
