// Package kvtest gives tests the Redis they share: TEST_REDIS_URL, or the local server.
package kvtest

import (
	"context"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

// URL is the test Redis: TEST_REDIS_URL, or database 0 of the local server.
func URL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// Redis returns a client of the test Redis, closed when tb ends; tb fails if it is
// unreachable.
func Redis(tb testing.TB) *redis.Client {
	tb.Helper()
	opts, err := redis.ParseURL(URL())
	if err != nil {
		tb.Fatal(err)
	}
	client := redis.NewClient(opts)
	tb.Cleanup(func() { _ = client.Close() })
	if err := client.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("redis at %s is required: %v", URL(), err)
	}
	return client
}
