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

func TestParseMedia(t *testing.T) {
	t.Run("defaults keep images on local disk", func(t *testing.T) {
		c, err := parse(lookupFrom(nil))
		if err != nil {
			t.Fatal(err)
		}
		if c.S3Bucket != "" || c.S3Region != "us-east-1" || c.S3UsePathStyle || c.MediaDir != "var/media" ||
			c.MediaSigningKey != nil || c.MaxImageBytes != 20<<20 {
			t.Fatalf("unexpected media defaults: %+v", c)
		}
	})
	t.Run("an endpoint implies path style", func(t *testing.T) {
		c, err := parse(lookupFrom(map[string]string{"S3_BUCKET": "media", "S3_ENDPOINT": "http://minio:9000/"}))
		if err != nil {
			t.Fatal(err)
		}
		if c.S3Endpoint != "http://minio:9000" || !c.S3UsePathStyle {
			t.Fatalf("endpoint %q, path style %v", c.S3Endpoint, c.S3UsePathStyle)
		}
		c, err = parse(lookupFrom(map[string]string{"S3_ENDPOINT": "https://r2.example", "S3_USE_PATH_STYLE": "false"}))
		if err != nil || c.S3UsePathStyle {
			t.Fatalf("S3_USE_PATH_STYLE=false ignored: %v, %+v", err, c)
		}
	})
	t.Run("signing key in hex or base64", func(t *testing.T) {
		want := []byte(strings.Repeat("k", 32))
		for _, v := range []string{
			strings.Repeat("6b", 32),
			"a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
			"a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s",
		} {
			c, err := parse(lookupFrom(map[string]string{"MEDIA_SIGNING_KEY": v}))
			if err != nil {
				t.Fatal(err)
			}
			if string(c.MediaSigningKey) != string(want) {
				t.Errorf("MEDIA_SIGNING_KEY=%s decoded to %q", v, c.MediaSigningKey)
			}
		}
	})
	t.Run("bad values are reported without the secret", func(t *testing.T) {
		_, err := parse(lookupFrom(map[string]string{
			"MEDIA_SIGNING_KEY": "not a key!", "S3_ENDPOINT": "minio:9000",
			"S3_PUBLIC_BASE_URL": "/cdn", "MAX_IMAGE_BYTES": "0", "S3_USE_PATH_STYLE": "maybe",
		}))
		if err == nil {
			t.Fatal("want an error")
		}
		for _, name := range []string{"MEDIA_SIGNING_KEY", "S3_ENDPOINT", "S3_PUBLIC_BASE_URL", "MAX_IMAGE_BYTES", "S3_USE_PATH_STYLE"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name %s", err, name)
			}
		}
		if strings.Contains(err.Error(), "not a key!") {
			t.Errorf("error %q shows the secret", err)
		}
		_, err = parse(lookupFrom(map[string]string{"MEDIA_SIGNING_KEY": "6b6b6b6b"}))
		if err == nil || !strings.Contains(err.Error(), "at least 32 bytes") {
			t.Errorf("a 4-byte key gave %v", err)
		}
	})
}

func TestParseStripe(t *testing.T) {
	c, err := parse(lookupFrom(nil))
	if err != nil || c.StripeSecretKey != "" || c.StripeAPIURL != DefaultStripeAPIURL {
		t.Fatalf("Stripe defaults: %+v, %v", c, err)
	}
	c, err = parse(lookupFrom(map[string]string{
		"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": "whsec_abc", "STRIPE_API_URL": "http://127.0.0.1:12111/",
	}))
	if err != nil || c.StripeSecretKey != "sk_test_123" || c.StripeWebhookSecret != "whsec_abc" || c.StripeAPIURL != "http://127.0.0.1:12111" {
		t.Fatalf("Stripe settings: %+v, %v", c, err)
	}
	for name, env := range map[string]map[string]string{
		"STRIPE_SECRET_KEY":     {"STRIPE_SECRET_KEY": "pk_test_123", "STRIPE_WEBHOOK_SECRET": "whsec_abc"},
		"STRIPE_WEBHOOK_SECRET": {"STRIPE_SECRET_KEY": "sk_test_123"},
		"STRIPE_API_URL":        {"STRIPE_API_URL": "localhost:12111"},
	} {
		_, err := parse(lookupFrom(env))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%v gave %v, want an error naming %s", env, err, name)
		}
		if err != nil && strings.Contains(err.Error(), "pk_test_123") {
			t.Errorf("error %q shows the key", err)
		}
	}
	_, err = parse(lookupFrom(map[string]string{"STRIPE_WEBHOOK_SECRET": "secret"}))
	if err == nil || !strings.Contains(err.Error(), "whsec_") {
		t.Errorf("a webhook secret without whsec_ gave %v", err)
	}
}

func TestParseRateLimits(t *testing.T) {
	t.Run("OK defaults are on and generous", func(t *testing.T) {
		c, err := parse(lookupFrom(nil))
		if err != nil {
			t.Fatal(err)
		}
		if !c.RateLimitEnabled || c.RateLimitRPS != 100 || c.RateLimitBurst != 200 || c.RateLimitIPRPS != 20 || c.RateLimitIPBurst != 100 ||
			c.RateLimitGraphQLPPS != 10000 || c.RateLimitGraphQLBurst != 2*c.GraphQLComplexityLimit || c.TrustedProxies != nil {
			t.Fatalf("rate limit defaults: %+v", c)
		}
	})
	t.Run("OK bursts follow their rates unless set", func(t *testing.T) {
		c, err := parse(lookupFrom(map[string]string{"RATE_LIMIT_RPS": "7", "RATE_LIMIT_IP_RPS": "3", "GRAPHQL_COMPLEXITY_LIMIT": "500"}))
		if err != nil {
			t.Fatal(err)
		}
		if c.RateLimitBurst != 14 || c.RateLimitIPBurst != 15 || c.RateLimitGraphQLBurst != 1000 {
			t.Fatalf("derived bursts: %d %d %d", c.RateLimitBurst, c.RateLimitIPBurst, c.RateLimitGraphQLBurst)
		}
		c, err = parse(lookupFrom(map[string]string{"RATE_LIMIT_RPS": "7", "RATE_LIMIT_BURST": "9"}))
		if err != nil || c.RateLimitBurst != 9 {
			t.Fatalf("RATE_LIMIT_BURST=9: %d, %v", c.RateLimitBurst, err)
		}
	})
	t.Run("OK off by RATE_LIMIT_ENABLED or RATE_LIMIT_RPS=0", func(t *testing.T) {
		for _, env := range []map[string]string{{"RATE_LIMIT_ENABLED": "false"}, {"RATE_LIMIT_RPS": "0"}} {
			c, err := parse(lookupFrom(env))
			if err != nil || c.RateLimitEnabled {
				t.Errorf("%v: enabled %v, %v", env, c.RateLimitEnabled, err)
			}
		}
		// Limits that are off are not checked.
		if _, err := parse(lookupFrom(map[string]string{"RATE_LIMIT_ENABLED": "false", "RATE_LIMIT_GRAPHQL_BURST": "1"})); err != nil {
			t.Errorf("a disabled limit was validated: %v", err)
		}
	})
	t.Run("OK trusted proxies", func(t *testing.T) {
		c, err := parse(lookupFrom(map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7 ,fd00::/8"}))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"10.0.0.0/8", "192.168.1.7/32", "fd00::/8"}
		if len(c.TrustedProxies) != len(want) {
			t.Fatalf("TRUSTED_PROXIES parsed to %v", c.TrustedProxies)
		}
		for i, p := range c.TrustedProxies {
			if p.String() != want[i] {
				t.Errorf("prefix %d = %s, want %s", i, p, want[i])
			}
		}
	})
	t.Run("ErrInvalid every bad value is named", func(t *testing.T) {
		_, err := parse(lookupFrom(map[string]string{
			"RATE_LIMIT_BURST": "0", "RATE_LIMIT_IP_RPS": "-1", "RATE_LIMIT_IP_BURST": "x",
			"RATE_LIMIT_GRAPHQL_PPS": "0", "RATE_LIMIT_ENABLED": "sometimes", "TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal",
		}))
		if err == nil {
			t.Fatal("want an error")
		}
		for _, name := range []string{"RATE_LIMIT_BURST", "RATE_LIMIT_IP_RPS", "RATE_LIMIT_IP_BURST", "RATE_LIMIT_GRAPHQL_PPS", "RATE_LIMIT_ENABLED", "TRUSTED_PROXIES"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name %s", err, name)
			}
		}
		if _, err := parse(lookupFrom(map[string]string{"RATE_LIMIT_RPS": "-5"})); err == nil || !strings.Contains(err.Error(), "RATE_LIMIT_RPS") {
			t.Errorf("RATE_LIMIT_RPS=-5 gave %v", err)
		}
	})
	t.Run("ErrInvalid GraphQL burst below the complexity limit", func(t *testing.T) {
		_, err := parse(lookupFrom(map[string]string{"GRAPHQL_COMPLEXITY_LIMIT": "5000", "RATE_LIMIT_GRAPHQL_BURST": "4999"}))
		if err == nil || !strings.Contains(err.Error(), "RATE_LIMIT_GRAPHQL_BURST") || !strings.Contains(err.Error(), "5000") {
			t.Fatalf("a burst below the complexity limit gave %v", err)
		}
		if _, err := parse(lookupFrom(map[string]string{"GRAPHQL_COMPLEXITY_LIMIT": "5000", "RATE_LIMIT_GRAPHQL_BURST": "5000"})); err != nil {
			t.Fatalf("a burst equal to the complexity limit: %v", err)
		}
	})
}
