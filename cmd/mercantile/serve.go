package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/mercantile/mercantile/graph"
	"github.com/mercantile/mercantile/internal/audit"
	"github.com/mercantile/mercantile/internal/auth"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/email"
	"github.com/mercantile/mercantile/internal/events"
	"github.com/mercantile/mercantile/internal/exports"
	"github.com/mercantile/mercantile/internal/idempotency"
	"github.com/mercantile/mercantile/internal/imports"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/jobs"
	"github.com/mercantile/mercantile/internal/media"
	"github.com/mercantile/mercantile/internal/merchants"
	"github.com/mercantile/mercantile/internal/orders"
	"github.com/mercantile/mercantile/internal/parity"
	"github.com/mercantile/mercantile/internal/payments"
	"github.com/mercantile/mercantile/internal/platform/config"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/platform/ratelimit"
	"github.com/mercantile/mercantile/internal/shopify"
	"github.com/mercantile/mercantile/resolvers"
	"github.com/mercantile/mercantile/rest"
)

// onListen, when set (by tests), learns the address the server listens on.
var onListen func(addr string)

func loadConfig() (config.Config, error) {
	return config.FromEnv()
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func openDatabase(ctx context.Context, cfg config.Config, migrate bool) (*database.DB, error) {
	db, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if migrate {
		if err := db.Migrate(ctx); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	return db, nil
}

// openStore returns Redis when REDIS_URL is set, else the in-process store.
func openStore(ctx context.Context, cfg config.Config) (kv.Store, func(), error) {
	if cfg.RedisURL == "" {
		return kv.NewMemory(), func() {}, nil
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("redis: REDIS_URL is not valid: %w", err)
	}
	client := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		_ = client.Close()
		return nil, nil, fmt.Errorf("redis: cannot reach %s: %w", opts.Addr, err)
	}
	return kv.NewRedis(client), func() { _ = client.Close() }, nil
}

// openRateLimiter returns where rate limit budgets are kept: Redis when REDIS_URL is set,
// so that every replica shares them, else in process. Redis gets a client of its own: a
// decision must not queue behind session and cache traffic for a pooled connection, and
// context deadlines are honoured so that a hung server costs a request the limiter's
// timeout, not go-redis's 3 s read timeout, before the limiter fails open. Nil when rate
// limits are off.
func openRateLimiter(cfg config.Config) (ratelimit.Limiter, func(), error) {
	switch {
	case !cfg.RateLimitEnabled:
		return nil, func() {}, nil
	case cfg.RedisURL == "":
		return ratelimit.NewMemory(0), func() {}, nil
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("redis: REDIS_URL is not valid: %w", err)
	}
	opts.ContextTimeoutEnabled = true
	client := redis.NewClient(opts)
	return ratelimit.NewRedis(client, ratelimit.RedisOptions{Prefix: "mercantile:"}), func() { _ = client.Close() }, nil
}

// services are the domain services, built once and shared by REST, GraphQL and the CLI.
type services struct {
	auth      *auth.Service
	merchants *merchants.Service
	catalog   *catalog.Service
	inventory *inventory.Service
	orders    *orders.Service
	emails    *email.Service
	// stripe receives Stripe's webhooks; it refuses them when STRIPE_WEBHOOK_SECRET is unset.
	stripe *payments.Webhooks
	// shopify receives Shopify's webhooks and pushes stock changes to connected shops.
	shopify *shopify.Service
	// imports runs CSV imports (Shopify products and orders, stock).
	imports *imports.Service
	// exports writes the Shopify CSV exports; parity compares with the imported files
	// and guards the merchant's move to sunset.
	exports *exports.Service
	parity  *parity.Service
	// listen delivers the events other processes publish to this one's subscribers
	// until ctx ends; serve runs it. Without it events still go out, so a command that
	// changes stock reaches the servers' subscribers.
	listen func(ctx context.Context)
}

// newServices builds the services on db. images is where product images are stored; nil
// (administrative commands) makes creating images unavailable.
func newServices(cfg config.Config, db *database.DB, store kv.Store, images media.Store, log *slog.Logger) *services {
	a := auth.NewService(db.Client, store, cfg.SessionTTL)
	svc := &services{
		auth:      a,
		merchants: merchants.NewService(db.Client, a),
		catalog:   catalog.NewService(db, store, images, cfg.MaxImageBytes),
	}
	// PostgreSQL carries events between replicas; the embedded default is one process.
	var bus events.Bus
	if db.Pool != nil {
		pg := events.NewPostgres(db.Pool, log, inventory.ChangesChannel)
		bus, svc.listen = pg, pg.Run
	} else {
		bus, svc.listen = events.NewLocal(), func(context.Context) {}
	}
	svc.inventory = inventory.NewService(db, store, svc.catalog, bus)
	svc.orders = orders.NewService(db, svc.inventory, cfg.ReservationTTL)
	svc.emails = email.NewService(db.Client, email.Config{
		SendGridAPIKey: cfg.SendGridAPIKey, SendGridAPIURL: cfg.SendGridAPIURL,
		From: cfg.EmailFrom, FromName: cfg.EmailFromName, Templates: cfg.SendGridTemplates,
	}, log)
	if cfg.StripeSecretKey != "" {
		svc.orders.UsePayments(payments.NewClient(payments.Config{SecretKey: cfg.StripeSecretKey, APIURL: cfg.StripeAPIURL}), log)
	}
	svc.stripe = payments.NewWebhooks(cfg.StripeWebhookSecret, svc.orders)
	svc.shopify = shopify.New(db, svc.inventory, svc.catalog, shopify.Config{
		Secrets: []string{cfg.ShopifyAPISecret, cfg.ShopifyAPISecretPrevious}, APIURL: cfg.ShopifyAPIURL,
	}, log)
	svc.inventory.UseChangeHook(svc.shopify.StockHook())
	files := importFiles(cfg, images)
	svc.imports = newImports(db, svc, files)
	svc.exports = exports.NewService(db.Client, svc.catalog)
	svc.parity = parity.NewService(db.Client, files)
	svc.merchants.RequireBeforeSunset(svc.parity.CheckSunset)
	return svc
}

// importFiles is where uploaded import files go: the S3 bucket when images go there
// (every replica reaches it), else IMPORT_DIR.
func importFiles(cfg config.Config, images media.Store) imports.FileStore {
	if s3, ok := images.(*media.S3); ok {
		return s3
	}
	return imports.NewDirStore(cfg.ImportDir)
}

// newImports returns the import service on files with every kind registered.
func newImports(db *database.DB, svc *services, files imports.FileStore) *imports.Service {
	imp := imports.NewService(db, files)
	imp.Register(imports.KindShopifyProducts, imports.NewProductImporter(db.Client, svc.catalog, svc.inventory))
	imp.Register(imports.KindShopifyOrders, imports.NewOrdersImporter(db.Dialect))
	imp.Register(imports.KindInventory, imports.NewInventoryImporter(svc.inventory))
	return imp
}

func serve(ctx context.Context, stdout, _ io.Writer) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	log := newLogger(cfg, stdout)
	db, err := openDatabase(ctx, cfg, cfg.AutoMigrate)
	if err != nil {
		return err
	}
	defer db.Close()
	store, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	limiter, closeLimiter, err := openRateLimiter(cfg)
	if err != nil {
		return err
	}
	defer closeLimiter()
	images, mediaHandler, err := media.Open(ctx, cfg)
	if err != nil {
		return err
	}
	svc := newServices(cfg, db, store, images, log)
	// The listener outlives ctx, which ends when shutdown begins, so that subscriptions
	// keep receiving while requests drain; it stops before the database closes.
	listenCtx, stopListening := context.WithCancel(context.WithoutCancel(ctx))
	listening := make(chan struct{})
	go func() {
		defer close(listening)
		svc.listen(listenCtx)
	}()
	defer func() {
		stopListening()
		<-listening
	}()

	if cfg.DemoMerchant {
		if err := ensureDemoMerchant(ctx, cfg, db, svc, stdout); err != nil {
			return err
		}
	}

	queue, err := startJobs(ctx, db, svc, log)
	if err != nil {
		return err
	}
	// Requests carry the queue, so work they enqueue outside a transaction finds it.
	ctx = jobs.NewContext(ctx, queue)
	defer func() {
		// Running jobs get the shutdown timeout to finish; River retries any cut short.
		stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := queue.Stop(stopCtx); err != nil {
			log.Error("stopping the job queue", "err", err)
		}
	}()

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(db.SQL, "mercantile"), jobs.DepthCollector(db))
	var draining atomic.Bool
	checks := []rest.Checker{{Name: "database", Check: db.Ping}}
	auditLog := audit.NewService(db.Client, log)
	gqlOpts := graph.Options{
		ComplexityLimit:       cfg.GraphQLComplexityLimit,
		Introspection:         cfg.GraphQLIntrospection,
		AuthenticateWebsocket: rest.AuthenticateWebsocket(svc.auth),
		Logger:                log,
		Audit:                 auditLog,
	}
	if cfg.RedisURL != "" {
		checks = append(checks, rest.Checker{Name: "redis", Check: store.Ping})
		gqlOpts.APQCache = graph.NewKVQueryCache(store)
	}
	root := resolvers.New(db.Client, resolvers.Services{Catalog: svc.catalog, Inventory: svc.inventory, Orders: svc.orders})
	deps := rest.Deps{
		Config: cfg, Logger: log, Auth: svc.auth, Merchants: svc.merchants, Catalog: svc.catalog,
		Inventory: svc.inventory, Orders: svc.orders, Emails: svc.emails, Stripe: svc.stripe, Shopify: svc.shopify, Idempotency: idempotency.NewStore(db.Client), Media: mediaHandler,
		Imports: svc.imports, Exports: svc.exports, Parity: svc.parity, Audit: auditLog,
		GraphQL:     root.WithLoaders(graph.NewHandler(root, gqlOpts)),
		Playground:  graph.PlaygroundHandler(),
		Registry:    registry,
		Checks:      checks,
		Draining:    draining.Load,
		RateLimiter: limiter,
	}
	if cfg.MetricsAddr == "" {
		deps.Gatherer = registry
	}

	servers := []*http.Server{newHTTPServer(ctx, cfg, rest.NewRouter(deps))}
	if cfg.MetricsAddr != "" {
		metricsServer := newHTTPServer(ctx, cfg, internalMux(registry))
		metricsServer.Addr = cfg.MetricsAddr
		servers = append(servers, metricsServer)
	}
	errs := make(chan error, len(servers))
	for _, srv := range servers {
		ln, err := net.Listen("tcp", srv.Addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", srv.Addr, err)
		}
		log.Info("listening", "addr", ln.Addr().String(), "embedded", cfg.Embedded())
		if onListen != nil && srv == servers[0] {
			onListen(ln.Addr().String())
		}
		go func() { errs <- srv.Serve(ln) }()
	}

	select {
	case err := <-errs:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	// Stop being ready first, so load balancers route new requests elsewhere, then let
	// requests in flight finish within the shutdown timeout.
	draining.Store(true)
	log.Info("shutting down", "drain_delay", cfg.ShutdownDrainDelay.String(), "timeout", cfg.ShutdownTimeout.String())
	time.Sleep(cfg.ShutdownDrainDelay)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	var shutdownErr error
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			shutdownErr = errors.Join(shutdownErr, err)
			_ = srv.Close()
		}
	}
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: requests still running after %s: %w", cfg.ShutdownTimeout, shutdownErr)
	}
	log.Info("stopped")
	return nil
}

// startJobs starts the background workers: the periodic expiry of unpaid reservations,
// the settling of image uploads, the sending of transactional email, the cancelling of
// cancelled orders' PaymentIntents, the settling of Stripe refunds left pending, and
// Shopify's webhooks and stock pushes.
func startJobs(ctx context.Context, db *database.DB, svc *services, log *slog.Logger) (*jobs.Queue, error) {
	queue, err := jobs.New(db, log, jobs.Options{
		ExpireReservations: func(ctx context.Context) (int, error) {
			const batch = 500
			total := 0
			for {
				n, err := svc.orders.ExpireReservations(ctx, batch)
				total += n
				if err != nil || n < batch {
					return total, err
				}
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	if err := jobs.Register(queue, svc.catalog.ConfirmImageWorker()); err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	if err := jobs.Register(queue, svc.emails.Worker()); err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	if err := jobs.Register(queue, svc.orders.CancelIntentWorker()); err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	if err := jobs.Register(queue, svc.imports.Worker()); err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	if err := jobs.Register(queue, svc.orders.SubmitRefundWorker()); err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	if err := jobs.Register(queue, svc.shopify.WebhookWorker()); err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	if err := jobs.Register(queue, svc.shopify.PushWorker()); err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	if err := queue.Start(ctx); err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return queue, nil
}

func newHTTPServer(ctx context.Context, cfg config.Config, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: it would cut GraphQL subscriptions; handlers are bounded by
		// REQUEST_TIMEOUT instead. Request contexts are not derived from ctx, so a
		// shutdown lets them finish rather than cancelling them.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}

// ensureDemoMerchant creates the demo merchant on the first start of an empty database
// and prints its keys, which are shown only this once (they are also written next to the
// SQLite file on the embedded default).
func ensureDemoMerchant(ctx context.Context, cfg config.Config, db *database.DB, svc *services, stdout io.Writer) error {
	n, err := db.Client.Merchant.Query().Count(viewer.SystemContext(ctx))
	if err != nil || n > 0 {
		return err
	}
	password := auth.GeneratePassword()
	created, err := svc.merchants.Create(ctx, merchants.CreateInput{
		Name: "Demo Store", Handle: "demo", Currency: "USD",
		OwnerEmail: "owner@demo.example.com", OwnerPassword: password,
	})
	if err != nil {
		return fmt.Errorf("creating the demo merchant: %w", err)
	}
	demo := map[string]string{
		"merchant_id":     created.Merchant.ID.String(),
		"secret_key":      created.SecretKey,
		"publishable_key": created.PublishableKey,
		"owner_email":     created.Owner.Email,
		"owner_password":  password,
		"api":             cfg.PublicBaseURL + "/api/v1",
		"docs":            cfg.PublicBaseURL + "/docs",
		"playground":      cfg.PublicBaseURL + "/playground",
	}
	fmt.Fprintf(stdout, `
Demo merchant created (shown once; keep these):
  merchant id      %s
  secret key       %s
  publishable key  %s
  staff login      %s / %s
  REST docs        %s
  playground       %s
  try:             curl -H 'Authorization: Bearer %s' %s/merchant

`, demo["merchant_id"], demo["secret_key"], demo["publishable_key"], demo["owner_email"], password,
		demo["docs"], demo["playground"], demo["secret_key"], demo["api"])
	if cfg.Embedded() {
		path := filepath.Join(filepath.Dir(strings.TrimPrefix(strings.TrimPrefix(cfg.DatabaseURL, "sqlite:"), "file:")), "demo-credentials.json")
		body, _ := json.MarshalIndent(demo, "", "  ")
		if err := os.WriteFile(path, body, 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		fmt.Fprintf(stdout, "  (also written to %s)\n\n", path)
	}
	return nil
}

// internalMux serves the private listener: Prometheus metrics, and the runtime profiles
// of net/http/pprof, which are kept off the public listener because they reveal the
// program's internals and cost CPU on demand.
func internalMux(registry *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	return mux
}
