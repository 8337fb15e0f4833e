// Package shopify connects a merchant's Shopify shop: it verifies and records Shopify's
// webhooks, applies them in River jobs (products, orders, inventory levels, app
// uninstall), and pushes our stock changes to Shopify's Admin API. It changes stock only
// through internal/inventory, and never pushes back a change that came from Shopify.
//
// Shopify delivers at least once and in any order: every webhook is recorded once per
// X-Shopify-Webhook-Id (WebhookEvent), and payloads older than what was applied
// (updated_at) are ignored. Ids above 2^53 are read as int64, never through a float.
package shopify

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/platform/database"
)

// Defaults for Config's zero values.
const (
	// DefaultPushDelay gathers a burst of stock changes of one level into one push.
	DefaultPushDelay = 2 * time.Second
	// DefaultRetryBackoff is the first retry delay of a failed push; it doubles.
	DefaultRetryBackoff = 5 * time.Second
	// APIVersion is the Admin API version stock is pushed with.
	APIVersion = "2024-10"
)

const (
	httpTimeout   = 10 * time.Second
	jobTimeout    = 30 * time.Second
	maxRetryDelay = 10 * time.Minute
	// pushAttempts bounds retries of one push; a later change enqueues a new one.
	pushAttempts = 12
	// webhookAttempts bounds retries of applying one webhook.
	webhookAttempts = 10
)

// Config configures the Shopify connection.
type Config struct {
	// Secrets verify webhooks: the app's client secret, then the previous one during a
	// rotation. Empty entries are skipped; none refuses every webhook.
	Secrets []string
	// APIURL replaces https://{shop domain} as the Admin API's base URL (tests, staging).
	APIURL string
	// HTTPClient makes Admin API requests; default has a 10 s timeout.
	HTTPClient *http.Client
	// PushDelay is how long a stock change waits, gathering later changes of the same
	// level, before it is pushed. Default DefaultPushDelay.
	PushDelay time.Duration
	// RetryBackoff is the first retry delay of a failed push. Default DefaultRetryBackoff.
	RetryBackoff time.Duration
}

// Service receives Shopify's webhooks and pushes stock to Shopify.
type Service struct {
	client    *ent.Client
	dialect   string
	inventory *inventory.Service
	catalog   inventory.ProductInvalidator
	cfg       Config
	log       *slog.Logger
	now       func() time.Time
}

// New returns the Shopify service. catalog retires cached product pages that webhooks
// change; it may be nil. Register its hook with inventory.UseChangeHook(svc.StockHook())
// and its workers with the job queue.
func New(db *database.DB, inv *inventory.Service, catalog inventory.ProductInvalidator, cfg Config, logger *slog.Logger) *Service {
	secrets := cfg.Secrets[:0:0]
	for _, s := range cfg.Secrets {
		if s != "" {
			secrets = append(secrets, s)
		}
	}
	cfg.Secrets = secrets
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: httpTimeout}
	}
	if cfg.PushDelay <= 0 {
		cfg.PushDelay = DefaultPushDelay
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{client: db.Client, dialect: db.Dialect, inventory: inv, catalog: catalog, cfg: cfg, log: logger, now: time.Now}
}

// Connected reports whether stock is pushed to m's shop: a domain and a token are set
// and the app was not uninstalled.
func Connected(m *ent.Merchant) bool {
	return m.ShopifyShopDomain != nil && m.ShopifyAccessToken != nil && *m.ShopifyAccessToken != "" && m.ShopifyUninstalledAt == nil
}
