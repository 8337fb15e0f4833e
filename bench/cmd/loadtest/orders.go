package main

// The orders suite (-suite orders): inventory lookups and order placement under load,
// then the overselling race: a few SKUs with little stock, thousands of concurrent
// orders for them, and a check in SQL that nothing was oversold and that every stock
// level agrees with its ledger.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/mercantile/mercantile/bench/internal/scratch"
)

const (
	ordersBegin = "<!-- orders suite: begin (written by `go run ./bench/cmd/loadtest -suite orders`) -->"
	ordersEnd   = "<!-- orders suite: end -->"
)

// ordersBlock returns the orders suite's section of a RESULTS.md, markers included.
func ordersBlock(doc string) string {
	i := strings.Index(doc, ordersBegin)
	j := strings.Index(doc, ordersEnd)
	if i < 0 || j < i {
		return ""
	}
	return doc[i : j+len(ordersEnd)]
}

// problemCode names a failed response: the problem+json code, or the transport error.
func problemCode(status uint16, transportErr string, body []byte) string {
	if transportErr != "" && status == 0 {
		if len(transportErr) > 60 {
			transportErr = transportErr[:60]
		}
		return "transport: " + transportErr
	}
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(body, &p)
	if p.Code == "" {
		p.Code = "?"
	}
	return strconv.Itoa(int(status)) + " " + p.Code
}

type raceResult struct {
	SKUs            []string       `json:"skus"`
	Warehouses      int            `json:"warehouses"`
	StockPerLevel   int            `json:"stock_per_level"`
	Orders          int            `json:"orders"`
	Workers         int            `json:"workers"`
	Seconds         float64        `json:"seconds"`
	Created         int            `json:"created"`
	Insufficient    int            `json:"insufficient_inventory"`
	Other           map[string]int `json:"other"`
	P50, P95, P99   time.Duration
	UnitsRequested  int       `json:"units_requested_in_201s"`
	PerSKU          []raceSKU `json:"per_sku"`
	OrdersInDB      int       `json:"orders_in_db"`
	Oversold        int       `json:"oversold_units"`
	BadLevels       int       `json:"levels_reserved_gt_on_hand_or_negative"`
	LedgerMismatch  int       `json:"levels_not_matching_ledger"`
	LevelsChecked   int       `json:"levels_checked"`
	LedgerExamples  []string  `json:"ledger_examples,omitempty"`
	ReservedMissing int       `json:"sku_reserved_not_equal_placed"`
}

type raceSKU struct {
	SKU      string `json:"sku"`
	Initial  int    `json:"initial"`
	Placed   int    `json:"placed_units"`
	Reserved int    `json:"reserved"`
	OnHand   int    `json:"on_hand"`
}

func runOrders(ctx context.Context, c config, rep report, conn *pgx.Conn, dbURL, merchantID, base, secret, publishable string,
	server *exec.Cmd, exited chan error, outDir string) error {
	if publishable == "" {
		return errors.New("merchant create printed no publishable key")
	}
	pk := http.Header{"Authorization": {"Bearer " + publishable}}
	sk := http.Header{"Authorization": {"Bearer " + secret}}
	client := &http.Client{Timeout: 30 * time.Second}

	// Every level as seeded (the seed writes no movements), so that the ledger check
	// afterwards is: seeded value + sum of movements = current value.
	if _, err := conn.Exec(ctx, `CREATE TABLE bench_level_snapshot AS SELECT id, on_hand, reserved FROM inventory_levels`); err != nil {
		return fmt.Errorf("snapshot of the levels: %w", err)
	}
	strs := func(query string, args ...any) ([]string, error) {
		rows, err := conn.Query(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[string])
	}
	// SKUs of active products (others cannot be ordered) with plenty of stock for the
	// placement scenario (each order takes 1 unit of 1-3 of them), and the race SKUs
	// apart from them.
	rich, err := strs(`SELECT v.sku FROM variants v JOIN inventory_levels l ON l.variant_id = v.id
		JOIN products p ON p.id = v.product_id AND p.status = 'active'
		WHERE v.merchant_id = $1 GROUP BY v.sku HAVING sum(l.on_hand - l.reserved) >= 100 ORDER BY v.sku`, merchantID)
	if err != nil {
		return err
	}
	all, err := strs(`SELECT sku FROM variants WHERE merchant_id = $1 ORDER BY sku`, merchantID)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(c.seed, 2))
	rng.Shuffle(len(rich), func(i, j int) { rich[i], rich[j] = rich[j], rich[i] })
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	if len(rich) < c.raceSKUs+100 {
		return fmt.Errorf("only %d SKUs with 100+ units seeded; need more products", len(rich))
	}
	race, rich := rich[:c.raceSKUs], rich[c.raceSKUs:]
	warehouses, err := strs(`SELECT code FROM warehouses WHERE merchant_id = $1 ORDER BY code`, merchantID)
	if err != nil {
		return err
	}

	address := map[string]string{"name": "Bench Shopper", "line1": "1 Loopback Way", "city": "San Francisco",
		"region": "CA", "postal_code": "94103", "country": "US"}
	orderBody := func(r *rand.Rand, pool []string, maxQty int) []byte {
		n := 1 + r.IntN(3)
		picked := map[string]bool{}
		var lines []map[string]any
		for len(lines) < n {
			s := pool[r.IntN(len(pool))]
			if picked[s] {
				if len(pool) < 4 {
					break
				}
				continue
			}
			picked[s] = true
			lines = append(lines, map[string]any{"sku": s, "quantity": 1 + r.IntN(maxQty)})
		}
		b, _ := json.Marshal(map[string]any{"email": "shopper@example.com", "shipping_address": address, "line_items": lines})
		return b
	}
	var keys sync.Mutex
	keyN := 0
	nextKey := func() string {
		keys.Lock()
		defer keys.Unlock()
		keyN++
		return fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), keyN)
	}
	skuTargets := make([]vegeta.Target, 0, 3000)
	for _, s := range all[:min(3000, len(all))] {
		skuTargets = append(skuTargets, vegeta.Target{Method: http.MethodGet, URL: base + "/api/v1/inventory/" + url.PathEscape(s), Header: pk})
	}
	var genMu sync.Mutex
	genRng := rand.New(rand.NewPCG(c.seed, 3))
	plan := []scenario{
		{name: fmt.Sprintf("inventory by SKU (%d random SKUs)", len(skuTargets)), request: "GET /api/v1/inventory/{sku}", class: "inventory",
			conns: c.conns, targets: skuTargets, warm: true, check: skuTargets[0].URL},
		{name: fmt.Sprintf("place order (1-3 lines of %d SKUs, 1 unit each)", len(rich)), request: "POST /api/v1/orders", class: "order",
			conns: c.conns, gen: func(uint64) vegeta.Target {
				genMu.Lock()
				body := orderBody(genRng, rich, 1)
				genMu.Unlock()
				h := http.Header{"Authorization": pk["Authorization"], "Content-Type": {"application/json"}, "Idempotency-Key": {nextKey()}}
				return vegeta.Target{Method: http.MethodPost, URL: base + "/api/v1/orders", Header: h, Body: body}
			}, warm: true},
	}
	// The same two at fixed offered rates: the latency a storefront sees at that load,
	// where the runs above measure the most the machine serves.
	for _, rate := range c.inventoryRates {
		s := plan[0]
		s.name, s.rate, s.warm, s.check = fmt.Sprintf("inventory by SKU at %d req/s", rate), rate, false, ""
		plan = append(plan, s)
	}
	for _, rate := range c.orderRates {
		s := plan[1]
		s.name, s.rate, s.warm = fmt.Sprintf("place order at %d orders/s", rate), rate, false
		plan = append(plan, s)
	}
	raw, err := os.Create(filepath.Join(outDir, "results-orders.json"))
	if err != nil {
		return err
	}
	defer raw.Close()
	for _, s := range plan {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := runScenario(ctx, c, client, s, pk, server.Process.Pid)
		logf("  %d requests, %.0f req/s, p50 %s p95 %s p99 %s, statuses %v, failures %v", r.Requests, r.Throughput,
			scratch.MS(r.P50), scratch.MS(r.P95), scratch.MS(r.P99), r.Statuses, r.Codes)
		rep.Scenarios = append(rep.Scenarios, r)
		_ = json.NewEncoder(raw).Encode(r)
		select {
		case err := <-exited:
			exited <- err
			rep.ServerError = fmt.Sprintf("the server exited during %s: %v (see bench/out/server-orders.log)", s.name, err)
			return errors.Join(errors.New(rep.ServerError), writeOrdersReport(c, rep, nil))
		default:
		}
	}

	// The same placements through a second server that creates a PaymentIntent for each
	// order at stripe-mock, after the order's transaction commits.
	if stripeBase, stripePID, stop, err := stripeServer(ctx, server, outDir, client); err != nil {
		logf("skipping placement with Stripe: %v", err)
		rep.Skipped = "placement with Stripe: " + err.Error()
	} else {
		s := scenario{name: fmt.Sprintf("place order with Stripe (stripe-mock; 1-3 lines of %d SKUs)", len(rich)), request: "POST /api/v1/orders",
			class: "order-stripe", conns: c.conns, warm: true, gen: func(uint64) vegeta.Target {
				genMu.Lock()
				body := orderBody(genRng, rich, 1)
				genMu.Unlock()
				h := http.Header{"Authorization": pk["Authorization"], "Content-Type": {"application/json"}, "Idempotency-Key": {nextKey()}}
				return vegeta.Target{Method: http.MethodPost, URL: stripeBase + "/api/v1/orders", Header: h, Body: body}
			}}
		r := runScenario(ctx, c, client, s, pk, stripePID)
		stop()
		if err := conn.QueryRow(ctx, `SELECT count(*), count(stripe_payment_intent_id) FROM payments WHERE provider = 'stripe'`).
			Scan(&rep.StripePayments, &rep.StripeIntents); err != nil {
			return err
		}
		logf("  %d requests, %.0f req/s, p50 %s p95 %s p99 %s, statuses %v, failures %v", r.Requests, r.Throughput,
			scratch.MS(r.P50), scratch.MS(r.P95), scratch.MS(r.P99), r.Statuses, r.Codes)
		rep.Scenarios = append(rep.Scenarios, r)
		_ = json.NewEncoder(raw).Encode(r)
	}

	rr, err := runRace(ctx, c, conn, merchantID, base, sk, pk, race, warehouses, orderBody)
	if rr != nil {
		_ = json.NewEncoder(raw).Encode(rr)
	}
	if err != nil {
		return errors.Join(err, writeOrdersReport(c, rep, rr))
	}
	return writeOrdersReport(c, rep, rr)
}

func runRace(ctx context.Context, c config, conn *pgx.Conn, merchantID, base string, sk, pk http.Header, race, warehouses []string,
	orderBody func(*rand.Rand, []string, int) []byte) (*raceResult, error) {
	rr := &raceResult{SKUs: race, Warehouses: len(warehouses), StockPerLevel: c.raceStock, Orders: c.raceOrders,
		Workers: c.raceWorkers, Other: map[string]int{}}
	setClient := &http.Client{Timeout: 30 * time.Second}
	for _, s := range race {
		for _, w := range warehouses {
			body, _ := json.Marshal(map[string]any{"sku": s, "warehouse_code": w, "on_hand": c.raceStock, "reason": "bench race"})
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/inventory/set", bytes.NewReader(body))
			req.Header.Set("Authorization", sk.Get("Authorization"))
			req.Header.Set("Content-Type", "application/json")
			resp, err := setClient.Do(req)
			if err != nil {
				return nil, fmt.Errorf("inventory/set: %w", err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return nil, fmt.Errorf("inventory/set %s %s: %d %s", s, w, resp.StatusCode, msg)
			}
		}
	}
	logf("race: %d orders for %d SKUs (%d x %d units each) from %d workers", c.raceOrders, len(race), len(warehouses), c.raceStock, c.raceWorkers)

	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	tr := &http.Transport{MaxIdleConns: c.raceWorkers, MaxIdleConnsPerHost: c.raceWorkers, MaxConnsPerHost: c.raceWorkers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	jobs := make(chan int)
	var mu sync.Mutex
	var lat []time.Duration
	began := time.Now()
	var wg sync.WaitGroup
	for range c.raceWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r := rand.New(rand.NewPCG(c.seed, uint64(1000+i)))
				body := orderBody(r, race, 2)
				var in struct {
					LineItems []struct{ Quantity int } `json:"line_items"`
				}
				_ = json.Unmarshal(body, &in)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/orders", bytes.NewReader(body))
				req.Header.Set("Authorization", pk.Get("Authorization"))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", fmt.Sprintf("race-%d-%d", began.UnixNano(), i))
				t0 := time.Now()
				resp, err := client.Do(req)
				var status uint16
				var msg []byte
				errText := ""
				if err != nil {
					errText = err.Error()
				} else {
					msg, _ = io.ReadAll(resp.Body)
					resp.Body.Close()
					status = uint16(resp.StatusCode)
				}
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				switch code := problemCode(status, errText, msg); {
				case status == http.StatusCreated:
					rr.Created++
					for _, l := range in.LineItems {
						rr.UnitsRequested += l.Quantity
					}
				case code == "409 insufficient_inventory":
					rr.Insufficient++
				default:
					rr.Other[code]++
				}
				mu.Unlock()
			}
		}()
	}
	for i := range c.raceOrders {
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
	rr.Seconds = time.Since(began).Seconds()
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	rr.P50, rr.P95, rr.P99 = pct(.5), pct(.95), pct(.99)
	logf("race: %.1f s; 201: %d, 409 insufficient_inventory: %d, other: %v", rr.Seconds, rr.Created, rr.Insufficient, rr.Other)

	// Verification, in SQL, on a fresh context (the race's may have run out).
	vctx, vcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer vcancel()
	initial := c.raceStock * len(warehouses)
	for _, s := range race {
		x := raceSKU{SKU: s, Initial: initial}
		if err := conn.QueryRow(vctx, `SELECT coalesce(sum(li.quantity), 0) FROM order_line_items li JOIN orders o ON o.id = li.order_id
			WHERE o.merchant_id = $1 AND li.sku = $2 AND o.status <> 'cancelled'`, merchantID, s).Scan(&x.Placed); err != nil {
			return rr, err
		}
		if err := conn.QueryRow(vctx, `SELECT coalesce(sum(l.on_hand), 0), coalesce(sum(l.reserved), 0) FROM inventory_levels l
			JOIN variants v ON v.id = l.variant_id WHERE v.merchant_id = $1 AND v.sku = $2`, merchantID, s).Scan(&x.OnHand, &x.Reserved); err != nil {
			return rr, err
		}
		rr.Oversold += max(0, x.Placed-x.Initial)
		if x.Reserved != x.Placed {
			rr.ReservedMissing++
		}
		rr.PerSKU = append(rr.PerSKU, x)
	}
	if err := conn.QueryRow(vctx, `SELECT count(DISTINCT o.id) FROM orders o JOIN order_line_items li ON li.order_id = o.id
		WHERE o.merchant_id = $1 AND li.sku = ANY($2)`, merchantID, race).Scan(&rr.OrdersInDB); err != nil {
		return rr, err
	}
	if err := conn.QueryRow(vctx, `SELECT count(*) FROM inventory_levels WHERE merchant_id = $1
		AND (reserved > on_hand OR reserved < 0 OR on_hand < 0)`, merchantID).Scan(&rr.BadLevels); err != nil {
		return rr, err
	}
	// Every level, including those the placement scenario drew on: seeded value plus
	// the ledger's deltas must be the current value.
	rows, err := conn.Query(vctx, `
		WITH m AS (SELECT variant_id, warehouse_id, sum(on_hand_delta) AS dh, sum(reserved_delta) AS dr
		           FROM inventory_movements WHERE merchant_id = $1 GROUP BY variant_id, warehouse_id)
		SELECT v.sku, w.code, s.on_hand, s.reserved, coalesce(m.dh, 0), coalesce(m.dr, 0), l.on_hand, l.reserved
		FROM inventory_levels l JOIN bench_level_snapshot s ON s.id = l.id
		JOIN variants v ON v.id = l.variant_id JOIN warehouses w ON w.id = l.warehouse_id
		LEFT JOIN m ON m.variant_id = l.variant_id AND m.warehouse_id = l.warehouse_id
		WHERE l.merchant_id = $1`, merchantID)
	if err != nil {
		return rr, err
	}
	for rows.Next() {
		var sku, wh string
		var sh, sr, dh, dr, h, r int64
		if err := rows.Scan(&sku, &wh, &sh, &sr, &dh, &dr, &h, &r); err != nil {
			rows.Close()
			return rr, err
		}
		rr.LevelsChecked++
		if sh+dh != h || sr+dr != r {
			rr.LedgerMismatch++
			if len(rr.LedgerExamples) < 5 {
				rr.LedgerExamples = append(rr.LedgerExamples, fmt.Sprintf("%s@%s: seeded %d/%d + ledger %+d/%+d, level %d/%d (on hand/reserved)",
					sku, wh, sh, sr, dh, dr, h, r))
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rr, err
	}
	logf("race check: oversold %d units, %d bad levels, %d of %d levels off their ledger, %d orders in the database",
		rr.Oversold, rr.BadLevels, rr.LedgerMismatch, rr.LevelsChecked, rr.OrdersInDB)
	return rr, nil
}

// orderTarget is the p95 goal of the orders suite's scenarios.
func orderTarget(class string) (time.Duration, string) {
	if class == "inventory" {
		return 5 * time.Millisecond, "p95 ≤ 5 ms"
	}
	if class == "order-stripe" {
		return 3 * time.Second, "p95 well under 3 s (the seed's bound)"
	}
	return 50 * time.Millisecond, "p95 ≤ 50 ms"
}

func writeOrdersReport(c config, rep report, rr *raceResult) error {
	var b strings.Builder
	b.WriteString(ordersBegin + "\n")
	fmt.Fprintf(&b, "## Inventory and orders (issue 4)\n\n")
	fmt.Fprintf(&b, "Written by `bench/cmd/loadtest -suite orders` (`make bench-orders`) on %s.\n\n", rep.Date.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Machine | %d CPUs (`nproc`), %s memory, %s/%s; load average %s at the start |\n",
		rep.CPUs, rep.Memory, runtime.GOOS, runtime.GOARCH, rep.LoadAvg)
	fmt.Fprintf(&b, "| Go | %s |\n| PostgreSQL | %s |\n", rep.GoVersion, rep.Postgres)
	fmt.Fprintf(&b, "| Command | `%s` |\n", rep.Command)
	fmt.Fprintf(&b, "| Seed | `mercantile seed --products %d --variants %d --warehouses %d --seed %d`: %d variants, %d stock levels, %.1f s (a smaller catalog than the catalog suite's; stock is 0 or 1-250 per level) |\n\n",
		c.products, c.variants, c.warehouses, c.seed, rep.Seed.Variants, rep.Seed.InventoryLevels, rep.SeedWall.Seconds())
	fmt.Fprintf(&b, "Same method as the catalog load above (wrk for lookups; vegeta for placements, whose every body differs) with a fixed number of connections for %s "+
		"after a %s warm-up at 10 connections; \"alone\" is one connection for %s. Requests use the merchant's "+
		"publishable key (what a storefront holds). The server takes manual payments; the Stripe scenario runs against a second "+
		"server on the same database and Redis that creates a PaymentIntent at stripe-mock (on loopback) for every order, after "+
		"the order's transaction commits. Each order has a "+
		"unique `Idempotency-Key`, a valid US shipping address and 1-3 distinct lines, one unit each, of SKUs that "+
		"were seeded with at least 100 units in total and belong to active products.\n\n", c.duration, c.warmup, c.solo)
	fmt.Fprintf(&b, "The runs \"at N req/s\" offer that rate over the same connections (open loop, vegeta), whatever the answers' pace; "+
		"the others send each connection's next request as soon as its answer arrives, so they measure the most the machine serves "+
		"and their latency is mostly queueing (Little's law: p50 ≈ connections / throughput).\n\n")
	fmt.Fprintf(&b, "| scenario | request | tool | conns | offered | requests | req/s (2xx) | p50 | p95 | p99 | max | statuses | failures by code | target | met | alone: p50 / p95 (req/s) |\n")
	fmt.Fprintf(&b, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---|\n")
	for _, r := range rep.Scenarios {
		limit, text := orderTarget(r.Class)
		met := "yes"
		if r.P95 > limit {
			met = "**no**"
		}
		solo := "—"
		if r.SoloRate > 0 {
			solo = fmt.Sprintf("%s / %s (%.0f)", scratch.MS(r.SoloP50), scratch.MS(r.SoloP95), r.SoloRate)
		}
		offered := "as answered"
		if r.Rate > 0 {
			offered = strconv.Itoa(r.Rate) + "/s"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %d | %s | %d | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Name, r.Request, r.Tool, r.Conns,
			offered, r.Requests, r.Throughput, scratch.MS(r.P50), scratch.MS(r.P95), scratch.MS(r.P99), scratch.MS(r.Max), counts(r.Statuses), counts(r.Codes), text, met, solo)
	}
	b.WriteString("\n")
	for _, r := range rep.Scenarios {
		if len(r.ErrorTexts) > 0 {
			fmt.Fprintf(&b, "- %s, e.g.: %q\n", r.Name, r.ErrorTexts)
		}
	}
	if rep.StripePayments > 0 {
		fmt.Fprintf(&b, "\nStripe: %d orders placed through the Stripe server, %d of them with a PaymentIntent.\n", rep.StripePayments, rep.StripeIntents)
		if rep.StripeIntents < rep.StripePayments {
			fmt.Fprintf(&b, "**Some orders got no PaymentIntent: the Stripe scenario did not measure what it should (see bench/out/server-orders-stripe.log).**\n")
		}
	}
	if rep.Skipped != "" {
		fmt.Fprintf(&b, "\nNot run: %s.\n", rep.Skipped)
	}
	fmt.Fprintf(&b, "\nCPU per successful request during the loaded runs (the machine is shared, see the load average):\n\n")
	fmt.Fprintf(&b, "| scenario | server ms/req | load generator ms/req | rest of machine ms/req | machine busy |\n|---|---:|---:|---:|---:|\n")
	for _, r := range rep.Scenarios {
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f | %.0f%% |\n", r.Name, r.CPU.ServerMS, r.CPU.LoadgenMS, r.CPU.RestMS, r.CPU.BusyPercent)
	}
	if rep.ServerError != "" {
		fmt.Fprintf(&b, "\n**%s**\n", rep.ServerError)
	}
	b.WriteString("\n### The overselling race\n\n")
	if rr == nil {
		b.WriteString("Not run.\n")
	} else {
		other := 0
		for _, n := range rr.Other {
			other += n
		}
		fmt.Fprintf(&b, "%d SKUs set to %d units in each of %d warehouses (`POST /api/v1/inventory/set`, %d units per SKU), "+
			"then %d orders of 1-3 of those SKUs, 1-2 units each, from %d concurrent clients (one keep-alive connection each, "+
			"unique `Idempotency-Key`s). Checked afterwards in SQL.\n\n",
			len(rr.SKUs), rr.StockPerLevel, rr.Warehouses, rr.StockPerLevel*rr.Warehouses, rr.Orders, rr.Workers)
		fmt.Fprintf(&b, "| orders | workers | seconds | orders/s | 201 | 409 insufficient_inventory | other | p50 | p95 | p99 |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		otherText := strconv.Itoa(other)
		if other > 0 {
			otherText += " (" + counts(rr.Other) + ")"
		}
		fmt.Fprintf(&b, "| %d | %d | %.1f | %.0f | %d | %d | %s | %s | %s | %s |\n\n", rr.Created+rr.Insufficient+other, rr.Workers, rr.Seconds,
			float64(rr.Created+rr.Insufficient+other)/rr.Seconds, rr.Created, rr.Insufficient, otherText, scratch.MS(rr.P50), scratch.MS(rr.P95), scratch.MS(rr.P99))
		fmt.Fprintf(&b, "| SKU | initial stock | units in placed orders | reserved now | on hand now | oversold |\n|---|---:|---:|---:|---:|---:|\n")
		for _, x := range rr.PerSKU {
			fmt.Fprintf(&b, "| `%s` | %d | %d | %d | %d | %d |\n", x.SKU, x.Initial, x.Placed, x.Reserved, x.OnHand, max(0, x.Placed-x.Initial))
		}
		verdict := func(ok bool) string {
			if ok {
				return "yes"
			}
			return "**no**"
		}
		fmt.Fprintf(&b, "\n| check | result | ok |\n|---|---|---|\n")
		fmt.Fprintf(&b, "| oversold units (placed − initial, summed over SKUs) | %d | %s |\n", rr.Oversold, verdict(rr.Oversold == 0))
		fmt.Fprintf(&b, "| units in 201 responses = units in the database's orders | %d vs %d | %s |\n", rr.UnitsRequested, sumPlaced(rr.PerSKU), verdict(rr.UnitsRequested == sumPlaced(rr.PerSKU)))
		fmt.Fprintf(&b, "| orders in the database for these SKUs = 201 responses | %d vs %d | %s |\n", rr.OrdersInDB, rr.Created, verdict(rr.OrdersInDB == rr.Created))
		fmt.Fprintf(&b, "| SKUs whose reserved ≠ units placed | %d | %s |\n", rr.ReservedMissing, verdict(rr.ReservedMissing == 0))
		fmt.Fprintf(&b, "| levels with reserved > on hand or a negative (all %d levels) | %d | %s |\n", rr.LevelsChecked, rr.BadLevels, verdict(rr.BadLevels == 0))
		fmt.Fprintf(&b, "| levels where seeded value + sum of `inventory_movements` ≠ level (on hand and reserved; all levels, the placement scenario's included) | %d of %d | %s |\n",
			rr.LedgerMismatch, rr.LevelsChecked, verdict(rr.LedgerMismatch == 0))
		fmt.Fprintf(&b, "| every response 201 or 409 insufficient_inventory (no 5xx) | %d other | %s |\n", other, verdict(other == 0))
		if len(rr.LedgerExamples) > 0 {
			fmt.Fprintf(&b, "\nLedger mismatches, e.g.: %q\n", rr.LedgerExamples)
		}
	}
	b.WriteString("\nRaw numbers: `bench/out/results-orders.json`; the server's log: `bench/out/server-orders.log`.\n")
	b.WriteString(ordersEnd)
	block := b.String()

	old, err := os.ReadFile(c.out)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := string(old)
	switch {
	case ordersBlock(doc) != "":
		doc = strings.Replace(doc, ordersBlock(doc), block, 1)
	case strings.Contains(doc, "## Findings\n"):
		doc = strings.Replace(doc, "## Findings\n", block+"\n\n## Findings\n", 1)
	default:
		doc += "\n" + block + "\n"
	}
	if err := os.WriteFile(c.out, []byte(doc), 0o644); err != nil {
		return err
	}
	logf("wrote the orders section of %s", c.out)
	return nil
}

func sumPlaced(xs []raceSKU) int {
	n := 0
	for _, x := range xs {
		n += x.Placed
	}
	return n
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "—"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
