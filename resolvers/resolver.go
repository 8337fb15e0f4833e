// Package resolvers implements the GraphQL schema of package graph. Each resolver is one
// expression over the ent client or a domain service: tenant scoping is left to ent's
// privacy rules and business rules to internal/* services, never done here.
package resolvers

import (
	"context"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/graph"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/orders"
)

// Services are the domain services resolvers call; REST calls the same ones.
type Services struct {
	Catalog   *catalog.Service
	Inventory *inventory.Service
	Orders    *orders.Service
}

// Resolver is the root of every resolver; it holds what they share.
type Resolver struct {
	client    *ent.Client
	catalog   *catalog.Service
	inventory *inventory.Service
	orders    *orders.Service
}

// New returns the resolver root over client and the services. Queries run as the viewer
// in the request context, so client must be the ordinary privacy-enforcing client. Serve
// the schema through WithLoaders, which batches the look-ups of list fields.
func New(client *ent.Client, svc Services) *Resolver {
	return &Resolver{client: client, catalog: svc.Catalog, inventory: svc.Inventory, orders: svc.Orders}
}

var _ graph.ResolverRoot = (*Resolver)(nil)

// currentViewer returns the viewer the authentication middleware put in ctx. Without one
// the request never authenticated: unauthorized.
func currentViewer(ctx context.Context) (*viewer.Viewer, error) {
	v, ok := viewer.FromContext(ctx)
	if !ok {
		return nil, apperr.New(apperr.Unauthorized, "The request has no valid credentials.")
	}
	return &v, nil
}

// roleOf returns the viewer's staff role, or nil for API keys, which have none.
func roleOf(v *viewer.Viewer) *string {
	if v.Role == "" {
		return nil
	}
	role := string(v.Role)
	return &role
}
