// Command rolling measures a zero-downtime rolling update of Mercantile on this machine:
// it builds the binary, creates a scratch PostgreSQL database, migrates and seeds it,
// starts two `mercantile serve` instances on loopback ports behind a small round-robin
// reverse proxy (in this process) that routes only to instances whose /readyz answers
// 200, keeps a fixed-rate mix of catalog reads and order placements on the proxy with
// vegeta, and restarts the instances one by one (SIGTERM, wait for the exit, start a
// new one on the same port, wait for /readyz). It reports failed requests per phase and
// per endpoint, latency percentiles, each instance's drain and start times, and checks
// in SQL that every order has all its lines. Run by bench/rolling (make bench-rolling).
//
// The proxy retries a request once on the other instance only when it is a GET that
// failed at the transport level before any response; POSTs are never retried by it.
// (net/http's Transport itself may resend a request, GET or a POST carrying an
// Idempotency-Key, on a reused keep-alive connection the server closed before reading
// anything: that is the standard library's behaviour, counted as one request here.)
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/mercantile/mercantile/bench/internal/scratch"
)

type config struct {
	products          int
	rate              int
	pre, post, settle time.Duration
	drainDelay        time.Duration
	timeout           time.Duration
	baseURL, redisURL string
	keep              bool
}

func main() {
	var c config
	flag.IntVar(&c.products, "products", 2000, "products to seed (x3 variants x3 warehouses)")
	flag.IntVar(&c.rate, "rate", 100, "offered requests per second through the proxy")
	flag.DurationVar(&c.pre, "before", 15*time.Second, "load before the first restart")
	flag.DurationVar(&c.settle, "between", 5*time.Second, "load between the two restarts, after the first instance is ready again")
	flag.DurationVar(&c.post, "after", 10*time.Second, "load after the second instance is ready again")
	flag.DurationVar(&c.drainDelay, "drain-delay", 3*time.Second, "SHUTDOWN_DRAIN_DELAY of the instances")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Minute, "bound on the whole run")
	flag.StringVar(&c.baseURL, "database", scratch.EnvOr("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"),
		"PostgreSQL URL whose server gets the scratch database (its role needs CREATEDB)")
	flag.StringVar(&c.redisURL, "redis", "redis://127.0.0.1:6379/14", "Redis URL shared by both instances; FLUSHDB'd first")
	flag.BoolVar(&c.keep, "keep", false, "keep the scratch database")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	failed, err := run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rolling:", err)
		os.Exit(1)
	}
	if failed {
		os.Exit(3)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "rolling %s: "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

func run(ctx context.Context, c config) (failed bool, err error) {
	for _, u := range []string{c.baseURL, c.redisURL} {
		if err := scratch.RequireLoopback(u); err != nil {
			return false, err
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return false, errors.New("run inside the mercantile module")
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	outDir := filepath.Join(root, "bench", "out")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return false, err
	}
	tmp, err := os.MkdirTemp("", "mercantile-rolling-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)

	logf("building the binary")
	bin := filepath.Join(tmp, "mercantile")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/mercantile")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return false, fmt.Errorf("building: %w", err)
	}

	dbURL, drop, err := scratch.Database(ctx, c.baseURL, "mercantile_rolling")
	if err != nil {
		return false, err
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

	env := map[string]string{
		"DATABASE_URL": dbURL, "REDIS_URL": c.redisURL, "LOG_LEVEL": "info", "LOG_FORMAT": "json",
		"AUTO_MIGRATE": "false", "DEMO_MERCHANT": "false", "METRICS_ADDR": "",
		"SHUTDOWN_TIMEOUT": "15s", "SHUTDOWN_DRAIN_DELAY": c.drainDelay.String(),
		"MEDIA_DIR": filepath.Join(tmp, "media"), "IMPORT_DIR": filepath.Join(tmp, "imports"),
		"MEDIA_SIGNING_KEY": strings.Repeat("ab", 32), "RATE_LIMIT_ENABLED": "false",
	}
	mercantile := func(stdout io.Writer, args ...string) error {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = scratch.ChildEnv(env), stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("mercantile %s: %w", strings.Join(args, " "), err)
		}
		return nil
	}
	logf("migrating")
	if err := mercantile(io.Discard, "migrate"); err != nil {
		return false, err
	}
	var created struct {
		MerchantID  string `json:"merchant_id"`
		Publishable string `json:"publishable_key"`
	}
	var buf bytes.Buffer
	if err := mercantile(&buf, "merchant", "create", "--name", "Rolling Store", "--email", "rolling@example.com"); err != nil {
		return false, err
	}
	if err := json.Unmarshal(buf.Bytes(), &created); err != nil || created.Publishable == "" {
		return false, fmt.Errorf("merchant create printed %q: %v", buf.String(), err)
	}
	logf("seeding %d products x 3 variants x 3 warehouses", c.products)
	if err := mercantile(io.Discard, "seed", "--merchant", created.MerchantID, "--products", strconv.Itoa(c.products),
		"--variants", "3", "--warehouses", "3", "--seed", "42", "--quiet"); err != nil {
		return false, err
	}

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	strs := func(query string) ([]string, error) {
		rows, err := conn.Query(ctx, query, created.MerchantID)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[string])
	}
	productIDs, err := strs(`SELECT id FROM products WHERE merchant_id = $1 AND status = 'active' ORDER BY id`)
	if err != nil {
		return false, err
	}
	skus, err := strs(`SELECT sku FROM variants WHERE merchant_id = $1 ORDER BY sku`)
	if err != nil {
		return false, err
	}
	rich, err := strs(`SELECT v.sku FROM variants v JOIN inventory_levels l ON l.variant_id = v.id
		JOIN products p ON p.id = v.product_id AND p.status = 'active'
		WHERE v.merchant_id = $1 GROUP BY v.sku HAVING sum(l.on_hand - l.reserved) >= 50 ORDER BY v.sku`)
	if err != nil {
		return false, err
	}
	if len(productIDs) == 0 || len(rich) < 10 {
		return false, fmt.Errorf("seeded %d active products, %d SKUs with 50+ units: too few", len(productIDs), len(rich))
	}

	rdbOpts, err := redis.ParseURL(c.redisURL)
	if err != nil {
		return false, err
	}
	rdb := redis.NewClient(rdbOpts)
	defer rdb.Close()
	defer rdb.FlushDB(context.WithoutCancel(ctx))
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return false, fmt.Errorf("redis FLUSHDB: %w", err)
	}

	// Two instances behind the proxy.
	insts := make([]*instance, 2)
	for i := range insts {
		port, err := scratch.FreePort()
		if err != nil {
			return false, err
		}
		insts[i] = &instance{n: i + 1, addr: "127.0.0.1:" + strconv.Itoa(port), bin: bin, env: env, outDir: outDir}
	}
	defer func() {
		for _, in := range insts {
			in.kill()
		}
	}()
	for _, in := range insts {
		if err := in.start(ctx); err != nil {
			return false, err
		}
	}
	for _, in := range insts {
		if _, err := in.waitReady(ctx); err != nil {
			return false, err
		}
	}
	lb := newBalancer(insts)
	pollCtx, stopPolling := context.WithCancel(ctx)
	defer stopPolling()
	lb.poll(pollCtx, 300*time.Millisecond)
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return false, err
	}
	proxySrv := &http.Server{Handler: lb, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = proxySrv.Serve(pl) }()
	defer proxySrv.Close()
	base := "http://" + pl.Addr().String()
	logf("instances on %s and %s; proxy on %s", insts[0].addr, insts[1].addr, base)

	// The load: 30% product list, 25% product by id, 30% inventory by SKU, 15% orders.
	pk := "Bearer " + created.Publishable
	var genMu sync.Mutex
	rng := rand.New(rand.NewPCG(42, 7))
	var keyN atomic.Int64
	runID := time.Now().UnixNano()
	address := map[string]string{"name": "Rolling Shopper", "line1": "1 Loopback Way", "city": "San Francisco",
		"region": "CA", "postal_code": "94103", "country": "US"}
	targeter := func(t *vegeta.Target) error {
		genMu.Lock()
		defer genMu.Unlock()
		t.Header = http.Header{"Authorization": {pk}}
		t.Body = nil
		switch x := rng.IntN(100); {
		case x < 30:
			t.Method, t.URL = http.MethodGet, base+"/api/v1/products?limit=20"
		case x < 55:
			t.Method, t.URL = http.MethodGet, base+"/api/v1/products/"+productIDs[rng.IntN(len(productIDs))]
		case x < 85:
			t.Method, t.URL = http.MethodGet, base+"/api/v1/inventory/"+url.PathEscape(skus[rng.IntN(len(skus))])
		default:
			n := 1 + rng.IntN(3)
			var lines []map[string]any
			for _, j := range rng.Perm(len(rich))[:n] {
				lines = append(lines, map[string]any{"sku": rich[j], "quantity": 1})
			}
			// The email carries the number of lines, so that SQL can check every order.
			t.Body, _ = json.Marshal(map[string]any{"email": fmt.Sprintf("lines%d@example.com", n),
				"shipping_address": address, "line_items": lines})
			t.Method, t.URL = http.MethodPost, base+"/api/v1/orders"
			t.Header.Set("Content-Type", "application/json")
			t.Header.Set("Idempotency-Key", fmt.Sprintf("rolling-%d-%d", runID, keyN.Add(1)))
		}
		return nil
	}

	tl := &timeline{}
	tl.mark("before")
	attacker := vegeta.NewAttacker(vegeta.Timeout(30*time.Second), vegeta.KeepAlive(true))
	var results []vegeta.Result
	done := make(chan struct{})
	go func() {
		defer close(done)
		for r := range attacker.Attack(targeter, vegeta.Rate{Freq: c.rate, Per: time.Second}, 0, "rolling") {
			if r.Method != http.MethodPost && r.Code/100 == 2 {
				r.Body = nil
			}
			results = append(results, *r)
		}
	}()
	loadStart := time.Now()
	logf("load on: %d req/s through the proxy", c.rate)

	var restarts []restart
	orchestrate := func() error {
		if err := sleep(ctx, c.pre); err != nil {
			return err
		}
		for i, in := range insts {
			tl.mark(fmt.Sprintf("instance %d draining", in.n))
			r := restart{Instance: in.n}
			t0 := time.Now()
			if err := in.proc.Process.Signal(syscall.SIGTERM); err != nil {
				return err
			}
			logf("SIGTERM to instance %d (pid %d)", in.n, in.proc.Process.Pid)
			var exitErr error
			select {
			case exitErr = <-in.exited:
			case <-time.After(60 * time.Second):
				return fmt.Errorf("instance %d did not exit within 60 s of SIGTERM", in.n)
			case <-ctx.Done():
				return ctx.Err()
			}
			r.Exit = time.Since(t0)
			r.ExitStatus = "0"
			if exitErr != nil {
				r.ExitStatus = exitErr.Error()
			}
			r.Unhealthy = lb.unhealthySince(i, t0)
			logf("instance %d exited after %s (%s); the proxy saw it unready after %s", in.n, scratch.MS(r.Exit), r.ExitStatus, scratch.MS(r.Unhealthy))
			tl.mark(fmt.Sprintf("instance %d starting", in.n))
			t1 := time.Now()
			if err := in.start(ctx); err != nil {
				return err
			}
			if r.Ready, err = in.waitReady(ctx); err != nil {
				return err
			}
			// The proxy routes to it again at its next poll.
			for wait := time.Now(); !lb.backends[i].healthy.Load() && time.Since(wait) < 5*time.Second; {
				time.Sleep(10 * time.Millisecond)
			}
			r.Routed = lb.healthySince(i, t1)
			logf("instance %d ready after %s; routed to after %s", in.n, scratch.MS(r.Ready), scratch.MS(r.Routed))
			restarts = append(restarts, r)
			if i == 0 {
				tl.mark("between")
				if err := sleep(ctx, c.settle); err != nil {
					return err
				}
			}
		}
		tl.mark("after")
		return sleep(ctx, c.post)
	}
	oerr := orchestrate()
	attacker.Stop()
	<-done
	stopPolling()
	loadWall := time.Since(loadStart)
	if oerr != nil {
		return false, oerr
	}
	logf("load off: %d requests in %s", len(results), loadWall.Round(time.Millisecond))

	rep := summarize(results, tl)
	rep.restarts = restarts
	rep.retries, rep.retryErrs, rep.proxyErrs, rep.noBackend = lb.stats()
	rep.cpus, rep.rate, rep.wall, rep.drainDelay, rep.products = runtime.NumCPU(), c.rate, loadWall, c.drainDelay, c.products

	// No partial orders: every 201 is in the database, and every order has the lines
	// its request had (the count is in its email).
	vctx, vcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer vcancel()
	if err := conn.QueryRow(vctx, `SELECT count(*) FROM unnest($1::text[]) AS c(id) WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = c.id)`,
		rep.orderIDs).Scan(&rep.missing); err != nil {
		return false, err
	}
	if err := conn.QueryRow(vctx, `SELECT count(*) FROM orders WHERE merchant_id = $1`, created.MerchantID).Scan(&rep.ordersInDB); err != nil {
		return false, err
	}
	if err := conn.QueryRow(vctx, `SELECT count(*) FROM orders o WHERE o.merchant_id = $1 AND
		(SELECT count(*) FROM order_line_items li WHERE li.order_id = o.id) <> substring(o.email from 'lines(\d+)@')::int`,
		created.MerchantID).Scan(&rep.partial); err != nil {
		return false, err
	}
	if err := conn.QueryRow(vctx, `SELECT count(*) FROM inventory_levels WHERE merchant_id = $1
		AND (reserved > on_hand OR reserved < 0 OR on_hand < 0)`, created.MerchantID).Scan(&rep.badLevels); err != nil {
		return false, err
	}
	text := rep.markdown()
	fmt.Print(text)
	if err := os.WriteFile(filepath.Join(outDir, "rolling.md"), []byte(text), 0o644); err != nil {
		return false, err
	}
	logf("wrote bench/out/rolling.md; instance logs: bench/out/rolling-instance-*.log")
	return rep.failed > 0 || rep.missing > 0 || rep.partial > 0 || rep.ordersInDB != len(rep.orderIDs), nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// instance is one `mercantile serve` on a fixed port; start replaces its process.
type instance struct {
	n          int
	addr, bin  string
	env        map[string]string
	outDir     string
	generation int
	proc       *exec.Cmd
	exited     chan error
	logFile    *os.File
}

func (in *instance) start(ctx context.Context) error {
	in.generation++
	f, err := os.Create(filepath.Join(in.outDir, fmt.Sprintf("rolling-instance-%d-%d.log", in.n, in.generation)))
	if err != nil {
		return err
	}
	env := map[string]string{"HTTP_ADDR": in.addr}
	for k, v := range in.env {
		env[k] = v
	}
	cmd := exec.Command(in.bin, "serve")
	cmd.Env, cmd.Stdout, cmd.Stderr = scratch.ChildEnv(env), f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	in.proc, in.logFile, in.exited = cmd, f, make(chan error, 1)
	exited := in.exited
	go func() {
		err := cmd.Wait()
		f.Close()
		exited <- err
	}()
	return ctx.Err()
}

// waitReady polls /readyz until it answers 200, and returns how long since now.
func (in *instance) waitReady(ctx context.Context) (time.Duration, error) {
	began := time.Now()
	client := &http.Client{Timeout: time.Second}
	for time.Since(began) < 60*time.Second {
		select {
		case err := <-in.exited:
			in.exited <- err
			return 0, fmt.Errorf("instance %d exited at start: %v (see its log in bench/out)", in.n, err)
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if status(ctx, client, "http://"+in.addr+"/readyz") == http.StatusOK {
			return time.Since(began), nil
		}
	}
	return 0, fmt.Errorf("instance %d was not ready within 60 s", in.n)
}

// kill stops a running instance: SIGTERM, then SIGKILL of its group after 20 s.
func (in *instance) kill() {
	if in.proc == nil {
		return
	}
	select {
	case err := <-in.exited:
		in.exited <- err
		return
	default:
	}
	_ = in.proc.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-in.exited:
		in.exited <- err
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-in.proc.Process.Pid, syscall.SIGKILL)
	}
}

func status(ctx context.Context, client *http.Client, u string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
