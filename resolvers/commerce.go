package resolvers

import (
	"context"

	"github.com/mercantile/mercantile/internal/postal"
)

// ref adapts a service returning a value to a resolver returning a pointer.
func ref[T any](v T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// deref reads an optional GraphQL string; absent is empty, as in REST.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// addressOf returns a, or nil when no address was given.
func addressOf(a postal.Address) *postal.Address {
	if a == (postal.Address{}) {
		return nil
	}
	return &a
}

// stream adapts a service's channel of values to the channel of pointers a gqlgen
// subscription reads, until the service closes its channel or ctx (the subscription)
// ends.
func stream[T any](ctx context.Context) func(<-chan T, error) (<-chan *T, error) {
	return func(in <-chan T, err error) (<-chan *T, error) {
		if err != nil {
			return nil, err
		}
		out := make(chan *T)
		go func() {
			defer close(out)
			for v := range in {
				select {
				case out <- &v:
				case <-ctx.Done():
					return
				}
			}
		}()
		return out, nil
	}
}
