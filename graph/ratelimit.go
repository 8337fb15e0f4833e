package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/mercantile/mercantile/internal/platform/ratelimit"
)

// An operation is charged its cost to the rate limit budget of whoever sends it: the
// ratelimit.Charge the transport put in the request's context (rest: chargeGraphQL) knows
// who that is and decides. Without one, nothing is charged. A refusal fails the operation
// before it runs, with the charge's rate_limited error (extensions.code and retryAfter,
// in seconds, from presentError).
//
// The cost is the complexity the complexity limit computes (a connection multiplies by its
// page size), at least one: one point is charged before parsing (chargeRequest) and the
// rest once validated (chargeCost), so a client cannot flood the server with documents
// that never get as far as being costed.

// complexityStats is the name the complexity limit files its figures under.
var complexityStats = extension.ComplexityLimit{}.ExtensionName()

// chargeRequest charges each operation one point before it is parsed.
type chargeRequest struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = chargeRequest{}

func (chargeRequest) ExtensionName() string                   { return "RateLimitRequest" }
func (chargeRequest) Validate(graphql.ExecutableSchema) error { return nil }

func (chargeRequest) MutateOperationParameters(ctx context.Context, _ *graphql.RawParams) *gqlerror.Error {
	return charge(ctx, 1)
}

// chargeCost charges the rest of a validated operation's complexity. It must be used
// after the complexity limit, which computes it.
type chargeCost struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = chargeCost{}

func (chargeCost) ExtensionName() string                   { return "RateLimitCost" }
func (chargeCost) Validate(graphql.ExecutableSchema) error { return nil }

func (chargeCost) MutateOperationContext(ctx context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	stats, _ := opCtx.Stats.GetExtension(complexityStats).(*extension.ComplexityStats)
	if stats == nil || stats.Complexity <= 1 {
		return nil
	}
	return charge(ctx, stats.Complexity-1)
}

func charge(ctx context.Context, cost int) *gqlerror.Error {
	spend := ratelimit.ChargeFromContext(ctx)
	if spend == nil {
		return nil
	}
	if err := spend(ctx, cost); err != nil {
		return &gqlerror.Error{Err: err, Message: err.Error()}
	}
	return nil
}
