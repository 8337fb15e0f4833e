// Command loadtest benchmarks Mercantile's catalog read API end to end on this machine:
// it builds the binary, creates a scratch PostgreSQL database, migrates it, creates a
// merchant, seeds a large catalog (timing it), starts `mercantile serve` on a loopback
// port with Redis, and drives each scenario with vegeta at a fixed concurrency for a
// fixed time. It writes bench/RESULTS.md (and raw numbers to bench/out/) and cleans up:
// the server is stopped and the database dropped. Every address it touches must be on
// the loopback interface.
//
//	go run ./bench/cmd/loadtest              # what `make bench` runs
//	go run ./bench/cmd/loadtest -seed-only   # only time the seed
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/mercantile/mercantile/bench/internal/scratch"
)

type config struct {
	products, variants, warehouses  int
	seed                            uint64
	duration, warmup, timeout       time.Duration
	solo                            time.Duration
	conns, listConns                int
	baseURL, redisURL               string
	out                             string
	seedOnly, keep                  bool
	suite                           string
	wrk                             string // wrk's path; empty: vegeta runs every scenario
	raceSKUs, raceStock, raceOrders int
	raceWorkers                     int
	// Offered request rates of the orders suite's open-loop runs: latency at a given
	// load rather than at whatever throughput the machine saturates at.
	inventoryRates, orderRates []int
}

func main() {
	var c config
	flag.IntVar(&c.products, "products", 100000, "products to seed")
	flag.IntVar(&c.variants, "variants", 3, "variants per product")
	flag.IntVar(&c.warehouses, "warehouses", 3, "warehouses")
	flag.Uint64Var(&c.seed, "seed", 42, "seed of the synthetic catalog")
	flag.DurationVar(&c.duration, "duration", 20*time.Second, "length of each scenario")
	flag.DurationVar(&c.warmup, "warmup", 3*time.Second, "warm-up per scenario, at low concurrency")
	flag.DurationVar(&c.solo, "solo", 5*time.Second, "length of each scenario's one-connection run (latency without queueing); 0 skips it")
	flag.DurationVar(&c.timeout, "timeout", 25*time.Minute, "bound on the whole run")
	flag.IntVar(&c.conns, "connections", 50, "connections (= workers) per scenario")
	flag.IntVar(&c.listConns, "list-connections", 500, "connections of the high-concurrency list scenario")
	flag.StringVar(&c.baseURL, "database", scratch.EnvOr("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"),
		"PostgreSQL URL whose server gets the scratch database (its role needs CREATEDB)")
	flag.StringVar(&c.redisURL, "redis", "redis://127.0.0.1:6379/15", "Redis URL for the server's cache; FLUSHDB'd first")
	flag.StringVar(&c.out, "out", "bench/RESULTS.md", "report to write")
	flag.BoolVar(&c.seedOnly, "seed-only", false, "seed and report its timing; no load")
	flag.BoolVar(&c.keep, "keep", false, "keep the scratch database (for EXPLAIN ANALYZE afterwards)")
	flag.StringVar(&c.suite, "suite", "catalog", "catalog (the read API) or orders (inventory lookups, order placement, the overselling race)")
	flag.IntVar(&c.raceSKUs, "race-skus", 5, "orders suite: SKUs contended in the race")
	flag.IntVar(&c.raceStock, "race-stock", 100, "orders suite: units per warehouse of each race SKU")
	flag.IntVar(&c.raceOrders, "race-orders", 10000, "orders suite: orders fired in the race")
	flag.IntVar(&c.raceWorkers, "race-workers", 200, "orders suite: concurrent clients in the race")
	flag.Func("inventory-rates", "orders suite: offered rates (req/s, comma-separated) of the open-loop inventory lookup runs", rateList(&c.inventoryRates, "1000,4000"))
	flag.Func("order-rates", "orders suite: offered rates (orders/s, comma-separated) of the open-loop placement runs", rateList(&c.orderRates, "25,50"))
	tool := flag.String("tool", "wrk", "load generator of GET scenarios: wrk (when installed; apt-get install wrk) or vegeta; order placement always uses vegeta")
	flag.Parse()
	if *tool == "wrk" {
		if path, err := exec.LookPath("wrk"); err == nil {
			c.wrk = path
		} else {
			fmt.Fprintln(os.Stderr, "loadtest: wrk is not installed (apt-get install wrk); using vegeta")
		}
	}
	if c.suite != "catalog" && c.suite != "orders" {
		fmt.Fprintln(os.Stderr, "loadtest: -suite must be catalog or orders")
		os.Exit(2)
	}
	if c.suite == "orders" {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["products"] {
			c.products = 10000 // the orders suite needs stock, not a large catalog
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadtest: "+format+"\n", args...)
}

// report is everything RESULTS.md shows.
type report struct {
	Date      time.Time
	Command   string
	CPUs      int
	Memory    string
	GoVersion string
	Postgres  string
	Redis     string
	Seed      seedSummary
	SeedWall  time.Duration
	Scenarios []result
	LoadAvg   string
	Skipped   string
	// StripePayments and StripeIntents count the orders suite's Stripe payments and those
	// with a PaymentIntent.
	StripePayments, StripeIntents int
	ServerError                   string
}

type seedSummary struct {
	Products        int     `json:"products"`
	Options         int     `json:"options"`
	Variants        int     `json:"variants"`
	InventoryLevels int     `json:"inventory_levels"`
	SearchDocuments int     `json:"search_documents"`
	Rows            int     `json:"rows"`
	Seconds         float64 `json:"seconds"`
	RowsPerSecond   float64 `json:"rows_per_second"`
}

func run(ctx context.Context, c config) (err error) {
	for _, u := range []string{c.baseURL, c.redisURL} {
		if err := scratch.RequireLoopback(u); err != nil {
			return err
		}
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if !filepath.IsAbs(c.out) {
		c.out = filepath.Join(root, c.out)
	}
	outDir := filepath.Join(root, "bench", "out")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "mercantile-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	rep := report{Date: time.Now(), Command: strings.Join(append([]string{"go run ./bench/cmd/loadtest"}, os.Args[1:]...), " "),
		CPUs: runtime.NumCPU(), Memory: memTotal(), GoVersion: runtime.Version(), LoadAvg: loadAvg()}

	logf("building the binary")
	bin := filepath.Join(tmp, "mercantile")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/mercantile")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building: %w", err)
	}

	dbURL, drop, err := scratch.Database(ctx, c.baseURL, "mercantile_bench")
	if err != nil {
		return err
	}
	defer func() {
		if c.keep {
			logf("kept the scratch database: %s", dbURL)
			return
		}
		if derr := drop(); derr != nil && err == nil {
			err = derr
		} else if derr == nil {
			logf("dropped the scratch database")
		}
	}()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_ = conn.QueryRow(ctx, "SHOW server_version").Scan(&rep.Postgres)

	port, err := scratch.FreePort()
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	env := scratch.ChildEnv(map[string]string{
		"DATABASE_URL": dbURL, "REDIS_URL": c.redisURL, "LOG_LEVEL": "warn", "HTTP_ADDR": addr,
		"AUTO_MIGRATE": "false", "DEMO_MERCHANT": "false", "SHUTDOWN_TIMEOUT": "5s", "SHUTDOWN_DRAIN_DELAY": "0s",
		"METRICS_ADDR": "", "MEDIA_DIR": filepath.Join(tmp, "media"),
		// The load measures the API, not the limiter, which would refuse most of it.
		"RATE_LIMIT_ENABLED": "false",
	})
	mercantile := func(stdout io.Writer, args ...string) error {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("mercantile %s: %w", strings.Join(args, " "), err)
		}
		return nil
	}

	logf("migrating")
	if err := mercantile(io.Discard, "migrate"); err != nil {
		return err
	}
	var created struct {
		MerchantID  string `json:"merchant_id"`
		SecretKey   string `json:"secret_key"`
		Publishable string `json:"publishable_key"`
	}
	var buf bytes.Buffer
	if err := mercantile(&buf, "merchant", "create", "--name", "Bench Store", "--email", "bench@example.com"); err != nil {
		return err
	}
	if err := json.Unmarshal(buf.Bytes(), &created); err != nil || created.SecretKey == "" {
		return fmt.Errorf("merchant create printed %q: %v", buf.String(), err)
	}

	logf("seeding %d products x %d variants x %d warehouses", c.products, c.variants, c.warehouses)
	buf.Reset()
	began := time.Now()
	if err := mercantile(&buf, "seed", "--merchant", created.MerchantID, "--products", strconv.Itoa(c.products),
		"--variants", strconv.Itoa(c.variants), "--warehouses", strconv.Itoa(c.warehouses),
		"--seed", strconv.FormatUint(c.seed, 10)); err != nil {
		return err
	}
	rep.SeedWall = time.Since(began)
	if err := json.Unmarshal(buf.Bytes(), &rep.Seed); err != nil {
		return fmt.Errorf("seed printed %q: %v", buf.String(), err)
	}
	logf("seeded %d rows in %s (%.0f rows/s)", rep.Seed.Rows, rep.SeedWall.Round(time.Millisecond), rep.Seed.RowsPerSecond)

	if c.seedOnly {
		rep.Skipped = "run with -seed-only"
		return writeReport(c, rep)
	}

	rdbOpts, err := redis.ParseURL(c.redisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(rdbOpts)
	defer rdb.Close()
	// Deferred before stopServer, so it runs once the server has stopped.
	defer rdb.FlushDB(context.WithoutCancel(ctx))
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return fmt.Errorf("redis FLUSHDB: %w", err)
	}
	if info, err := rdb.Info(ctx, "server").Result(); err == nil {
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
				rep.Redis = v
			}
		}
	}

	logf("starting the server on %s", addr)
	logName := "server.log"
	if c.suite == "orders" {
		logName = "server-orders.log"
	}
	serverLog, err := os.Create(filepath.Join(outDir, logName))
	if err != nil {
		return err
	}
	defer serverLog.Close()
	server := exec.Command(bin, "serve")
	server.Env, server.Stdout, server.Stderr = env, serverLog, serverLog
	server.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := server.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- server.Wait() }()
	defer stopServer(server, exited)

	base := "http://" + addr
	client := &http.Client{Timeout: 10 * time.Second}
	if err := waitHealthy(ctx, client, base, exited); err != nil {
		return err
	}
	auth := http.Header{"Authorization": {"Bearer " + created.SecretKey}}
	if c.suite == "orders" {
		return runOrders(ctx, c, rep, conn, dbURL, created.MerchantID, base, created.SecretKey, created.Publishable, server, exited, outDir)
	}
	if status := probe(ctx, client, base+"/api/v1/products?limit=1", auth); status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
		rep.Skipped = fmt.Sprintf("GET /api/v1/products answered %d: the catalog REST endpoints are not there yet", status)
		logf("%s; reporting the seed only", rep.Skipped)
		return writeReport(c, rep)
	}

	plan, err := scenarios(ctx, c, conn, created.MerchantID, base, auth)
	if err != nil {
		return err
	}
	raw, err := os.Create(filepath.Join(outDir, "results.json"))
	if err != nil {
		return err
	}
	defer raw.Close()
	for _, s := range plan {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := runScenario(ctx, c, client, s, auth, server.Process.Pid)
		logf("  %d requests, %.0f req/s, p50 %s p95 %s p99 %s, %d errors", r.Requests, r.Throughput,
			scratch.MS(r.P50), scratch.MS(r.P95), scratch.MS(r.P99), r.Errors)
		rep.Scenarios = append(rep.Scenarios, r)
		_ = json.NewEncoder(raw).Encode(r)
		select {
		case err := <-exited:
			rep.ServerError = fmt.Sprintf("the server exited during %s: %v (see bench/out/server.log)", s.name, err)
			exited <- err
			return errors.Join(errors.New(rep.ServerError), writeReport(c, rep))
		default:
		}
	}
	return writeReport(c, rep)
}

// runScenario probes, warms up, measures one connection alone, then measures s at its
// connection count, with the server's CPU per request.
func runScenario(ctx context.Context, c config, client *http.Client, s scenario, auth http.Header, serverPID int) result {
	// Work a previous scenario left behind (jobs it enqueued, autovacuum of what it
	// wrote) would otherwise be charged to this one.
	if waited, quiet := settle(ctx, 2*time.Minute); !quiet {
		logf("%s: the machine was still busy after %s; starting anyway", s.name, waited.Round(time.Second))
	} else if waited > 2*time.Second {
		logf("%s: waited %s for the machine to go quiet", s.name, waited.Round(time.Second))
	}
	// A sequential check first: a scenario whose requests fail is reported as such,
	// but one misconfigured target should show its error clearly.
	if s.check != "" {
		if st := probe(ctx, client, s.check, auth); st != http.StatusOK {
			logf("%s: a single request answered %d", s.name, st)
		}
	}
	if c.warmup > 0 && s.warm {
		c.attack(ctx, s, 10, c.warmup, 0)
	}
	var solo result
	if c.solo > 0 && s.rate == 0 {
		// Uncached scenarios take the second half of their URLs here, so neither run
		// finds the other's in the cache.
		solo, _ = c.attack(ctx, s, 1, c.solo, len(s.targets)/2)
	}
	offered := ""
	if s.rate > 0 {
		offered = fmt.Sprintf(" offering %d req/s", s.rate)
	}
	logf("%s: %d connections%s for %s with %s", s.name, s.conns, offered, c.duration, c.toolFor(s))
	before := sampleCPU(serverPID)
	r, childCPU := c.attack(ctx, s, s.conns, c.duration, 0)
	r.CPU = sampleCPU(serverPID).since(before, r.Requests, childCPU)
	r.SoloP50, r.SoloP95, r.SoloRate = solo.P50, solo.P95, solo.Throughput
	if s.rate > 0 {
		return r
	}
	logf("  alone: p50 %s p95 %s (%.0f req/s)", scratch.MS(r.SoloP50), scratch.MS(r.SoloP95), r.SoloRate)
	return r
}

// scenario is one load pattern: targets cycled through by every worker.
type scenario struct {
	name, request string
	class         string // list, product, search: which target applies
	conns         int
	targets       []vegeta.Target
	once          bool // each target at most once (uncached reads); no warm-up
	warm          bool
	check         string
	gen           func(i uint64) vegeta.Target // generates the i-th request instead of targets
	// rate, when set, offers that many requests per second over the connections (open
	// loop) instead of each connection sending its next request on an answer.
	rate int
}

// rateList parses a flag's comma-separated rates into dst, starting from def.
func rateList(dst *[]int, def string) func(string) error {
	parse := func(v string) error {
		var rates []int
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			n, err := strconv.Atoi(f)
			if err != nil || n <= 0 {
				return fmt.Errorf("%q is not a positive rate", f)
			}
			rates = append(rates, n)
		}
		*dst = rates
		return nil
	}
	if err := parse(def); err != nil {
		panic(err)
	}
	return parse
}

func scenarios(ctx context.Context, c config, conn *pgx.Conn, merchantID, base string, auth http.Header) ([]scenario, error) {
	strs := func(query string, args ...any) ([]string, error) {
		rows, err := conn.Query(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[string])
	}
	ids, err := strs(`SELECT id FROM products WHERE merchant_id = $1 ORDER BY id`, merchantID)
	if err != nil {
		return nil, err
	}
	if len(ids) < 100 {
		return nil, fmt.Errorf("only %d products seeded; the scenarios need at least 100", len(ids))
	}
	rng := rand.New(rand.NewPCG(c.seed, 1))
	deep := ids[min(99000, len(ids)-1)-1]
	shuffled := slices.Clone(ids)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	// Cached scenarios cycle through a sample; uncached ones take the other products.
	sample := shuffled[:min(1000, len(shuffled)/2)]
	handles, err := strs(`SELECT handle FROM products WHERE id = ANY($1)`, sample)
	if err != nil {
		return nil, err
	}
	skus, err := strs(`SELECT sku FROM variants WHERE merchant_id = $1 AND product_id = ANY($2)`, merchantID, sample)
	if err != nil {
		return nil, err
	}
	get := func(path string) vegeta.Target {
		return vegeta.Target{Method: http.MethodGet, URL: base + path, Header: auth}
	}
	each := func(list []string, path func(string) string) []vegeta.Target {
		out := make([]vegeta.Target, len(list))
		for i, s := range list {
			out[i] = get(path(s))
		}
		return out
	}
	cursor := func(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }
	n := c.conns
	s := []scenario{
		{name: "list, first page", request: "GET /api/v1/products?limit=50", class: "list", conns: n,
			targets: []vegeta.Target{get("/api/v1/products?limit=50")}},
		{name: "list, deep page (after the 99,000th product)", request: "GET /api/v1/products?limit=50&after=…", class: "list", conns: n,
			targets: []vegeta.Target{get("/api/v1/products?limit=50&after=" + cursor(deep))}},
		{name: "list, random pages (uncached)", request: "GET /api/v1/products?limit=50&after=<random>", class: "list", conns: n, once: true,
			targets: each(shuffled, func(id string) string { return "/api/v1/products?limit=50&after=" + cursor(id) })},
		{name: fmt.Sprintf("product by id (%d ids)", len(sample)), request: "GET /api/v1/products/{id}", class: "product", conns: n,
			targets: each(sample, func(id string) string { return "/api/v1/products/" + id })},
		{name: "product by id (uncached)", request: "GET /api/v1/products/{id}", class: "product", conns: n, once: true,
			targets: each(shuffled[len(sample):], func(id string) string { return "/api/v1/products/" + id })},
		{name: fmt.Sprintf("product by handle (%d handles)", len(handles)), request: "GET /api/v1/products/by-handle/{handle}", class: "product", conns: n,
			targets: each(handles, func(h string) string { return "/api/v1/products/by-handle/" + url.PathEscape(h) })},
		{name: fmt.Sprintf("variant by SKU (%d SKUs)", len(skus)), request: "GET /api/v1/variants/by-sku/{sku}", class: "product", conns: n,
			targets: each(skus, func(sku string) string { return "/api/v1/variants/by-sku/" + url.PathEscape(sku) })},
		{name: "search, common word", request: "GET /api/v1/search?q=classic", class: "search", conns: n,
			targets: []vegeta.Target{get("/api/v1/search?q=classic")}},
		{name: "search, typo", request: "GET /api/v1/search?q=hodie", class: "search", conns: n,
			targets: []vegeta.Target{get("/api/v1/search?q=hodie")}},
		{name: fmt.Sprintf("search, SKU (%d SKUs)", len(skus)), request: "GET /api/v1/search?q={sku}", class: "search", conns: n,
			targets: each(skus, func(sku string) string { return "/api/v1/search?q=" + url.QueryEscape(sku) })},
		{name: fmt.Sprintf("list, first page, %d connections", c.listConns), request: "GET /api/v1/products?limit=50", class: "list-high",
			conns: c.listConns, targets: []vegeta.Target{get("/api/v1/products?limit=50")}},
	}
	for i := range s {
		s[i].warm = !s[i].once
		s[i].check = s[i].targets[0].URL
		if s[i].once {
			s[i].check = ""
		}
	}
	return s, nil
}

// result is one scenario's numbers; latencies are exact percentiles of every request.
type result struct {
	Name       string         `json:"name"`
	Request    string         `json:"request"`
	Class      string         `json:"class"`
	Conns      int            `json:"connections"`
	Rate       int            `json:"offered_rate,omitempty"`
	Tool       string         `json:"tool"`
	Duration   time.Duration  `json:"duration"`
	Requests   int            `json:"requests"`
	Throughput float64        `json:"throughput"`
	P50        time.Duration  `json:"p50"`
	P95        time.Duration  `json:"p95"`
	P99        time.Duration  `json:"p99"`
	Max        time.Duration  `json:"max"`
	Errors     int            `json:"errors"`
	Statuses   map[string]int `json:"statuses"`
	Codes      map[string]int `json:"problem_codes,omitempty"`
	ErrorTexts []string       `json:"error_texts,omitempty"`
	Exhausted  bool           `json:"exhausted,omitempty"`
	SoloP50    time.Duration  `json:"solo_p50"`
	SoloP95    time.Duration  `json:"solo_p95"`
	SoloRate   float64        `json:"solo_throughput"`
	CPU        cpuUse         `json:"cpu"`
}

// toolFor names the load generator that runs s: wrk where it can and is installed,
// else vegeta in this process.
func (c config) toolFor(s scenario) string {
	if c.wrk != "" && canUseWrk(s) {
		return "wrk"
	}
	return "vegeta"
}

// attack runs s with the load generator toolFor names, and returns the result and the
// CPU seconds a load generator outside this process used.
func (c config) attack(ctx context.Context, s scenario, conns int, d time.Duration, offset int) (result, float64) {
	if c.toolFor(s) == "wrk" {
		r, cpu, err := wrkAttack(ctx, c.wrk, s, conns, d, offset)
		if err != nil {
			r.Errors++
			r.ErrorTexts = append(r.ErrorTexts, err.Error())
			logf("%s: %v", s.name, err)
		}
		r.Tool = "wrk"
		return r, cpu
	}
	r := attack(ctx, s, conns, d, offset)
	r.Tool = "vegeta"
	return r, 0
}

// attack runs s with conns workers for d: at s.rate requests per second, or with each
// worker sending as fast as it gets answers.
// The n-th request takes target offset+n.
func attack(ctx context.Context, s scenario, conns int, d time.Duration, offset int) result {
	var next atomic.Uint64
	next.Store(uint64(offset))
	exhausted := atomic.Bool{}
	targeter := func(t *vegeta.Target) error {
		i := next.Add(1) - 1
		if s.once && i >= uint64(offset+len(s.targets)/2) && offset == 0 {
			exhausted.Store(true)
		}
		if s.gen != nil {
			*t = s.gen(i)
			return nil
		}
		*t = s.targets[i%uint64(len(s.targets))]
		return nil
	}
	a := vegeta.NewAttacker(vegeta.Workers(uint64(conns)), vegeta.MaxWorkers(uint64(conns)),
		vegeta.Connections(conns), vegeta.MaxConnections(conns), vegeta.Timeout(30*time.Second),
		vegeta.KeepAlive(true), vegeta.Redirects(vegeta.NoFollow))
	stop := context.AfterFunc(ctx, func() { a.Stop() })
	defer stop()
	r := result{Name: s.name, Request: s.request, Class: s.class, Conns: conns, Rate: s.rate, Statuses: map[string]int{}, Codes: map[string]int{}}
	var lat []time.Duration
	var first, last time.Time
	errs := map[string]bool{}
	for res := range a.Attack(targeter, vegeta.Rate{Freq: s.rate, Per: time.Second}, d, s.name) {
		if first.IsZero() || res.Timestamp.Before(first) {
			first = res.Timestamp
		}
		if end := res.End(); end.After(last) {
			last = end
		}
		lat = append(lat, res.Latency)
		r.Statuses[strconv.Itoa(int(res.Code))]++
		if res.Error != "" || res.Code < 200 || res.Code > 299 {
			r.Errors++
			r.Codes[problemCode(res.Code, res.Error, res.Body)]++
			msg := res.Error
			if msg == "" || res.Code != 0 {
				msg = fmt.Sprintf("%d %s", res.Code, strings.TrimSpace(string(res.Body[:min(len(res.Body), 200)])))
			}
			if len(errs) < 5 && !errs[msg] {
				errs[msg] = true
				r.ErrorTexts = append(r.ErrorTexts, msg)
			}
		}
	}
	r.Requests = len(lat)
	r.Duration = last.Sub(first)
	if r.Duration > 0 {
		r.Throughput = float64(r.Requests-r.Errors) / r.Duration.Seconds()
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	r.P50, r.P95, r.P99 = pct(0.50), pct(0.95), pct(0.99)
	if len(lat) > 0 {
		r.Max = lat[len(lat)-1]
	}
	r.Exhausted = exhausted.Load()
	return r
}

// target is the latency goal of a scenario class (p95, and 0 errors).
func target(class string) (time.Duration, string) {
	switch class {
	case "list", "product":
		return 20 * time.Millisecond, "p95 ≤ 20 ms, 0 errors"
	case "search":
		return 30 * time.Millisecond, "p95 ≤ 30 ms, 0 errors"
	default:
		return time.Second - time.Nanosecond, "p95 < 1 s, 0 errors"
	}
}

const findingsMarker = "<!-- Findings below this line are written by hand and kept when loadtest rewrites this file. -->"

func writeReport(c config, rep report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmark results\n\n")
	fmt.Fprintf(&b, "Written by `bench/cmd/loadtest` (`make bench`) on %s.\n\n", rep.Date.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Machine | %d CPUs (`nproc`), %s memory, %s/%s |\n", rep.CPUs, rep.Memory, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "| Go | %s |\n| PostgreSQL | %s |\n", rep.GoVersion, rep.Postgres)
	if rep.Redis != "" {
		fmt.Fprintf(&b, "| Redis | %s |\n", rep.Redis)
	}
	fmt.Fprintf(&b, "| Command | `%s` |\n\n", rep.Command)
	fmt.Fprintf(&b, "Everything runs on this one machine: the load generator (wrk, or vegeta as a library where a scenario says so), the server, "+
		"PostgreSQL and Redis share its %d cores over loopback, so the numbers are a floor for a real deployment, "+
		"and throughput is bounded by the load generator's own share of the CPU.\n\n", rep.CPUs)

	fmt.Fprintf(&b, "## Seed\n\n`mercantile seed --products %d --variants %d --warehouses %d --seed %d` on PostgreSQL "+
		"(COPY in transactions of 1,000 products, search documents set-based per batch, then VACUUM (ANALYZE)):\n\n",
		c.products, c.variants, c.warehouses, c.seed)
	fmt.Fprintf(&b, "| products | options | variants | stock levels | search documents | rows | seconds (seed) | wall (process) | rows/s |\n")
	fmt.Fprintf(&b, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	s := rep.Seed
	fmt.Fprintf(&b, "| %d | %d | %d | %d | %d | %d | %.1f | %.1f | %.0f |\n\n", s.Products, s.Options, s.Variants,
		s.InventoryLevels, s.SearchDocuments, s.Rows, s.Seconds, rep.SeedWall.Seconds(), s.RowsPerSecond)

	fmt.Fprintf(&b, "## Load\n\n")
	if rep.Skipped != "" {
		fmt.Fprintf(&b, "Not run: %s.\n\n", rep.Skipped)
	} else {
		fmt.Fprintf(&b, "Each scenario: a fixed number of keep-alive connections, each sending its next request as soon as "+
			"it has the answer, for %s after a %s warm-up at 10 connections, with the merchant's secret key. "+
			"The load generator is wrk (2 threads; a C program, so it takes little of the CPU the server needs; "+
			"latencies from its HdrHistogram) or, where the tool column says so, vegeta in the loadtest process "+
			"(exact percentiles over every request). Errors are transport errors and 4xx/5xx answers. "+
			"\"uncached\" scenarios never repeat a URL, so every request misses the Redis read cache. "+
			"The last column is the same scenario on one connection for %s (before the loaded run): the cost of "+
			"a request without queueing. With a fixed number of connections and no pacing, latency is "+
			"connections ÷ throughput (Little's law), so a p95 target at 50 connections is a throughput target.\n\n",
			c.duration, c.warmup, c.solo)
		fmt.Fprintf(&b, "| scenario | request | tool | conns | requests | req/s | p50 | p95 | p99 | max | errors | target | met | alone: p50 / p95 (req/s) |\n")
		fmt.Fprintf(&b, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|\n")
		for _, r := range rep.Scenarios {
			limit, text := target(r.Class)
			met := "yes"
			if r.P95 > limit || r.Errors > 0 {
				met = "**no**"
			}
			name := r.Name
			if r.Exhausted {
				name += " (ran out of distinct URLs)"
			}
			solo := "—"
			if r.SoloRate > 0 {
				solo = fmt.Sprintf("%s / %s (%.0f)", scratch.MS(r.SoloP50), scratch.MS(r.SoloP95), r.SoloRate)
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s | %d | %d | %.0f | %s | %s | %s | %s | %d | %s | %s | %s |\n", name, r.Request, r.Tool, r.Conns,
				r.Requests, r.Throughput, scratch.MS(r.P50), scratch.MS(r.P95), scratch.MS(r.P99), scratch.MS(r.Max), r.Errors, text, met, solo)
		}
		b.WriteString("\n")
		for _, r := range rep.Scenarios {
			if len(r.ErrorTexts) > 0 {
				fmt.Fprintf(&b, "- %s: statuses %v; e.g. %q\n", r.Name, r.Statuses, r.ErrorTexts)
			}
		}
		if rep.ServerError != "" {
			fmt.Fprintf(&b, "\n**%s**\n", rep.ServerError)
		}
		fmt.Fprintf(&b, "\nWhere the CPU went during each loaded run, per successful request: the server process, this "+
			"load generator, and the rest of the machine (PostgreSQL, Redis, and anything else running; the load "+
			"average was %s when the run began).\n\n", rep.LoadAvg)
		fmt.Fprintf(&b, "| scenario | server ms/req | load generator ms/req | rest of machine ms/req | machine busy |\n|---|---:|---:|---:|---:|\n")
		for _, r := range rep.Scenarios {
			fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f | %.0f%% |\n", r.Name, r.CPU.ServerMS, r.CPU.LoadgenMS, r.CPU.RestMS, r.CPU.BusyPercent)
		}
		b.WriteString("\nRaw numbers: `bench/out/results.json`; the server's log: `bench/out/server.log`.\n\n")
	}

	if old, err := os.ReadFile(c.out); err == nil {
		if block := ordersBlock(string(old)); block != "" {
			b.WriteString(block + "\n\n")
		}
	}
	fmt.Fprintf(&b, "## Findings\n\n%s\n", findingsMarker)
	if old, err := os.ReadFile(c.out); err == nil {
		if _, kept, ok := strings.Cut(string(old), findingsMarker+"\n"); ok {
			b.WriteString(kept)
		}
	}
	if err := os.WriteFile(c.out, []byte(b.String()), 0o644); err != nil {
		return err
	}
	logf("wrote %s", c.out)
	return nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run loadtest inside the mercantile module")
	}
	return filepath.Dir(mod), nil
}

func waitHealthy(ctx context.Context, client *http.Client, base string, exited chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("the server exited at start: %v (see bench/out/server.log)", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if probe(ctx, client, base+"/readyz", nil) == http.StatusOK {
			return nil
		}
	}
	return errors.New("the server was not ready within 60 s (see bench/out/server.log)")
}

func probe(ctx context.Context, client *http.Client, u string, h http.Header) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// stopServer asks the server to shut down and kills its process group if it does not
// within 15 s.
func stopServer(cmd *exec.Cmd, exited chan error) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	logf("stopped the server")
}

func memTotal() string {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return fmt.Sprintf("%.1f GiB", kb/1024/1024)
		}
	}
	return "unknown"
}

// cpuSample is CPU time so far, in seconds: the server's, this process's, and the
// machine's busy and total time.
type cpuSample struct{ server, self, busy, total float64 }

// cpuUse is CPU time per request over a run, in milliseconds.
type cpuUse struct {
	ServerMS    float64 `json:"server_ms_per_request"`
	LoadgenMS   float64 `json:"loadgen_ms_per_request"`
	RestMS      float64 `json:"rest_ms_per_request"`
	BusyPercent float64 `json:"machine_busy_percent"`
}

// since is the CPU used per request from before to s; childCPU is the seconds a load
// generator in another process (wrk) used meanwhile.
func (s cpuSample) since(before cpuSample, requests int, childCPU float64) cpuUse {
	if requests == 0 {
		return cpuUse{}
	}
	n := float64(requests) / 1000
	u := cpuUse{
		ServerMS:  (s.server - before.server) / n,
		LoadgenMS: (s.self - before.self + childCPU) / n,
	}
	u.RestMS = max(0, (s.busy-before.busy)/n-u.ServerMS-u.LoadgenMS)
	if d := s.total - before.total; d > 0 {
		u.BusyPercent = 100 * (s.busy - before.busy) / d
	}
	return u
}

// clockTicks is Linux's USER_HZ, the unit of /proc's CPU times.
const clockTicks = 100

// settle waits, at most limit, until the whole machine is under 15% busy for two
// half-second samples in a row, and says how long that took and whether it happened.
func settle(ctx context.Context, limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	prev := sampleCPU(0)
	calm := 0
	for time.Since(start) < limit && ctx.Err() == nil {
		time.Sleep(500 * time.Millisecond)
		cur := sampleCPU(0)
		if d := cur.total - prev.total; d > 0 && (cur.busy-prev.busy)/d < 0.15 {
			calm++
		} else {
			calm = 0
		}
		prev = cur
		if calm == 2 {
			return time.Since(start), true
		}
	}
	return time.Since(start), false
}

func sampleCPU(serverPID int) cpuSample {
	var s cpuSample
	if raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", serverPID)); err == nil {
		if i := bytes.LastIndexByte(raw, ')'); i > 0 {
			f := strings.Fields(string(raw[i+1:]))
			if len(f) > 12 {
				ut, _ := strconv.ParseFloat(f[11], 64)
				st, _ := strconv.ParseFloat(f[12], 64)
				s.server = (ut + st) / clockTicks
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	if raw, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(raw), "\n")
		f := strings.Fields(line)
		for i, v := range f[1:] {
			x, _ := strconv.ParseFloat(v, 64)
			switch i {
			case 0, 1, 2, 5, 6, 7: // user nice system irq softirq steal
				s.busy += x / clockTicks
				s.total += x / clockTicks
			case 3, 4: // idle iowait
				s.total += x / clockTicks
			}
		}
	}
	return s
}

func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
