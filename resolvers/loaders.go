package resolvers

import (
	"context"
	"net/http"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/mercantile/mercantile/internal/pulid"
)

// loaderWait is how long a loader collects keys before it queries. gqlgen resolves the
// elements of a list concurrently, so every variant of a response asks within this window.
const loaderWait = 5 * time.Millisecond

// loaders batch the look-ups that list fields would otherwise make once per row.
type loaders struct {
	available *dataloadgen.Loader[pulid.ID, int64]
}

type loadersKey struct{}

func (r *Resolver) newLoaders() *loaders {
	// Without a cache: a websocket keeps one request context for all its subscription
	// events, and a cached availability would go stale between them. Batching alone is
	// what removes the N+1.
	return &loaders{
		available: dataloadgen.NewMappedLoader(r.catalog.Availability,
			dataloadgen.WithWait(loaderWait), dataloadgen.WithoutCache()),
	}
}

// WithLoaders gives each request its own loaders. They must not be shared between
// requests: a loader queries in the context, and so as the viewer, of the first look-up
// of its batch.
func (r *Resolver) WithLoaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx := context.WithValue(req.Context(), loadersKey{}, r.newLoaders())
		next.ServeHTTP(w, req.WithContext(ctx))
	})
}

// loadersFrom returns the request's loaders; a handler not wrapped by WithLoaders gets
// fresh ones, which are correct but batch nothing.
func (r *Resolver) loadersFrom(ctx context.Context) *loaders {
	if l, ok := ctx.Value(loadersKey{}).(*loaders); ok {
		return l
	}
	return r.newLoaders()
}
