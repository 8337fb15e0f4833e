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
)

// Resolver is the root of every resolver; it holds what they share.
type Resolver struct {
	client  *ent.Client
	catalog *catalog.Service
}

// New returns the resolver root over client and the catalog. Queries run as the viewer in
// the request context, so client must be the ordinary privacy-enforcing client. Serve
// the schema through WithLoaders, which batches the look-ups of list fields.
func New(client *ent.Client, catalog *catalog.Service) *Resolver {
	return &Resolver{client: client, catalog: catalog}
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
