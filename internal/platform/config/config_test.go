package config

import (
	"strings"
	"testing"
	"time"
)

func lookupFrom(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestParseDefaultsAreEmbedded(t *testing.T) {
	c, err := parse(lookupFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Embedded() || c.DatabaseURL != DefaultDatabaseURL || c.RedisURL != "" {
		t.Fatalf("defaults are not the embedded mode: %+v", c)
	}
	if c.HTTPAddr != ":8080" || c.PublicBaseURL != "http://localhost:8080" || !c.DemoMerchant || c.SecureCookies {
		t.Fatalf("unexpected embedded defaults: %+v", c)
	}
	if c.MaxBodyBytes != 1<<20 || c.ShutdownTimeout != 25*time.Second || c.LogFormat != "text" {
		t.Fatalf("unexpected limits: %+v", c)
	}
}

func TestParseProduction(t *testing.T) {
	c, err := parse(lookupFrom(map[string]string{
		"DATABASE_URL": "postgres://db/mercantile", "REDIS_URL": "redis://cache:6379/0",
		"HTTP_ADDR": "127.0.0.1:9000", "CORS_ALLOWED_ORIGINS": "https://a.example, https://b.example",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Embedded() || c.DemoMerchant || !c.SecureCookies || c.LogFormat != "json" {
		t.Fatalf("production defaults not applied: %+v", c)
	}
	if c.PublicBaseURL != "http://127.0.0.1:9000" || len(c.CORSAllowedOrigins) != 2 {
		t.Fatalf("unexpected: %+v", c)
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := parse(lookupFrom(map[string]string{
		"DATABASE_URL": "mysql://x", "SHUTDOWN_TIMEOUT": "soon", "MAX_BODY_BYTES": "-1",
		"LOG_FORMAT": "xml", "REDIS_URL": "localhost:6379",
	}))
	if err == nil {
		t.Fatal("want an error")
	}
	for _, name := range []string{"DATABASE_URL", "SHUTDOWN_TIMEOUT", "MAX_BODY_BYTES", "LOG_FORMAT", "REDIS_URL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error should be one line: %q", err)
	}
}
