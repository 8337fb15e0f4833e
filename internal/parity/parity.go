// Package parity compares a merchant's source exports (a Shopify products CSV and orders
// CSV) with its data here: product and variant counts, SKUs missing or extra, price and
// stock differences, and order counts and totals per month. A merchant may leave its old
// system (status sunset) only when the report is clean. It reads only; it must not
// change anything.
package parity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/importjob"
	"github.com/mercantile/mercantile/ent/order"
	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/pulid"
	"github.com/mercantile/mercantile/internal/shopifycsv"
)

// Count is one quantity in the source file and here.
type Count struct {
	Source int `json:"source"`
	Ours   int `json:"ours"`
}

// Difference is a SKU whose value differs: a price in minor units of the merchant's
// currency, or a stock quantity (what can still be sold, over all warehouses).
type Difference struct {
	SKU    string `json:"sku"`
	Source int64  `json:"source"`
	Ours   int64  `json:"ours"`
}

// Month is one calendar month (UTC) of orders in one currency; totals in minor units.
type Month struct {
	Month       string `json:"month"`
	Currency    string `json:"currency"`
	SourceCount int    `json:"source_count"`
	OurCount    int    `json:"our_count"`
	SourceTotal int64  `json:"source_total"`
	OurTotal    int64  `json:"our_total"`
}

// Matches reports whether the month agrees.
func (m Month) Matches() bool {
	return m.SourceCount == m.OurCount && m.SourceTotal == m.OurTotal
}

// Report is the comparison. Orders is nil when no orders file was compared. Problems are
// rows of the source files that could not be read (they never reached this system).
type Report struct {
	Clean        bool   `json:"clean"`
	ProductsFile string `json:"products_file"`
	OrdersFile   string `json:"orders_file"`
	Products     Count  `json:"products"`
	Variants     Count  `json:"variants"`
	// MissingSKUs are source variants not found here: their SKU, or for rows without
	// one the handle and option values.
	MissingSKUs      []string     `json:"missing_skus"`
	ExtraSKUs        []string     `json:"extra_skus"`
	PriceDifferences []Difference `json:"price_differences"`
	StockDifferences []Difference `json:"stock_differences"`
	Orders           *Count       `json:"orders"`
	Months           []Month      `json:"months"`
	Problems         []string     `json:"problems"`
}

// Differences lists what keeps the report from being clean, one line each, at most limit
// lines (and a last line saying how many more); a negative limit lists all.
func (r Report) Differences(limit int) []string {
	var out []string
	if r.Products.Source != r.Products.Ours {
		out = append(out, fmt.Sprintf("products: %d in the source, %d here", r.Products.Source, r.Products.Ours))
	}
	if r.Variants.Source != r.Variants.Ours {
		out = append(out, fmt.Sprintf("variants: %d in the source, %d here", r.Variants.Source, r.Variants.Ours))
	}
	for _, s := range r.MissingSKUs {
		out = append(out, "SKU "+s+" is missing here")
	}
	for _, s := range r.ExtraSKUs {
		out = append(out, "SKU "+s+" is not in the source")
	}
	for _, d := range r.PriceDifferences {
		out = append(out, fmt.Sprintf("SKU %s price: %d in the source, %d here", d.SKU, d.Source, d.Ours))
	}
	for _, d := range r.StockDifferences {
		out = append(out, fmt.Sprintf("SKU %s stock: %d in the source, %d here", d.SKU, d.Source, d.Ours))
	}
	if r.Orders != nil && r.Orders.Source != r.Orders.Ours {
		out = append(out, fmt.Sprintf("orders: %d in the source, %d here", r.Orders.Source, r.Orders.Ours))
	}
	for _, m := range r.Months {
		if !m.Matches() {
			out = append(out, fmt.Sprintf("orders of %s in %s: %d totalling %d in the source, %d totalling %d here",
				m.Month, m.Currency, m.SourceCount, m.SourceTotal, m.OurCount, m.OurTotal))
		}
	}
	out = append(out, r.Problems...)
	if limit >= 0 && len(out) > limit {
		out = append(out[:limit], fmt.Sprintf("and %d more", len(out)-limit))
	}
	return out
}

// Files opens stored import files (the import framework's FileStore).
type Files interface {
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// Service compares.
type Service struct {
	client *ent.Client
	files  Files
}

// NewService returns a parity service reading with client and, for Latest, the stored
// import files.
func NewService(client *ent.Client, files Files) *Service {
	return &Service{client: client, files: files}
}

// maxProblems bounds the unreadable rows a report lists.
const maxProblems = 100

// Compare compares the viewer's data with a products CSV (either dialect) and, when
// orders is not nil, an orders export.
// Errors: unauthorized, invalid (a file that is not the CSV it should be).
func (s *Service) Compare(ctx context.Context, products, orders io.Reader) (Report, error) {
	v, ok := viewer.FromContext(ctx)
	if !ok || v.MerchantID == "" {
		return Report{}, apperr.New(apperr.Unauthorized, "Credentials are required.")
	}
	m, err := s.client.Merchant.Get(ctx, v.MerchantID)
	if err != nil {
		return Report{}, apperr.Translate(err)
	}
	r := Report{MissingSKUs: []string{}, ExtraSKUs: []string{}, PriceDifferences: []Difference{}, StockDifferences: []Difference{},
		Months: []Month{}, Problems: []string{}}
	if err := s.compareProducts(ctx, &r, products, m.Currency); err != nil {
		return Report{}, err
	}
	if orders != nil {
		if err := s.compareOrders(ctx, &r, orders); err != nil {
			return Report{}, err
		}
	}
	r.Clean = len(r.Differences(-1)) == 0
	return r, nil
}

type sourceVariant struct {
	label    string // the SKU, or the handle and option values when the row has none
	price    int64
	priceOK  bool
	qty      int64
	tracked  bool
	seenHere bool
}

func (s *Service) problem(r *Report, format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// variantKey identifies one of our variants as a source row without a SKU would.
func variantKey(handle string, v *ent.Variant) string {
	return handle + "\x00" + v.Option1 + "\x00" + v.Option2 + "\x00" + v.Option3
}

// compareProducts matches source variants to ours by SKU, and rows without a SKU (which
// the product import names itself) by handle and option values.
func (s *Service) compareProducts(ctx context.Context, r *Report, products io.Reader, currency string) error {
	handles := map[string]bool{}
	bySKU := map[string]*sourceVariant{}
	byKey := map[string]*sourceVariant{}
	err := shopifycsv.ReadVariants(products, func(row shopifycsv.VariantRow) error {
		handles[row.Handle] = true
		r.Variants.Source++
		sv := &sourceVariant{label: row.SKU}
		if row.SKU == "" {
			sv.label = strings.TrimRight(row.Handle+" / "+strings.Join(row.Options[:], " / "), " /")
		}
		price, perr := shopifycsv.ParseMoney(row.Price, currency)
		if perr != nil {
			s.problem(r, "products file row %d: price %q %s", row.Row, row.Price, perr)
		}
		sv.price, sv.priceOK = price, perr == nil
		sv.qty, sv.tracked = row.Quantity()
		switch {
		case row.SKU != "" && bySKU[row.SKU] != nil:
			s.problem(r, "products file row %d: SKU %s appears twice", row.Row, row.SKU)
		case row.SKU != "":
			bySKU[row.SKU] = sv
		case byKey[row.Key()] != nil:
			s.problem(r, "products file row %d: variant %s appears twice", row.Row, sv.label)
		default:
			byKey[row.Key()] = sv
		}
		return nil
	})
	if err != nil {
		return apperr.New(apperr.Invalid, "The products file cannot be read: %v", err).WithField("products", err.Error())
	}
	r.Products.Source = len(handles)
	n, err := s.client.Product.Query().Count(ctx)
	if err != nil {
		return apperr.From(err)
	}
	r.Products.Ours = n

	var after pulid.ID
	for {
		q := s.client.Variant.Query().Order(ent.Asc(variant.FieldID)).Limit(variantPage).WithInventoryLevels().
			WithProduct(func(pq *ent.ProductQuery) { pq.Select(product.FieldID, product.FieldHandle) })
		if after != "" {
			q.Where(variant.IDGT(after))
		}
		page, err := q.All(ctx)
		if err != nil {
			return apperr.From(err)
		}
		for _, v := range page {
			r.Variants.Ours++
			sv := bySKU[v.Sku]
			if sv == nil && v.Edges.Product != nil {
				sv = byKey[variantKey(v.Edges.Product.Handle, v)]
			}
			if sv == nil || sv.seenHere {
				r.ExtraSKUs = append(r.ExtraSKUs, v.Sku)
				continue
			}
			sv.seenHere = true
			if sv.priceOK && sv.price != v.Price {
				r.PriceDifferences = append(r.PriceDifferences, Difference{SKU: v.Sku, Source: sv.price, Ours: v.Price})
			}
			if have := catalog.Available(v.Edges.InventoryLevels); sv.tracked && sv.qty != have {
				r.StockDifferences = append(r.StockDifferences, Difference{SKU: v.Sku, Source: sv.qty, Ours: have})
			}
		}
		if len(page) < variantPage {
			break
		}
		after = page[len(page)-1].ID
	}
	for _, m := range []map[string]*sourceVariant{bySKU, byKey} {
		for _, sv := range m {
			if !sv.seenHere {
				r.MissingSKUs = append(r.MissingSKUs, sv.label)
			}
		}
	}
	slices.Sort(r.MissingSKUs)
	slices.Sort(r.ExtraSKUs)
	slices.SortFunc(r.PriceDifferences, func(a, b Difference) int { return strings.Compare(a.SKU, b.SKU) })
	slices.SortFunc(r.StockDifferences, func(a, b Difference) int { return strings.Compare(a.SKU, b.SKU) })
	return nil
}

// Page sizes of the reads of our side.
const (
	variantPage = 1000
	orderPage   = 5000
)

// monthKey buckets by UTC month, on both sides, so an order near midnight falls in the
// same month whatever offset its source wrote.
type monthKey struct{ month, currency string }

// compareOrders compares the orders export with the orders that came from Shopify
// (imported or synced); orders placed here are not in the source's export.
func (s *Service) compareOrders(ctx context.Context, r *Report, orders io.Reader) error {
	rd, err := shopifycsv.NewOrderReader(orders)
	if err != nil {
		return apperr.New(apperr.Invalid, "The orders file cannot be read: %v", err).WithField("orders", err.Error())
	}
	months := map[monthKey]*Month{}
	at := func(month, currency string) *Month {
		k := monthKey{month, currency}
		if months[k] == nil {
			months[k] = &Month{Month: month, Currency: currency}
		}
		return months[k]
	}
	counts := &Count{}
	for {
		g, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return apperr.New(apperr.Invalid, "The orders file cannot be read: %v", err).WithField("orders", err.Error())
		}
		for _, e := range g.Rejected {
			s.problem(r, "orders file %s", e.Error())
		}
		if o := g.Order; o != nil {
			counts.Source++
			m := at(o.CreatedAt.UTC().Format("2006-01"), o.Currency)
			m.SourceCount++
			m.SourceTotal += o.Total
		}
	}
	var after pulid.ID
	for {
		q := s.client.Order.Query().Where(order.SourceNEQ(order.SourceAPI)).Order(ent.Asc(order.FieldID)).Limit(orderPage).
			Select(order.FieldID, order.FieldCurrency, order.FieldTotal, order.FieldProcessedAt, order.FieldCreatedAt)
		if after != "" {
			q.Where(order.IDGT(after))
		}
		page, err := q.All(ctx)
		if err != nil {
			return apperr.From(err)
		}
		for _, o := range page {
			counts.Ours++
			placed := o.CreatedAt
			if o.ProcessedAt != nil {
				placed = *o.ProcessedAt
			}
			m := at(placed.UTC().Format("2006-01"), o.Currency)
			m.OurCount++
			m.OurTotal += o.Total
		}
		if len(page) < orderPage {
			break
		}
		after = page[len(page)-1].ID
	}
	r.Orders = counts
	for _, k := range slices.SortedFunc(maps.Keys(months), func(a, b monthKey) int {
		return strings.Compare(a.month+a.currency, b.month+b.currency)
	}) {
		r.Months = append(r.Months, *months[k])
	}
	return nil
}

// Latest compares the viewer's data with the files of its latest succeeded (not dry
// run) import of each Shopify kind; the orders comparison is left out when there is no
// orders import.
// Errors: unauthorized, conflict (no succeeded products import, or its file is gone).
func (s *Service) Latest(ctx context.Context) (Report, error) {
	latest := func(kind importjob.Kind) (*ent.ImportJob, error) {
		j, err := s.client.ImportJob.Query().
			Where(importjob.KindEQ(kind), importjob.StatusEQ(importjob.StatusSucceeded), importjob.DryRun(false), importjob.StorageKeyNEQ("")).
			Order(ent.Desc(importjob.FieldCreatedAt), ent.Desc(importjob.FieldID)).First(ctx)
		if ent.IsNotFound(err) {
			return nil, nil
		}
		return j, apperr.Translate(err)
	}
	pj, err := latest(importjob.KindShopifyProducts)
	if err != nil {
		return Report{}, err
	}
	if pj == nil {
		return Report{}, apperr.New(apperr.Conflict, "Parity needs a succeeded shopify_products import to compare with.").
			WithField("imports", "no succeeded shopify_products import")
	}
	oj, err := latest(importjob.KindShopifyOrders)
	if err != nil {
		return Report{}, err
	}
	products, err := s.open(ctx, pj)
	if err != nil {
		return Report{}, err
	}
	defer products.Close()
	var orders io.Reader
	if oj != nil {
		f, err := s.open(ctx, oj)
		if err != nil {
			return Report{}, err
		}
		defer f.Close()
		orders = f
	}
	r, err := s.Compare(ctx, products, orders)
	if err != nil {
		return Report{}, err
	}
	r.ProductsFile = pj.ID.String() + " " + pj.Filename
	if oj != nil {
		r.OrdersFile = oj.ID.String() + " " + oj.Filename
	}
	return r, nil
}

func (s *Service) open(ctx context.Context, job *ent.ImportJob) (io.ReadCloser, error) {
	if s.files == nil {
		return nil, apperr.New(apperr.Unavailable, "Import files are not reachable from this process.")
	}
	f, err := s.files.Open(ctx, job.StorageKey)
	if err != nil {
		return nil, apperr.New(apperr.Conflict, "The file of import %s is no longer stored; import it again.", job.ID).
			WithField("imports", "file of "+job.ID.String()+" is gone")
	}
	return f, nil
}

// maxListed is how many differences a refusal names.
const maxListed = 20

// CheckSunset allows a merchant to leave its old system only when parity with the files
// of its latest imports is clean.
// Errors: conflict, naming each difference (up to 20) as a field of "parity".
func (s *Service) CheckSunset(ctx context.Context) error {
	r, err := s.Latest(ctx)
	if err != nil {
		return err
	}
	if r.Clean {
		return nil
	}
	diffs := r.Differences(maxListed)
	e := apperr.New(apperr.Conflict, "Parity with the source is not clean: %s.", strings.Join(diffs, "; "))
	for i, d := range diffs {
		e.WithField("parity["+strconv.Itoa(i)+"]", d)
	}
	return e
}
