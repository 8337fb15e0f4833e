package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/audit"
	"github.com/mercantile/mercantile/internal/auth/viewer"
)

// Options configures the GraphQL handler.
type Options struct {
	// ComplexityLimit is the most an operation may cost. A field costs 1 plus its
	// children; a connection costs its children times its page size (see
	// pagedComplexity). It must be positive: zero rejects every operation.
	ComplexityLimit int
	// Introspection lets clients query the schema (__schema, __type).
	Introspection bool
	// APQCache stores automatic persisted queries by hash; share one (Redis) between
	// replicas so that a hash registered on one is known to all. Nil: an in-process LRU.
	APQCache graphql.Cache[string]
	// AuthenticateWebsocket turns the Authorization value of a websocket's connection_init
	// payload into a context carrying the viewer. Nil: websockets are not served.
	AuthenticateWebsocket func(ctx context.Context, authorization string) (context.Context, error)
	// Logger receives internal errors. Nil: slog.Default().
	Logger *slog.Logger
	// Audit records the mutations of staff and secret keys that succeed. Nil: none are.
	Audit *audit.Service
}

const (
	// defaultPageSize is the page size a connection is costed at when the query gives
	// neither first nor last.
	defaultPageSize = 50
	// queryCacheSize is how many parsed and validated documents are kept.
	queryCacheSize = 1000
	// apqCacheSize is how many persisted queries the in-process APQ cache keeps.
	apqCacheSize = 100
	// websocketKeepAlive is how often a websocket is pinged, shorter than the idle
	// timeouts of the load balancers in front of us. graphql-transport-ws clients must
	// answer with a pong within two intervals, which also finds dead peers.
	websocketKeepAlive = 10 * time.Second
	// websocketInitTimeout bounds how long a websocket may stay open unauthenticated.
	websocketInitTimeout = 10 * time.Second
	// websocketCloseForbidden is graphql-transport-ws's close code for a refused
	// connection_init.
	websocketCloseForbidden = 4403
	// nodeNotFoundCode is the code entgql gives the error for an id that resolves to no
	// node the viewer can see.
	nodeNotFoundCode = "NOT_FOUND"
)

// NewHandler returns the /graphql endpoint serving root's schema over POST, GET and
// (when opts.AuthenticateWebsocket is set) websockets. It expects the authentication
// middleware to have put the viewer in the request context; every error it returns
// carries the application error code in extensions.code.
func NewHandler(root ResolverRoot, opts Options) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	srv := handler.New(pagedComplexity{NewExecutableSchema(Config{Resolvers: root})})

	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	if opts.AuthenticateWebsocket != nil {
		srv.AddTransport(transport.Websocket{
			// The first is the legacy graphql-ws protocol's keep-alive, the second
			// graphql-transport-ws's: each protocol ignores the other's.
			KeepAlivePingInterval: websocketKeepAlive,
			PingPongInterval:      websocketKeepAlive,
			InitTimeout:           websocketInitTimeout,
			InitFunc:              websocketInit(opts.AuthenticateWebsocket, logger),
		})
	}

	srv.SetQueryCache(lru.New[*ast.QueryDocument](queryCacheSize))
	if opts.Introspection {
		srv.Use(extension.Introspection{})
	}
	apqCache := opts.APQCache
	if apqCache == nil {
		apqCache = lru.New[string](apqCacheSize)
	}
	// Rate limits charge a point before anything else, so that documents that never
	// parse or validate are paid for too, and the rest of the cost once the complexity
	// limit has computed it: the order of Use is the order they run in.
	srv.Use(chargeRequest{})
	srv.Use(extension.AutomaticPersistedQuery{Cache: apqCache})
	srv.Use(extension.FixedComplexityLimit(opts.ComplexityLimit))
	srv.Use(chargeCost{})
	if opts.Audit != nil {
		srv.Use(auditMutations{audit: opts.Audit})
	}

	srv.AroundFields(codeResolverErrors)
	srv.AroundFields(readPlacedOrder)
	srv.SetErrorPresenter(presentError(logger))
	srv.SetRecoverFunc(recoverPanic)
	return srv
}

// checkoutMutations answer a storefront with the order it is checking out: the one it
// placed, or is paying (REST's POST /api/v1/orders and /payment-intent answer the same).
var checkoutMutations = map[string]bool{"placeOrder": true, "createPaymentIntent": true}

// readPlacedOrder lets whoever placed an order read all of it in the answers of
// checkoutMutations: storefront keys may not read orders, but checkout shows the shopper
// the one being placed and paid. Only fields below those mutations get the allowance;
// the orders service grants the same one for its own reads.
func readPlacedOrder(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return next(ctx)
	}
	// List elements have contexts of their own with no field: skip them.
	for parent := fc.Parent; parent != nil; parent = parent.Parent {
		if parent.Object == "Mutation" && parent.Field.Field != nil && checkoutMutations[parent.Field.Name] {
			return next(viewer.CheckoutContext(ctx))
		}
	}
	return next(ctx)
}

// PlaygroundHandler serves GraphiQL for /playground, talking to /graphql.
func PlaygroundHandler() http.Handler {
	return playground.Handler("Mercantile GraphQL", "/graphql")
}

// pagedComplexity makes every connection cost its children times its page size (first or
// last, else defaultPageSize), so the complexity limit bounds the rows a query can ask
// for. It recognises connections by their first/last arguments rather than by name, so
// connections added to the schema are costed without further code. Embedding hides the
// optional graphql.ExecutableSchemaWithEventContext, which only @subscriptionContext
// fields need; the schema has none.
type pagedComplexity struct {
	graphql.ExecutableSchema
}

// Complexity implements graphql.ExecutableSchema. The generated method it replaces only
// answers for fields given a function in Config.Complexity, and NewHandler gives none.
func (s pagedComplexity) Complexity(_ context.Context, typeName, fieldName string, childComplexity int, args map[string]any) (int, bool) {
	def := s.Schema().Types[typeName]
	if def == nil {
		return 0, false
	}
	field := def.Fields.ForName(fieldName)
	if field == nil || (field.Arguments.ForName("first") == nil && field.Arguments.ForName("last") == nil) {
		return 0, false
	}
	size := defaultPageSize
	for _, name := range []string{"first", "last"} {
		if v := args[name]; v != nil {
			if n, err := graphql.UnmarshalInt(v); err == nil {
				size = n
			}
		}
	}
	// A page of zero or fewer rows falls back to gqlgen's default cost (1 + children);
	// entgql rejects negative sizes when the query runs.
	if size <= 0 {
		return 0, false
	}
	if childComplexity > math.MaxInt/size {
		return math.MaxInt, true
	}
	return childComplexity * size, true
}

// websocketInit authenticates a websocket with the Authorization value of its
// connection_init payload: browsers cannot set headers on the upgrade request.
func websocketInit(authenticate func(context.Context, string) (context.Context, error), logger *slog.Logger) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		authorization := payload.Authorization()
		if authorization == "" {
			return rejectWebsocket(ctx, apperr.New(apperr.Unauthorized, "The connection_init payload has no Authorization."))
		}
		authenticated, err := authenticate(ctx, authorization)
		if err != nil {
			e := apperr.From(err)
			if e.Code == apperr.Internal {
				logger.ErrorContext(ctx, "graphql: authenticating websocket", "error", err, "request_id", middleware.GetReqID(ctx))
			}
			// The transport shows the error text to the client: keep the cause out of it.
			return rejectWebsocket(ctx, apperr.New(e.Code, "%s", e.Message))
		}
		return authenticated, nil, nil
	}
}

// rejectWebsocket closes a websocket whose connection_init failed the way
// graphql-transport-ws clients expect (4403 Forbidden, with the reason); legacy
// graphql-ws clients get a connection_error message carrying err's text.
func rejectWebsocket(ctx context.Context, err *apperr.Error) (context.Context, *transport.InitPayload, error) {
	ctx = transport.WithWebsocketCloseCode(ctx, websocketCloseForbidden)
	ctx = transport.AppendCloseReason(ctx, err.Message)
	return ctx, nil, err
}

// codeResolverErrors turns every error a field's resolver returns into an *apperr.Error
// (internal unless it is an application or data layer error), so that the presenter can
// tell a failing resolver from the GraphQL layer rejecting the request.
func codeResolverErrors(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if err == nil {
		return res, nil
	}
	if e := knownError(err); e != nil {
		return res, e
	}
	if gqlErr, ok := errors.AsType[*gqlerror.Error](err); ok && gqlErr.Err == nil {
		// Raised about the request by generated code, such as entgql's checks of
		// pagination arguments.
		return res, err
	}
	if strings.HasPrefix(graphql.GetFieldContext(ctx).Field.Name, "__") {
		// The only error of __schema and __type: introspection is turned off.
		return res, apperr.Wrap(err, apperr.Forbidden, "Introspection is disabled.")
	}
	return res, apperr.From(err)
}

// presentError renders err with its application code in extensions.code and, for invalid
// input, the fields at fault in extensions.errors. Internal errors are logged and shown as
// apperr's bland message.
func presentError(logger *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		appErr := classify(err, gqlErr)
		if appErr.Code == apperr.Internal {
			attrs := []any{"error", appErr, "path", gqlErr.Path.String(), "request_id", middleware.GetReqID(ctx)}
			if v, ok := viewer.FromContext(ctx); ok {
				attrs = append(attrs, "merchant_id", v.MerchantID)
			}
			logger.ErrorContext(ctx, "graphql: internal error", attrs...)
		}
		presented := &gqlerror.Error{
			Err:        err,
			Message:    appErr.Message,
			Path:       gqlErr.Path,
			Locations:  gqlErr.Locations,
			Extensions: map[string]any{"code": string(appErr.Code)},
		}
		if len(appErr.Fields) > 0 {
			presented.Extensions["errors"] = appErr.Fields
		}
		if secs := appErr.RetryAfterSeconds(); secs > 0 {
			presented.Extensions["retryAfter"] = secs
		}
		return presented
	}
}

// classify returns the application error err stands for. Resolver errors arrive as
// *apperr.Error (codeResolverErrors); the rest were raised by the GraphQL layer: data
// layer errors entgql reports itself (node look-ups), a resolver breaking the schema
// (null for a non-null field, internal), and the request's own faults (parse,
// validation, complexity, persisted query and argument errors, invalid).
func classify(err error, gqlErr *gqlerror.Error) *apperr.Error {
	if e := knownError(err); e != nil {
		return e
	}
	if _, ok := errors.AsType[*graphql.InvalidNullError](err); ok {
		return apperr.From(err)
	}
	if gqlErr.Extensions["code"] == nodeNotFoundCode {
		return apperr.Wrap(err, apperr.NotFound, "The requested object does not exist.")
	}
	return apperr.Wrap(err, apperr.Invalid, gqlErr.Message)
}

// knownError returns the application error in err's chain or the code of the data layer
// error it wraps (not found, privacy denial, constraint, validation), else nil.
func knownError(err error) *apperr.Error {
	if e, ok := errors.AsType[*apperr.Error](err); ok {
		return e
	}
	if e := apperr.From(err); e.Code != apperr.Internal {
		return e
	}
	return nil
}

// recoverPanic turns a panic in a resolver into an internal error; the presenter logs it
// with the stack.
func recoverPanic(_ context.Context, p any) error {
	return apperr.From(fmt.Errorf("panic: %v\n%s", p, debug.Stack()))
}
