// Package config reads Mercantile's whole configuration from the environment into one
// typed struct, with defaults that make the embedded mode work with no configuration at
// all. Every variable is documented in README.md; keep the two in step.
package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultDatabaseURL is the embedded default: a SQLite file under ./var.
const DefaultDatabaseURL = "sqlite:var/mercantile.db"

// DefaultSendGridAPIURL is SendGrid's API.
const DefaultSendGridAPIURL = "https://api.sendgrid.com"

// EmailKinds are the transactional emails; SENDGRID_TEMPLATE_<KIND> (upper case) names
// the dynamic template of each.
var EmailKinds = []string{"order_confirmation", "payment_failed", "shipment_sent", "order_cancelled", "refund_issued"}

// DefaultStripeAPIURL is Stripe's API.
const DefaultStripeAPIURL = "https://api.stripe.com"

// Config is the process configuration.
type Config struct {
	// HTTPAddr is where the API listens.
	HTTPAddr string
	// MetricsAddr, when set, serves /metrics and the /debug/pprof/ profiles on a separate,
	// private listener instead of serving /metrics on HTTPAddr.
	MetricsAddr string
	// PublicBaseURL is how clients reach this server; it prefixes URLs the server hands
	// out (upload URLs on the embedded default, the printed demo links).
	PublicBaseURL string
	// DatabaseURL is postgres://... or sqlite:PATH.
	DatabaseURL string
	// RedisURL is redis://...; empty keeps sessions, cache and rate limits in process.
	RedisURL string

	LogFormat string // "text" or "json"
	LogLevel  string // "debug", "info", "warn", "error"

	CORSAllowedOrigins []string
	MaxBodyBytes       int64
	MaxImportBytes     int64
	RequestTimeout     time.Duration
	// TransferTimeout replaces RequestTimeout on routes that move whole files: import
	// uploads (up to MAX_IMPORT_BYTES), image uploads and streamed CSV exports.
	TransferTimeout time.Duration
	ShutdownTimeout time.Duration
	// ShutdownDrainDelay is how long /readyz answers 503 before the listener stops
	// accepting, so load balancers stop sending traffic first.
	ShutdownDrainDelay time.Duration

	SessionTTL    time.Duration
	SecureCookies bool

	GraphQLIntrospection   bool
	GraphQLComplexityLimit int

	// RateLimitEnabled turns the per-credential and per-IP rate limits on (README: rate
	// limits). RATE_LIMIT_ENABLED=false or RATE_LIMIT_RPS=0 turns them off.
	RateLimitEnabled bool
	// RateLimitRPS and RateLimitBurst limit REST requests per credential: a secret key, a
	// staff user, or a publishable key from one client IP.
	RateLimitRPS   int
	RateLimitBurst int
	// RateLimitIPRPS and RateLimitIPBurst limit requests without credentials per client IP.
	RateLimitIPRPS   int
	RateLimitIPBurst int
	// RateLimitGraphQLPPS and RateLimitGraphQLBurst limit GraphQL per credential in points
	// of query cost (the complexity GRAPHQL_COMPLEXITY_LIMIT caps). The burst is at least
	// GraphQLComplexityLimit, so that any query the server accepts can run.
	RateLimitGraphQLPPS   int
	RateLimitGraphQLBurst int
	// TrustedProxies are the load balancers and proxies whose X-Forwarded-For is believed
	// when finding a request's client IP. Empty: the client is the TCP peer.
	TrustedProxies []netip.Prefix

	// DemoMerchant creates a demo merchant on the first start (embedded default).
	DemoMerchant bool
	// ReservationTTL is how long an unpaid order holds its stock before it is cancelled.
	ReservationTTL time.Duration
	// AutoMigrate applies migrations when serve starts. It is on only for the embedded
	// default: production runs `mercantile migrate` as its own step before a rollout.
	AutoMigrate bool

	// SendGridAPIKey sends transactional email through SendGrid; empty writes each
	// email to the log instead (the outbox keeps it either way).
	SendGridAPIKey string
	// SendGridAPIURL is SendGrid's API base URL; tests and staging point it at a local peer.
	SendGridAPIURL string
	// EmailFrom is the sender address of transactional email, required with
	// SendGridAPIKey; EmailFromName its optional display name.
	EmailFrom     string
	EmailFromName string
	// SendGridTemplates maps an email kind (EmailKinds) to the SendGrid dynamic template
	// (d-...) that renders it instead of the built-in templates.
	SendGridTemplates map[string]string

	// S3Bucket selects S3 for uploaded images; empty keeps them in MediaDir, served by
	// this process.
	S3Bucket string
	// S3Endpoint is an S3-compatible service's base URL (MinIO, R2, ...); empty is AWS.
	S3Endpoint string
	S3Region   string
	// S3PublicBaseURL is where clients read objects (a CDN); empty reads from the bucket.
	S3PublicBaseURL string
	// S3UsePathStyle addresses ENDPOINT/BUCKET rather than BUCKET.ENDPOINT, which most
	// S3-compatible services need; it defaults to true when S3Endpoint is set.
	S3UsePathStyle bool
	// MediaDir is where the local store keeps images when there is no bucket.
	MediaDir string
	// ImportDir keeps uploaded import files when there is no bucket (with S3_BUCKET they
	// go to the bucket under imports/). Every replica must reach it: a shared volume.
	ImportDir string
	// MediaSigningKey signs the local store's upload URLs. Empty means a key generated on
	// the first start and kept in MediaDir; set it when several processes share MediaDir
	// or when that directory is not persistent.
	MediaSigningKey []byte
	MaxImageBytes   int64

	// StripeSecretKey turns Stripe payments on: placing an order creates a PaymentIntent.
	// Empty keeps payments manual.
	StripeSecretKey string
	// StripeWebhookSecret verifies POST /webhooks/stripe (whsec_...); required with
	// StripeSecretKey, since without events no Stripe order would ever be paid.
	StripeWebhookSecret string
	// StripeAPIURL is Stripe's API base URL; stripe-mock's in tests and load runs.
	StripeAPIURL string

	// ShopifyAPISecret is the Shopify app's client secret: it verifies
	// POST /webhooks/shopify. Empty refuses every Shopify webhook.
	ShopifyAPISecret string
	// ShopifyAPISecretPrevious is the secret before a rotation, accepted as well, since
	// Shopify keeps signing with the old secret for up to an hour.
	ShopifyAPISecretPrevious string
	// ShopifyAPIURL replaces https://{shop domain} as the Admin API's base URL, so tests
	// and staging point stock pushes at a local peer. Empty uses each shop's domain.
	ShopifyAPIURL string
}

// Embedded reports whether the process runs without external services.
func (c Config) Embedded() bool {
	return strings.HasPrefix(c.DatabaseURL, "sqlite:") || strings.HasPrefix(c.DatabaseURL, "file:")
}

// FromEnv reads the configuration from the environment. Every invalid variable is
// reported in the one error, so a misconfigured deploy shows all its mistakes at once.
func FromEnv() (Config, error) {
	return parse(os.LookupEnv)
}

func parse(lookup func(string) (string, bool)) (Config, error) {
	e := reader{lookup: lookup}
	c := Config{
		HTTPAddr:                 e.str("HTTP_ADDR", ":8080"),
		MetricsAddr:              e.str("METRICS_ADDR", ""),
		DatabaseURL:              e.str("DATABASE_URL", DefaultDatabaseURL),
		RedisURL:                 e.str("REDIS_URL", ""),
		LogLevel:                 e.oneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		CORSAllowedOrigins:       e.list("CORS_ALLOWED_ORIGINS"),
		MaxBodyBytes:             e.bytes("MAX_BODY_BYTES", 1<<20),
		MaxImportBytes:           e.bytes("MAX_IMPORT_BYTES", 1<<30),
		RequestTimeout:           e.duration("REQUEST_TIMEOUT", 30*time.Second),
		TransferTimeout:          e.duration("TRANSFER_TIMEOUT", 30*time.Minute),
		ShutdownTimeout:          e.duration("SHUTDOWN_TIMEOUT", 25*time.Second),
		ShutdownDrainDelay:       e.duration("SHUTDOWN_DRAIN_DELAY", 0),
		SessionTTL:               e.duration("SESSION_TTL", 12*time.Hour),
		ReservationTTL:           e.duration("RESERVATION_TTL", 30*time.Minute),
		GraphQLIntrospection:     e.boolean("GRAPHQL_INTROSPECTION", true),
		GraphQLComplexityLimit:   e.integer("GRAPHQL_COMPLEXITY_LIMIT", 20000),
		S3Bucket:                 e.str("S3_BUCKET", ""),
		S3Endpoint:               strings.TrimRight(e.str("S3_ENDPOINT", ""), "/"),
		S3Region:                 e.str("S3_REGION", "us-east-1"),
		S3PublicBaseURL:          strings.TrimRight(e.str("S3_PUBLIC_BASE_URL", ""), "/"),
		MediaDir:                 e.str("MEDIA_DIR", "var/media"),
		ImportDir:                e.str("IMPORT_DIR", "var/imports"),
		MediaSigningKey:          e.secretKey("MEDIA_SIGNING_KEY", minSigningKeyBytes),
		MaxImageBytes:            e.bytes("MAX_IMAGE_BYTES", 20<<20),
		SendGridAPIKey:           e.str("SENDGRID_API_KEY", ""),
		SendGridAPIURL:           strings.TrimRight(e.str("SENDGRID_API_URL", DefaultSendGridAPIURL), "/"),
		EmailFrom:                e.str("EMAIL_FROM", ""),
		EmailFromName:            e.str("EMAIL_FROM_NAME", ""),
		SendGridTemplates:        e.sendGridTemplates(),
		StripeSecretKey:          e.str("STRIPE_SECRET_KEY", ""),
		StripeWebhookSecret:      e.str("STRIPE_WEBHOOK_SECRET", ""),
		StripeAPIURL:             strings.TrimRight(e.str("STRIPE_API_URL", DefaultStripeAPIURL), "/"),
		ShopifyAPISecret:         e.str("SHOPIFY_API_SECRET", ""),
		ShopifyAPISecretPrevious: e.str("SHOPIFY_API_SECRET_PREVIOUS", ""),
		ShopifyAPIURL:            strings.TrimRight(e.str("SHOPIFY_API_URL", ""), "/"),
	}
	embedded := c.Embedded()
	c.LogFormat = e.oneOf("LOG_FORMAT", map[bool]string{true: "text", false: "json"}[embedded], "text", "json")
	c.SecureCookies = e.boolean("SECURE_COOKIES", !embedded)
	c.DemoMerchant = e.boolean("DEMO_MERCHANT", embedded)
	c.AutoMigrate = e.boolean("AUTO_MIGRATE", embedded)
	c.PublicBaseURL = strings.TrimRight(e.str("PUBLIC_BASE_URL", defaultBaseURL(c.HTTPAddr)), "/")
	c.S3UsePathStyle = e.boolean("S3_USE_PATH_STYLE", c.S3Endpoint != "")
	c.RateLimitRPS = e.integer("RATE_LIMIT_RPS", 100)
	c.RateLimitBurst = e.integer("RATE_LIMIT_BURST", 2*c.RateLimitRPS)
	c.RateLimitIPRPS = e.integer("RATE_LIMIT_IP_RPS", 20)
	c.RateLimitIPBurst = e.integer("RATE_LIMIT_IP_BURST", 5*c.RateLimitIPRPS)
	c.RateLimitGraphQLPPS = e.integer("RATE_LIMIT_GRAPHQL_PPS", 10000)
	c.RateLimitGraphQLBurst = e.integer("RATE_LIMIT_GRAPHQL_BURST", 2*c.GraphQLComplexityLimit)
	c.RateLimitEnabled = e.boolean("RATE_LIMIT_ENABLED", true) && c.RateLimitRPS != 0
	c.TrustedProxies = e.prefixes("TRUSTED_PROXIES")

	switch {
	case c.DatabaseURL == "":
		e.fail("DATABASE_URL", "must not be empty")
	case !embedded && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://"):
		e.fail("DATABASE_URL", "must start with postgres://, postgresql:// or sqlite:")
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		e.fail("REDIS_URL", "must start with redis:// or rediss://")
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		e.fail("HTTP_ADDR", "must be host:port or :port")
	}
	if c.GraphQLComplexityLimit <= 0 {
		e.fail("GRAPHQL_COMPLEXITY_LIMIT", "must be positive")
	}
	if c.RateLimitRPS < 0 {
		e.fail("RATE_LIMIT_RPS", "must be positive, or 0 to turn rate limits off")
	}
	if c.RateLimitEnabled {
		for _, v := range []struct {
			name  string
			value int
		}{
			{"RATE_LIMIT_BURST", c.RateLimitBurst},
			{"RATE_LIMIT_IP_RPS", c.RateLimitIPRPS}, {"RATE_LIMIT_IP_BURST", c.RateLimitIPBurst},
			{"RATE_LIMIT_GRAPHQL_PPS", c.RateLimitGraphQLPPS},
		} {
			if v.value <= 0 {
				e.fail(v.name, "must be positive (RATE_LIMIT_ENABLED=false turns rate limits off)")
			}
		}
		if c.RateLimitGraphQLBurst < c.GraphQLComplexityLimit {
			e.fail("RATE_LIMIT_GRAPHQL_BURST", "must be at least GRAPHQL_COMPLEXITY_LIMIT (%d), or the costliest queries allowed could never run", c.GraphQLComplexityLimit)
		}
	}
	e.httpURL("S3_ENDPOINT", c.S3Endpoint)
	e.httpURL("S3_PUBLIC_BASE_URL", c.S3PublicBaseURL)
	e.httpURL("SENDGRID_API_URL", c.SendGridAPIURL)
	if addr, err := mail.ParseAddress(c.EmailFrom); c.EmailFrom != "" && (err != nil || addr.Address != c.EmailFrom) {
		e.fail("EMAIL_FROM", "must be a bare email address such as orders@example.com (the name goes in EMAIL_FROM_NAME), got %q", c.EmailFrom)
	}
	if c.SendGridAPIKey != "" && c.EmailFrom == "" {
		e.fail("EMAIL_FROM", "is required with SENDGRID_API_KEY")
	}
	e.httpURL("STRIPE_API_URL", c.StripeAPIURL)
	e.httpURL("SHOPIFY_API_URL", c.ShopifyAPIURL)
	// Problems name the variable, never the secret's value.
	if c.StripeSecretKey != "" && !strings.HasPrefix(c.StripeSecretKey, "sk_") && !strings.HasPrefix(c.StripeSecretKey, "rk_") {
		e.fail("STRIPE_SECRET_KEY", "must be a Stripe secret key (sk_... or a restricted rk_...)")
	}
	switch {
	case c.StripeWebhookSecret != "" && !strings.HasPrefix(c.StripeWebhookSecret, "whsec_"):
		e.fail("STRIPE_WEBHOOK_SECRET", "must be a webhook endpoint's signing secret (whsec_...)")
	case c.StripeSecretKey != "" && c.StripeWebhookSecret == "":
		e.fail("STRIPE_WEBHOOK_SECRET", "is required with STRIPE_SECRET_KEY: Stripe's events are what mark orders paid")
	}
	return c, e.err()
}

// minSigningKeyBytes is SHA-256's output size: a shorter HMAC key weakens the signature.
const minSigningKeyBytes = 32

func defaultBaseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://localhost:8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// reader reads typed variables and collects every problem.
type reader struct {
	lookup   func(string) (string, bool)
	problems []string
}

func (r *reader) fail(name, format string, args ...any) {
	r.problems = append(r.problems, name+" "+fmt.Sprintf(format, args...))
}

func (r *reader) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return errors.New("config: " + strings.Join(r.problems, "; "))
}

func (r *reader) raw(name string) (string, bool) {
	v, ok := r.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (r *reader) str(name, def string) string {
	if v, ok := r.raw(name); ok {
		return v
	}
	return def
}

func (r *reader) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(r.str(name, def))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, "must be one of %s, got %q", strings.Join(allowed, ", "), v)
	return def
}

func (r *reader) list(name string) []string {
	v, ok := r.raw(name)
	if !ok {
		return nil
	}
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func (r *reader) integer(name string, def int) int {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(name, "must be an integer, got %q", v)
		return def
	}
	return n
}

func (r *reader) bytes(name string, def int64) int64 {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		r.fail(name, "must be a positive number of bytes, got %q", v)
		return def
	}
	return n
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		r.fail(name, "must be a duration like 30s or 5m, got %q", v)
		return def
	}
	return d
}

func (r *reader) boolean(name string, def bool) bool {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, "must be true or false, got %q", v)
		return def
	}
	return b
}

// sendGridTemplates reads SENDGRID_TEMPLATE_<KIND> for each email kind. SendGrid's
// dynamic template ids start with "d-"; a legacy template would silently ignore
// dynamic_template_data.
func (r *reader) sendGridTemplates() map[string]string {
	out := map[string]string{}
	for _, kind := range EmailKinds {
		name := "SENDGRID_TEMPLATE_" + strings.ToUpper(kind)
		if v, ok := r.raw(name); ok {
			if !strings.HasPrefix(v, "d-") {
				r.fail(name, "must be a SendGrid dynamic template id (d-...), got %q", v)
				continue
			}
			out[kind] = v
		}
	}
	return out
}

// prefixes reads a comma-separated list of CIDR prefixes or bare addresses (a bare
// address is a prefix of its full length).
func (r *reader) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, item := range r.list(name) {
		p, err := netip.ParsePrefix(item)
		if err != nil {
			addr, aerr := netip.ParseAddr(item)
			if aerr != nil {
				r.fail(name, "must be a comma-separated list of IP addresses or CIDR prefixes (10.0.0.0/8), got %q", item)
				continue
			}
			p = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

// httpURL checks that value, when set, is an absolute http(s) URL.
func (r *reader) httpURL(name, value string) {
	if value == "" {
		return
	}
	if u, err := url.Parse(value); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.fail(name, "must be an absolute http:// or https:// URL, got %q", value)
	}
}

// secretKey reads a key given as hex or base64 (standard or URL alphabet, padded or
// not), trying hex first since a hex string is also valid base64. Problems never quote
// the value: it is a secret.
func (r *reader) secretKey(name string, minLen int) []byte {
	v, ok := r.raw(name)
	if !ok {
		return nil
	}
	key, err := hex.DecodeString(v)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if err == nil {
			break
		}
		key, err = enc.DecodeString(v)
	}
	switch {
	case err != nil:
		r.fail(name, "must be hex or base64")
	case len(key) < minLen:
		r.fail(name, "must hold at least %d bytes, got %d (try: openssl rand -hex %d)", minLen, len(key), minLen)
	default:
		return key
	}
	return nil
}
