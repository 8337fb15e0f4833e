package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"html"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"github.com/jackc/pgx/v5"

	"github.com/mercantile/mercantile/ent/merchant"
	"github.com/mercantile/mercantile/ent/warehouse"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/merchants"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/pulid"
)

// MaxSeedVariants bounds --variants: every product type's three options have at least
// this many combinations.
const MaxSeedVariants = 100

// SeedOptions describes a synthetic catalog to add to one merchant.
type SeedOptions struct {
	MerchantID pulid.ID
	// Products to add, each with Variants variants (1 to MaxSeedVariants) and a stock
	// level in each of the warehouses W1..WWarehouses (created when missing).
	Products   int
	Variants   int
	Warehouses int
	// Seed makes the content (titles, prices, options, stock...) reproducible; ids and
	// timestamps are always fresh.
	Seed uint64
	// BatchSize is the number of products per transaction (default 1000 on PostgreSQL,
	// 250 on SQLite).
	BatchSize int
	// Cache, when set, has the merchant's cached product lists retired at the end.
	Cache kv.Store
	// Progress, when set, is called after each committed batch with the products and
	// rows written so far. Calls never overlap.
	Progress func(products, rows int)
}

// SeedResult is what Seed wrote.
type SeedResult struct {
	MerchantID        string   `json:"merchant_id"`
	Dialect           string   `json:"dialect"`
	Seed              uint64   `json:"seed"`
	Products          int      `json:"products"`
	Options           int      `json:"options"`
	Variants          int      `json:"variants"`
	Warehouses        []string `json:"warehouses"`
	WarehousesCreated int      `json:"warehouses_created"`
	InventoryLevels   int      `json:"inventory_levels"`
	SearchDocuments   int      `json:"search_documents"`
	Rows              int      `json:"rows"`
	Batches           int      `json:"batches"`
	Seconds           float64  `json:"seconds"`
	RowsPerSecond     float64  `json:"rows_per_second"`
}

// Seed adds a realistic synthetic catalog to a merchant with bulk writes: COPY in
// batched transactions on PostgreSQL, multi-row INSERTs on SQLite. Every row is what the
// catalog service itself would write for the same input (handles made unique the same
// way, variant titles "Red / M", options at positions 1 to 3, tags a JSON array, the
// search document from the same SQL), so the service reads seeded products as its own.
// It is for benchmarks and demos: it bypasses validation and the privacy layer, and is
// not reachable from the API. Each batch commits on its own: a failure leaves the
// batches committed before it.
// Errors: not_found (no such merchant), invalid (counts out of range).
func Seed(ctx context.Context, db *database.DB, opts SeedOptions) (SeedResult, error) {
	start := time.Now()
	var val apperr.Validation
	if opts.Products < 0 {
		val.Add("products", "must not be negative")
	}
	if opts.Variants < 1 || opts.Variants > MaxSeedVariants {
		val.Add("variants", "must be 1 to %d", MaxSeedVariants)
	}
	if opts.Warehouses < 0 || opts.Warehouses > 100 {
		val.Add("warehouses", "must be 0 to 100")
	}
	if err := val.Err(); err != nil {
		return SeedResult{}, err
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
		if db.Dialect != dialect.Postgres {
			opts.BatchSize = 250
		}
	}
	sys := viewer.SystemContext(ctx)
	exists, err := db.Client.Merchant.Query().Where(merchant.ID(opts.MerchantID)).Exist(sys)
	if err != nil {
		return SeedResult{}, apperr.From(err)
	}
	if !exists {
		return SeedResult{}, apperr.New(apperr.NotFound, "Merchant %s does not exist.", opts.MerchantID)
	}
	mctx := viewer.MerchantSystemContext(ctx, opts.MerchantID)

	res := SeedResult{MerchantID: opts.MerchantID.String(), Dialect: db.Dialect, Seed: opts.Seed}
	whIDs, created, err := seedWarehouses(mctx, db, opts.MerchantID, opts.Warehouses)
	if err != nil {
		return SeedResult{}, err
	}
	for i := range whIDs {
		res.Warehouses = append(res.Warehouses, "W"+strconv.Itoa(i+1))
	}
	res.WarehousesCreated = created
	res.Rows = created

	gen, err := newSeedGenerator(ctx, db, opts, whIDs)
	if err != nil {
		return SeedResult{}, err
	}
	var write func(context.Context, *seedBatch) (int, error)
	workers := 1
	if db.Dialect == dialect.Postgres {
		if db.Pool == nil {
			return SeedResult{}, apperr.New(apperr.Internal, "Seeding PostgreSQL needs the pgx pool.")
		}
		ins := strings.Replace(indexPostgres, "WHERE p.id = $1", "WHERE p.merchant_id = $1 AND p.id = ANY($2)", 1)
		if ins == indexPostgres {
			return SeedResult{}, apperr.New(apperr.Internal, "The search index statement changed; update seed.go.")
		}
		write = func(ctx context.Context, b *seedBatch) (int, error) { return copyBatch(ctx, db, ins, b) }
		// One connection copies while the other maintains indexes and builds search
		// documents; more would only contend for the two cores.
		workers = 2
	} else {
		// The variants subquery gets the merchant too, so it can use the variants index
		// whose leading column is merchant_id instead of scanning every variant per
		// product: the same rows, in linear rather than quadratic time.
		ins := strings.Replace(indexSQLite, "WHERE p.id = ?", "WHERE p.merchant_id = ? AND p.id IN (SELECT value FROM json_each(?))", 1)
		if !strings.Contains(ins, "json_each") || !strings.Contains(ins, "v.merchant_id = p.merchant_id") {
			return SeedResult{}, apperr.New(apperr.Internal, "The search index statement changed; update seed.go.")
		}
		write = func(ctx context.Context, b *seedBatch) (int, error) { return insertBatch(ctx, db, ins, b) }
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan *seedBatch, workers)
	go func() {
		defer close(batches)
		for done := 0; done < opts.Products; done += opts.BatchSize {
			b := gen.batch(min(opts.BatchSize, opts.Products-done))
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
		}
	}()

	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for b := range batches {
				docs, err := write(ctx, b)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
					continue
				}
				if firstErr == nil {
					res.Batches++
					res.Products += len(b.products)
					res.Options += len(b.options)
					res.Variants += len(b.variants)
					res.InventoryLevels += len(b.levels)
					res.SearchDocuments += docs
					res.Rows += len(b.products) + len(b.options) + len(b.variants) + len(b.levels) + docs
					if opts.Progress != nil {
						opts.Progress(res.Products, res.Rows)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return SeedResult{}, apperr.Wrap(firstErr, apperr.Internal, fmt.Sprintf("Seeding failed after %d products: %v", res.Products, firstErr))
	}
	if err := ctx.Err(); err != nil {
		return SeedResult{}, err
	}
	if db.Dialect == dialect.Postgres && res.Products > 0 {
		// As after any bulk load: planner statistics for tables that just grew by orders
		// of magnitude, and the visibility map and hint bits, without which index-only
		// scans visit the heap and the first readers write every page. Autovacuum would
		// get there, minutes later and during the benchmark.
		if _, err := db.Pool.Exec(ctx, `VACUUM (ANALYZE) products, product_options, variants, warehouses, inventory_levels, product_search`); err != nil {
			return SeedResult{}, apperr.Wrap(err, apperr.Internal, "Vacuuming the seeded tables failed.")
		}
	}
	if opts.Cache != nil {
		newCache(opts.Cache).invalidate(context.WithoutCancel(ctx), opts.MerchantID)
	}
	res.Seconds = time.Since(start).Seconds()
	if res.Seconds > 0 {
		res.RowsPerSecond = float64(res.Rows) / res.Seconds
	}
	return res, nil
}

// seedWarehouses returns the ids of W1..Wn, creating those the merchant lacks.
func seedWarehouses(mctx context.Context, db *database.DB, merchantID pulid.ID, n int) ([]string, int, error) {
	codes := make([]string, n)
	for i := range codes {
		codes[i] = "W" + strconv.Itoa(i+1)
	}
	existing, err := db.Client.Warehouse.Query().Where(warehouse.CodeIn(codes...)).All(mctx)
	if err != nil {
		return nil, 0, apperr.From(err)
	}
	byCode := map[string]string{}
	for _, w := range existing {
		byCode[w.Code] = w.ID.String()
	}
	ids := make([]string, n)
	created := 0
	for i, code := range codes {
		if id, ok := byCode[code]; ok {
			ids[i] = id
			continue
		}
		w, err := db.Client.Warehouse.Create().SetMerchantID(merchantID).SetCode(code).
			SetName("Warehouse " + strconv.Itoa(i+1)).SetPriority(10 * (i + 1)).Save(mctx)
		if err != nil {
			return nil, 0, apperr.From(err)
		}
		ids[i] = w.ID.String()
		created++
	}
	return ids, created, nil
}

// seedBatch holds rows in the column order of the seed*Columns lists.
type seedBatch struct {
	merchantID                          string
	products, options, variants, levels [][]any
	productIDs                          []string
}

var (
	seedProductColumns = []string{"id", "created_at", "updated_at", "title", "handle", "description_html",
		"vendor", "product_type", "tags", "status", "merchant_id"}
	seedOptionColumns = []string{"id", "created_at", "updated_at", "name", "position", "values",
		"product_id", "merchant_id"}
	seedVariantColumns = []string{"id", "created_at", "updated_at", "sku", "title", "option1", "option2",
		"option3", "price", "compare_at_price", "barcode", "weight_grams", "position", "product_id", "merchant_id"}
	seedLevelColumns = []string{"id", "created_at", "updated_at", "on_hand", "reserved", "merchant_id",
		"warehouse_id", "variant_id"}
)

// copyBatch writes a batch with COPY and indexes its products in one transaction.
func copyBatch(ctx context.Context, db *database.DB, indexSQL string, b *seedBatch) (int, error) {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	// Losing the last batches in a crash is acceptable for synthetic data; waiting for
	// each commit's flush is not needed.
	if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit TO off"); err != nil {
		return 0, err
	}
	for _, t := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"products", seedProductColumns, b.products},
		{"product_options", seedOptionColumns, b.options},
		{"variants", seedVariantColumns, b.variants},
		{"inventory_levels", seedLevelColumns, b.levels},
	} {
		if len(t.rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.table}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
			return 0, fmt.Errorf("copying %s: %w", t.table, err)
		}
	}
	tag, err := tx.Exec(ctx, indexSQL, b.merchantID, b.productIDs)
	if err != nil {
		return 0, fmt.Errorf("indexing: %w", err)
	}
	return int(tag.RowsAffected()), tx.Commit(ctx)
}

// insertBatch writes a batch with multi-row INSERTs and indexes its products in one
// transaction.
func insertBatch(ctx context.Context, db *database.DB, indexSQL string, b *seedBatch) (int, error) {
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	for _, t := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"products", seedProductColumns, b.products},
		{"product_options", seedOptionColumns, b.options},
		{"variants", seedVariantColumns, b.variants},
		{"inventory_levels", seedLevelColumns, b.levels},
	} {
		if err := insertRows(ctx, tx, t.table, t.cols, t.rows); err != nil {
			return 0, fmt.Errorf("inserting %s: %w", t.table, err)
		}
	}
	ids, _ := json.Marshal(b.productIDs)
	r, err := tx.ExecContext(ctx, indexSQL, b.merchantID, string(ids))
	if err != nil {
		return 0, fmt.Errorf("indexing: %w", err)
	}
	n, _ := r.RowsAffected()
	return int(n), tx.Commit()
}

// insertRows inserts rows a few hundred at a time, well under SQLite's 32,766 bound
// parameters per statement.
func insertRows(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any) error {
	const perStatement = 500
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	prefix := "INSERT INTO `" + table + "` (`" + strings.Join(cols, "`, `") + "`) VALUES "
	args := make([]any, 0, perStatement*len(cols))
	for len(rows) > 0 {
		n := min(perStatement, len(rows))
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		query := prefix + strings.TrimSuffix(strings.Repeat(one+",", n), ",")
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// seedGenerator makes the rows. It runs on one goroutine, so its output depends only on
// the seed and on the handles and SKUs the merchant already had.
type seedGenerator struct {
	rng        *rand.Rand
	merchantID string
	variants   int
	warehouses []string
	handles    map[string]bool
	nextSuffix map[string]int
	skus       map[string]bool
	skuNumber  int
}

func newSeedGenerator(ctx context.Context, db *database.DB, opts SeedOptions, warehouses []string) (*seedGenerator, error) {
	g := &seedGenerator{
		rng:        rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x6d65726368616e74)),
		merchantID: opts.MerchantID.String(),
		variants:   opts.Variants,
		warehouses: warehouses,
		handles:    map[string]bool{},
		nextSuffix: map[string]int{},
		skus:       map[string]bool{},
	}
	// A merchant seeded before (or with real products) keeps its handles and SKUs: new
	// ones skip them as the catalog service would.
	ph := "$1"
	if db.Dialect != dialect.Postgres {
		ph = "?"
	}
	for _, q := range []struct {
		query string
		into  map[string]bool
	}{
		{"SELECT handle FROM products WHERE merchant_id = " + ph, g.handles},
		{"SELECT sku FROM variants WHERE merchant_id = " + ph, g.skus},
	} {
		rows, err := db.SQL.QueryContext(ctx, q.query, g.merchantID)
		if err != nil {
			return nil, apperr.From(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return nil, apperr.From(err)
			}
			q.into[s] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, apperr.From(err)
		}
	}
	return g, nil
}

func (g *seedGenerator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *seedGenerator) chance(percent int) bool { return g.rng.IntN(100) < percent }

// uniqueHandle is the catalog's uniqueHandle over the generator's handle set.
func (g *seedGenerator) uniqueHandle(title string) string {
	base := merchants.Handleize(title)
	if base == "" {
		base = "product"
	}
	if len(base) > 200 {
		base = strings.Trim(base[:200], "-")
	}
	h := base
	if g.handles[h] {
		n := max(g.nextSuffix[base], 2)
		for ; g.handles[base+"-"+strconv.Itoa(n)]; n++ {
		}
		h = base + "-" + strconv.Itoa(n)
		g.nextSuffix[base] = n + 1
	}
	g.handles[h] = true
	return h
}

func (g *seedGenerator) batch(n int) *seedBatch {
	b := &seedBatch{
		merchantID: g.merchantID,
		products:   make([][]any, 0, n),
		variants:   make([][]any, 0, n*g.variants),
		levels:     make([][]any, 0, n*g.variants*len(g.warehouses)),
		productIDs: make([]string, 0, n),
	}
	for range n {
		g.product(b)
	}
	return b
}

// product appends one product with its options, variants and stock levels.
func (g *seedGenerator) product(b *seedBatch) {
	now := time.Now()
	pt := &seedTypes[g.rng.IntN(len(seedTypes))]
	id := pulid.NewAt("prd", now).String()

	words := []string{g.pick(seedAdjectives)}
	if g.chance(60) {
		words = append(words, g.pick(seedQualities))
	}
	words = append(words, g.pick(pt.nouns))
	if g.chance(12) {
		words = append(words, g.pick(seedSuffixes))
	}
	title := strings.Join(words, " ")
	vendor := g.pick(seedVendors)
	tags := []string{}
	seen := map[string]bool{}
	for range g.rng.IntN(6) {
		if t := g.pick(seedTags); !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	tagsJSON, _ := json.Marshal(tags)
	status := "active"
	switch r := g.rng.IntN(100); {
	case r < 8:
		status = "draft"
	case r < 12:
		status = "archived"
	}
	desc := "<p>" + html.EscapeString(title) + " by " + html.EscapeString(vendor) + ". " + g.pick(seedSentences) + "</p>"
	if g.chance(70) {
		desc += "<ul>"
		for range 2 + g.rng.IntN(3) {
			desc += "<li>" + g.pick(seedFeatures) + "</li>"
		}
		desc += "</ul>"
	}
	b.products = append(b.products, []any{id, now, now, title, g.uniqueHandle(title), desc,
		vendor, pt.name, json.RawMessage(tagsJSON), status, g.merchantID})
	b.productIDs = append(b.productIDs, id)

	// Options: the fewest that can hold the variants, or more; each gets a few values of
	// its pool (kept in the pool's order, as merchants list S, M, L), and the variants
	// are the first combinations with the last option changing fastest, as Shopify
	// lists them. Values no variant uses are dropped.
	k := 1
	for capacity(pt.options[:k]) < g.variants {
		k++
	}
	k += g.rng.IntN(len(pt.options) - k + 1)
	if k > 1 && g.variants == 1 && g.chance(50) {
		k = 1
	}
	counts := make([]int, k)
	for i := range counts {
		counts[i] = 1
	}
	for combinations(counts) < g.variants {
		i := g.rng.IntN(k)
		if counts[i] < len(pt.options[i].values) {
			counts[i]++
		}
	}
	chosen := make([][]seedValue, k)
	for i, c := range counts {
		pool := pt.options[i].values
		picked := g.rng.Perm(len(pool))[:c]
		inPool := make([]bool, len(pool))
		for _, p := range picked {
			inPool[p] = true
		}
		for j, v := range pool {
			if inPool[j] {
				chosen[i] = append(chosen[i], v)
			}
		}
	}
	combos := make([][]seedValue, 0, g.variants)
	idx := make([]int, k)
	for len(combos) < g.variants {
		c := make([]seedValue, k)
		for i := range c {
			c[i] = chosen[i][idx[i]]
		}
		combos = append(combos, c)
		for i := k - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < len(chosen[i]) {
				break
			}
			idx[i] = 0
		}
	}
	for i := range k {
		var values []string
		used := map[string]bool{}
		for _, c := range combos {
			if !used[c[i].name] {
				used[c[i].name] = true
				values = append(values, c[i].name)
			}
		}
		// Rows are in pool order already: combos walk chosen[i] in order.
		valuesJSON, _ := json.Marshal(values)
		b.options = append(b.options, []any{pulid.NewAt("opt", now).String(), now, now, pt.options[i].name,
			int64(i + 1), json.RawMessage(valuesJSON), id, g.merchantID})
	}

	// Prices in cents; compare-at on a quarter of products, the larger seedSizes of a few
	// products cost a little more.
	price := int64(pt.minPrice+g.rng.IntN(pt.maxPrice-pt.minPrice+1))*100 + []int64{99, 0, 50, 95}[g.rng.IntN(4)]
	var compareAt *int64
	if g.chance(25) {
		c := (price*int64(120+g.rng.IntN(40))/100)/100*100 + 99
		compareAt = &c
	}
	stepUp := g.chance(20)
	weight := pt.weight/2 + g.rng.IntN(pt.weight+1)
	skuBase := g.skuBase(pt.code, combos)
	for vi, c := range combos {
		var cols [3]string
		skuParts := []string{skuBase}
		for i, v := range c {
			cols[i] = v.name
			skuParts = append(skuParts, v.code)
		}
		vid := pulid.NewAt("var", now).String()
		barcode := ""
		if g.chance(60) {
			barcode = g.ean13()
		}
		vprice := price
		if stepUp {
			vprice += int64(vi) * 100
		}
		var ca any
		if compareAt != nil {
			ca = *compareAt + (vprice - price)
		}
		b.variants = append(b.variants, []any{vid, now, now, strings.Join(skuParts, "-"), variantTitle(cols),
			cols[0], cols[1], cols[2], vprice, ca, barcode, int64(weight), int64(vi + 1), id, g.merchantID})
		for _, wh := range g.warehouses {
			onHand := int64(0)
			if !g.chance(10) {
				onHand = int64(1 + g.rng.IntN(250))
			}
			b.levels = append(b.levels, []any{pulid.NewAt("lvl", now).String(), now, now, onHand, int64(0),
				g.merchantID, wh, vid})
		}
	}
}

// skuBase returns TYPECODE-NNNNN, a base none of whose SKUs the merchant has.
func (g *seedGenerator) skuBase(code string, combos [][]seedValue) string {
	for {
		g.skuNumber++
		base := code + "-" + fmt.Sprintf("%05s", strings.ToUpper(strconv.FormatInt(int64(g.skuNumber), 36)))
		free := true
		skus := make([]string, len(combos))
		for i, c := range combos {
			parts := []string{base}
			for _, v := range c {
				parts = append(parts, v.code)
			}
			skus[i] = strings.Join(parts, "-")
			free = free && !g.skus[skus[i]]
		}
		if !free {
			continue
		}
		for _, s := range skus {
			g.skus[s] = true
		}
		return base
	}
}

// ean13 returns a random EAN-13 with a valid check digit.
func (g *seedGenerator) ean13() string {
	var d [13]byte
	sum := 0
	for i := range 12 {
		n := g.rng.IntN(10)
		d[i] = byte('0' + n)
		if i%2 == 0 {
			sum += n
		} else {
			sum += 3 * n
		}
	}
	d[12] = byte('0' + (10-sum%10)%10)
	return string(d[:])
}

func capacity(opts []seedOption) int {
	n := 1
	for _, o := range opts {
		n *= len(o.values)
	}
	return n
}

func combinations(counts []int) int {
	n := 1
	for _, c := range counts {
		n *= c
	}
	return n
}

type seedValue struct{ name, code string }

type seedOption struct {
	name   string
	values []seedValue
}

type seedType struct {
	name, code         string
	nouns              []string
	options            []seedOption
	minPrice, maxPrice int // whole currency units
	weight             int // grams
}

// seedPool builds an option pool; a value's SKU code is the value upper-cased without
// spaces, dots or dashes unless given after a "=".
func seedPool(list ...string) []seedValue {
	out := make([]seedValue, len(list))
	for i, s := range list {
		name, code, ok := strings.Cut(s, "=")
		if !ok {
			code = strings.NewReplacer(" ", "", ".", "", "-", "").Replace(strings.ToUpper(name))
		}
		out[i] = seedValue{name: name, code: code}
	}
	return out
}

var (
	seedColors       = seedOption{"Color", seedPool("Black", "White", "Red", "Navy", "Blue", "Green", "Olive", "Grey", "Charcoal", "Beige", "Brown", "Pink", "Purple", "Yellow", "Orange", "Teal")}
	seedSizes        = seedOption{"Size", seedPool("XS", "S", "M", "L", "XL", "XXL", "3XL")}
	seedShoeSizes    = seedOption{"Size", seedPool("36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46")}
	seedMaterials    = seedOption{"Material", seedPool("Cotton", "Linen", "Wool", "Leather", "Canvas", "Nylon", "Polyester", "Bamboo", "Hemp", "Denim")}
	seedFits         = seedOption{"Fit", seedPool("Regular", "Slim", "Relaxed", "Oversized", "Tall")}
	seedScents       = seedOption{"Scent", seedPool("Vanilla", "Lavender", "Cedar", "Sea Salt", "Fig", "Amber", "Citrus", "Rose", "Sandalwood", "Mint")}
	seedCapacities   = seedOption{"Capacity", seedPool("250 ml", "350 ml", "500 ml", "750 ml", "1 L")}
	seedFormats      = seedOption{"Format", seedPool("Pocket=PKT", "A6", "A5", "A4", "B5")}
	seedPapers       = seedOption{"Paper", seedPool("Lined", "Dotted", "Blank", "Grid")}
	seedPhoneModels  = seedOption{"Model", seedPool("iPhone 15=IP15", "iPhone 15 Pro=IP15P", "iPhone 16=IP16", "iPhone 16 Pro=IP16P", "Pixel 9=PX9", "Pixel 9 Pro=PX9P", "Galaxy S24=GS24", "Galaxy S25=GS25")}
	seedFinishes     = seedOption{"Finish", seedPool("Matte", "Gloss", "Clear", "Leather")}
	seedStraps       = seedOption{"Strap", seedPool("Leather", "Steel", "Nylon", "Silicone", "Mesh")}
	seedPacks        = seedOption{"Pack", seedPool("1-Pack", "3-Pack", "6-Pack")}
	seedBagSizes     = seedOption{"Size", seedPool("Small=SM", "Medium=MD", "Large=LG")}
	seedBlanketSizes = seedOption{"Size", seedPool("Throw=THR", "Twin=TWN", "Queen=QN", "King=KG")}
)

var seedTypes = []seedType{
	{"T-Shirt", "TSHIRT", []string{"T-Shirt", "Tee", "Crew Tee", "V-Neck Tee"}, []seedOption{seedColors, seedSizes, seedFits}, 15, 45, 180},
	{"Hoodie", "HOODIE", []string{"Hoodie", "Zip Hoodie", "Pullover Hoodie"}, []seedOption{seedColors, seedSizes, seedFits}, 40, 95, 550},
	{"Sweater", "SWEATER", []string{"Sweater", "Cardigan", "Jumper", "Crewneck"}, []seedOption{seedColors, seedSizes, seedMaterials}, 45, 140, 450},
	{"Jacket", "JACKET", []string{"Jacket", "Parka", "Windbreaker", "Bomber Jacket", "Rain Jacket"}, []seedOption{seedColors, seedSizes, seedFits}, 80, 320, 900},
	{"Pants", "PANTS", []string{"Jeans", "Chinos", "Trousers", "Joggers"}, []seedOption{seedColors, seedSizes, seedFits}, 45, 160, 600},
	{"Shorts", "SHORTS", []string{"Shorts", "Swim Shorts", "Cargo Shorts"}, []seedOption{seedColors, seedSizes, seedMaterials}, 25, 70, 250},
	{"Dress", "DRESS", []string{"Dress", "Midi Dress", "Wrap Dress", "Shirt Dress"}, []seedOption{seedColors, seedSizes, seedMaterials}, 50, 180, 350},
	{"Sneakers", "SNKR", []string{"Sneakers", "Trainers", "Runners", "High Tops"}, []seedOption{seedColors, seedShoeSizes, seedMaterials}, 60, 190, 800},
	{"Boots", "BOOTS", []string{"Boots", "Chelsea Boots", "Hiking Boots"}, []seedOption{seedColors, seedShoeSizes, seedMaterials}, 90, 290, 1400},
	{"Socks", "SOCKS", []string{"Socks", "Crew Socks", "Ankle Socks"}, []seedOption{seedColors, seedSizes, seedPacks}, 8, 30, 80},
	{"Hat", "HAT", []string{"Cap", "Beanie", "Bucket Hat", "Snapback"}, []seedOption{seedColors, seedMaterials, seedSizes}, 18, 55, 120},
	{"Bag", "BAG", []string{"Backpack", "Tote Bag", "Duffel Bag", "Messenger Bag", "Sling Bag"}, []seedOption{seedColors, seedBagSizes, seedMaterials}, 35, 220, 900},
	{"Wallet", "WALLET", []string{"Wallet", "Card Holder", "Coin Purse"}, []seedOption{seedColors, seedMaterials, seedFinishes}, 20, 120, 90},
	{"Mug", "MUG", []string{"Mug", "Tumbler", "Travel Mug", "Espresso Cup"}, []seedOption{seedColors, seedCapacities, seedFinishes}, 12, 45, 350},
	{"Bottle", "BOTTLE", []string{"Water Bottle", "Flask", "Insulated Bottle"}, []seedOption{seedColors, seedCapacities, seedFinishes}, 18, 50, 400},
	{"Candle", "CANDLE", []string{"Candle", "Soy Candle", "Travel Candle"}, []seedOption{seedScents, seedCapacities, seedColors}, 14, 60, 300},
	{"Notebook", "NOTE", []string{"Notebook", "Journal", "Sketchbook", "Planner"}, []seedOption{seedColors, seedFormats, seedPapers}, 8, 40, 250},
	{"Phone Case", "CASE", []string{"Phone Case", "Folio Case", "Bumper Case"}, []seedOption{seedPhoneModels, seedColors, seedFinishes}, 15, 60, 40},
	{"Watch", "WATCH", []string{"Watch", "Field Watch", "Dive Watch", "Chronograph"}, []seedOption{seedColors, seedStraps, seedSizes}, 90, 450, 150},
	{"Blanket", "BLNKT", []string{"Blanket", "Throw", "Quilt"}, []seedOption{seedColors, seedBlanketSizes, seedMaterials}, 45, 220, 1500},
	{"Scarf", "SCARF", []string{"Scarf", "Bandana", "Snood"}, []seedOption{seedColors, seedMaterials, seedSizes}, 18, 90, 150},
	{"Gloves", "GLOVES", []string{"Gloves", "Mittens", "Touchscreen Gloves"}, []seedOption{seedColors, seedSizes, seedMaterials}, 15, 80, 120},
}

var (
	seedAdjectives = []string{"Classic", "Essential", "Vintage", "Everyday", "Premium", "Organic", "Lightweight",
		"Heavyweight", "Relaxed", "Slim", "Urban", "Coastal", "Alpine", "Heritage", "Modern", "Retro", "Minimal",
		"Rugged", "Soft", "Cozy", "Weekend", "Performance", "Signature", "Studio", "Nordic", "Summit", "Harbor", "Meadow"}
	seedQualities = []string{"Cotton", "Linen", "Merino", "Fleece", "Denim", "Canvas", "Leather", "Bamboo",
		"Recycled", "Ribbed", "Waffle", "Quilted", "Striped", "Graphic", "Pocket", "Cropped", "Washed", "Stretch"}
	seedSuffixes = []string{"2.0", "Pro", "Lite", "Plus", "Limited Edition", "Reissue"}
	seedVendors  = []string{"Acme", "Northwind", "Bluebird Supply", "Old Harbor", "Fjordline", "Kestrel & Co",
		"Mossgrove", "Copper Kettle", "Driftwood", "Ironbark", "Lumen Goods", "Pine & Pebble", "Saltmarsh",
		"Tallow Works", "Wildtrail", "Yardley Street", "Aster Lane", "Brightwater", "Cinder Studio", "Dune Road",
		"Elmstead", "Foxglove", "Granite Peak", "Hollow Oak", "Juniper Row", "Kite Hill", "Lark Mill", "Marlow",
		"Nettlefield", "Oakhurst", "Pennant", "Quarry Lane", "Rook & Raven", "Sable Coast", "Thistle", "Umber",
		"Vale Outfitters", "Westerly", "Yew Tree", "Zephyr"}
	seedTags = []string{"summer", "winter", "spring", "autumn", "sale", "new", "bestseller", "organic", "recycled",
		"vegan", "limited", "gift", "unisex", "men", "women", "kids", "outdoor", "travel", "eco", "handmade",
		"cotton", "wool", "leather", "sport", "classic", "essentials", "clearance", "exclusive", "bundle", "premium"}
	seedSentences = []string{
		"Made to last and easy to care for.",
		"Designed in small batches with responsibly sourced materials.",
		"A favourite for travel, commuting and long weekends.",
		"Built for everyday wear, season after season.",
		"Thoughtfully made with attention to every detail.",
		"Our best seller, now in more colours.",
		"Comfortable from the first day, better with age.",
		"Finished by hand in our partner workshop.",
	}
	seedFeatures = []string{"Machine washable", "Pre-shrunk", "Reinforced seams", "Water resistant",
		"Lifetime repairs", "Plastic-free packaging", "Fair trade certified", "Made in Portugal", "Made in Japan",
		"Recycled materials", "Breathable weave", "Soft brushed finish", "Dishwasher safe", "Two-year warranty"}
)
