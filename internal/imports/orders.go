package imports

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/order"
	"github.com/mercantile/mercantile/ent/orderlineitem"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/postal"
	"github.com/mercantile/mercantile/internal/pulid"
	"github.com/mercantile/mercantile/internal/shopifycsv"
)

// OrdersImporter imports Shopify's orders export (kind shopify_orders) as historical
// orders with source import, upserted by Shopify's Id (by Name when the Id is empty).
// History is recorded as it was: no stock is reserved or moved, no email or payment is
// started, and nothing goes through the placement path of internal/orders.
type OrdersImporter struct {
	dialect string
}

// NewOrdersImporter returns the shopify_orders importer for a database of dialect
// (dialect.Postgres or dialect.SQLite).
func NewOrdersImporter(dialect string) *OrdersImporter {
	return &OrdersImporter{dialect: dialect}
}

// GrownTables implements Grower: later batches look orders up by Shopify id or name,
// and load their lines.
func (imp *OrdersImporter) GrownTables() []string {
	return []string{order.Table, orderlineitem.Table}
}

// Open implements Importer.
func (imp *OrdersImporter) Open(_ context.Context, job *ent.ImportJob, header []string) (Session, error) {
	cols, err := shopifycsv.NewOrderColumns(header)
	if err != nil {
		return nil, &FileError{Message: err.Error()}
	}
	return &ordersSession{cols: cols, dialect: imp.dialect, merchantID: job.MerchantID}, nil
}

type ordersSession struct {
	cols       shopifycsv.OrderColumns
	dialect    string
	merchantID pulid.ID
}

// Key groups an order's rows by Name.
func (s *ordersSession) Key(cells []string) string { return s.cols.Name(cells) }

// orderKey identifies an order across imports: Shopify's Id, else its Name.
func orderKey(o *shopifycsv.Order) string {
	if o.ShopifyID != 0 {
		return "id:" + strconv.FormatInt(o.ShopifyID, 10)
	}
	return "name:" + o.Name
}

func rowsOf(o *shopifycsv.Order) []Row {
	rows := make([]Row, len(o.Lines))
	for i, l := range o.Lines {
		rows[i] = Row{Num: l.Row}
	}
	return rows
}

// createChunk bounds one bulk INSERT well under PostgreSQL's 65535 and SQLite's 32766
// bind parameters.
const createChunk = 1000

// Commit implements Session: unchanged orders, and orders the Shopify sync recorded,
// are skipped; changed imported ones are rewritten with their lines; new ones are
// created and numbered.
func (s *ordersSession) Commit(ctx context.Context, tx *ent.Client, records []Record, out *Outcomes) error {
	var parsed []*shopifycsv.Order
	firstRow := map[string]int{}
	for _, rec := range records {
		raw := make([]shopifycsv.RawRow, len(rec.Rows))
		for i, r := range rec.Rows {
			raw[i] = shopifycsv.RawRow{Num: r.Num, Cells: r.Cells}
		}
		for _, g := range s.cols.Groups(raw) {
			for _, e := range g.Rejected {
				out.Reject(Row{Num: e.Row}, e.Column, "%s", e.Message)
			}
			if g.Order == nil {
				continue
			}
			k := orderKey(g.Order)
			if first, dup := firstRow[k]; dup {
				for _, r := range rowsOf(g.Order) {
					out.Reject(r, "Name", "order %s appears again in the file (first at row %d)", g.Order.Name, first)
				}
				continue
			}
			firstRow[k] = g.Order.Row
			parsed = append(parsed, g.Order)
		}
	}
	if len(parsed) == 0 {
		return nil
	}
	existing, err := s.existing(ctx, tx, parsed)
	if err != nil {
		return err
	}
	variants, err := s.variants(ctx, tx, parsed)
	if err != nil {
		return err
	}

	var fresh []*shopifycsv.Order
	for _, o := range parsed {
		cur := existing[orderKey(o)]
		if cur == nil {
			fresh = append(fresh, o)
			continue
		}
		// An order the Shopify sync keeps (with its reservations and shipments) is
		// newer than any export: the file leaves it alone.
		if cur.Source != order.SourceImport || sameOrder(cur, o, variants) {
			out.Skipped(rowsOf(o)...)
			continue
		}
		if err := s.rewrite(ctx, tx, cur, o, variants); err != nil {
			return err
		}
		out.Imported(rowsOf(o)...)
	}
	if len(fresh) == 0 {
		return nil
	}
	numbers, err := s.number(ctx, tx, fresh)
	if err != nil {
		return err
	}
	ids := make([]pulid.ID, len(fresh))
	for i, o := range fresh {
		ids[i] = pulid.New("ord")
		out.Imported(rowsOf(o)...)
	}
	if s.dialect == dialect.Postgres {
		// The batch commits with the job's last_row, so a commit lost in a crash is lost
		// whole and redone on resume: it need not wait for the WAL flush.
		if _, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			return apperr.Wrap(err, apperr.Internal, "Preparing the import transaction failed.")
		}
		return s.insertPostgres(ctx, tx, ids, numbers, fresh, variants)
	}
	orderCreates := make([]*ent.OrderCreate, len(fresh))
	var lineCreates []*ent.OrderLineItemCreate
	for i, o := range fresh {
		c := tx.Order.Create().SetID(ids[i]).SetNumber(numbers[i]).SetSource(order.SourceImport)
		if o.ShopifyID != 0 {
			c.SetShopifyID(o.ShopifyID)
		}
		setOrder(c.Mutation(), o)
		orderCreates[i] = c
		lineCreates = append(lineCreates, lineCreatesOf(tx, ids[i], o, variants)...)
	}
	for chunk := range slices.Chunk(orderCreates, createChunk) {
		if err := tx.Order.CreateBulk(chunk...).Exec(ctx); err != nil {
			return apperr.From(err)
		}
	}
	for chunk := range slices.Chunk(lineCreates, createChunk) {
		if err := tx.OrderLineItem.CreateBulk(chunk...).Exec(ctx); err != nil {
			return apperr.From(err)
		}
	}
	return nil
}

// insertOrdersSQL and insertLinesSQL write a batch's new orders and lines on PostgreSQL
// in one statement each, from column arrays: the import's hot path, several times faster
// than row-by-row builders. What they write is what setOrder and setLine set.
const (
	insertOrdersSQL = `INSERT INTO orders (id, merchant_id, created_at, updated_at, number, name, email, currency,
  status, financial_status, fulfillment_status, subtotal, shipping_total, tax_total, total, amount_refunded,
  shipping_address, note, source, shopify_id, processed_at, paid_at, cancelled_at)
SELECT t.id, $1, $2, $2, t.number, t.name, t.email, t.currency, t.status, t.fin, t.ful, t.subtotal, t.shipping,
  t.tax, t.total, t.refunded, t.address::jsonb, t.note, 'import', t.shopify_id, t.processed_at, t.paid_at, t.cancelled_at
FROM unnest($3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
  $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::text[], $17::text[], $18::bigint[],
  $19::timestamptz[], $20::timestamptz[], $21::timestamptz[])
  AS t(id, number, name, email, currency, status, fin, ful, subtotal, shipping, tax, total, refunded, address, note,
  shopify_id, processed_at, paid_at, cancelled_at)`
	insertLinesSQL = `INSERT INTO order_line_items (id, merchant_id, created_at, updated_at, order_id, variant_id, sku, title,
  variant_title, quantity, unit_price, total)
SELECT t.id, $1, $2, $2, t.order_id, t.variant_id, t.sku, t.title, '', t.quantity, t.unit_price, t.unit_price * t.quantity
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[])
  AS t(id, order_id, variant_id, sku, title, quantity, unit_price)`
)

func (s *ordersSession) insertPostgres(ctx context.Context, tx *ent.Client, ids []pulid.ID, numbers []int64, fresh []*shopifycsv.Order, variants map[string]pulid.ID) error {
	n := len(fresh)
	strs := func() []string { return make([]string, n) }
	ints := func() []int64 { return make([]int64, n) }
	times := func() []*time.Time { return make([]*time.Time, n) }
	oid, name, email, currency, states, fin, ful, note := strs(), strs(), strs(), strs(), strs(), strs(), strs(), strs()
	subtotal, shipping, tax, total, refunded := ints(), ints(), ints(), ints(), ints()
	processed, paid, cancelled := times(), times(), times()
	address, shopifyID := make([]*string, n), make([]*int64, n)
	var (
		lid, lorder, lsku, ltitle []string
		lvariant                  []*string
		lqty, lprice              []int64
	)
	for i, o := range fresh {
		oid[i], name[i], email[i], currency[i], note[i] = ids[i].String(), o.Name, o.Email, o.Currency, o.Note
		states[i], fin[i], ful[i] = string(status(o)), string(FinancialStatus(o.FinancialStatus)), string(FulfillmentStatus(o.FulfillmentStatus))
		subtotal[i], shipping[i], tax[i], total[i], refunded[i] = o.Subtotal, o.Shipping, o.Taxes, o.Total, o.Refunded
		if o.ShippingAddress != (postal.Address{}) {
			b, err := json.Marshal(o.ShippingAddress)
			if err != nil {
				return apperr.Wrap(err, apperr.Internal, "Encoding an address failed.")
			}
			a := string(b)
			address[i] = &a
		}
		if o.ShopifyID != 0 {
			shopifyID[i] = &o.ShopifyID
		}
		created := o.CreatedAt.UTC()
		processed[i], paid[i], cancelled[i] = &created, utc(o.PaidAt), utc(o.CancelledAt)
		base := time.Now()
		for j, l := range o.Lines {
			lid = append(lid, pulid.NewAt("oli", base.Add(time.Duration(j)*time.Millisecond)).String())
			lorder = append(lorder, oid[i])
			var vid *string
			if id, ok := variants[l.SKU]; ok && l.SKU != "" {
				v := id.String()
				vid = &v
			}
			lvariant = append(lvariant, vid)
			lsku, ltitle = append(lsku, l.SKU), append(ltitle, l.Name)
			lqty, lprice = append(lqty, int64(l.Quantity)), append(lprice, l.Price)
		}
	}
	now := time.Now().UTC()
	merchant := s.merchantID.String()
	if _, err := tx.ExecContext(ctx, insertOrdersSQL, merchant, now, oid, numbers, name, email, currency, states, fin, ful,
		subtotal, shipping, tax, total, refunded, address, note, shopifyID, processed, paid, cancelled); err != nil {
		return apperr.Wrap(err, apperr.Internal, "Writing imported orders failed.")
	}
	if _, err := tx.ExecContext(ctx, insertLinesSQL, merchant, now, lid, lorder, lvariant, lsku, ltitle, lqty, lprice); err != nil {
		return apperr.Wrap(err, apperr.Internal, "Writing imported order lines failed.")
	}
	return nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// existing loads the batch's orders already present, with their lines, by key: by
// Shopify Id whatever their source, by Name only among imported orders, so an order
// placed here is never taken for a Shopify order of the same name.
func (s *ordersSession) existing(ctx context.Context, tx *ent.Client, parsed []*shopifycsv.Order) (map[string]*ent.Order, error) {
	var ids []int64
	var names []string
	for _, o := range parsed {
		if o.ShopifyID != 0 {
			ids = append(ids, o.ShopifyID)
		} else {
			names = append(names, o.Name)
		}
	}
	out := make(map[string]*ent.Order, len(parsed))
	if len(ids) > 0 {
		where := order.ShopifyIDIn(ids...)
		if s.dialect == dialect.Postgres {
			present, err := s.presentPostgres(ctx, tx, ids)
			if err != nil {
				return nil, err
			}
			where = order.IDIn(present...)
		}
		found, err := tx.Order.Query().Where(where).WithLineItems().All(ctx)
		if err != nil {
			return nil, apperr.From(err)
		}
		for _, o := range found {
			out["id:"+strconv.FormatInt(*o.ShopifyID, 10)] = o
		}
	}
	if len(names) > 0 {
		found, err := tx.Order.Query().Where(order.NameIn(names...), order.SourceEQ(order.SourceImport)).Order(ent.Asc(order.FieldID)).WithLineItems().All(ctx)
		if err != nil {
			return nil, apperr.From(err)
		}
		for _, o := range found {
			if _, seen := out["name:"+o.Name]; !seen {
				out["name:"+o.Name] = o
			}
		}
	}
	return out, nil
}

// presentPostgres returns the ids of the merchant's orders with the given Shopify ids.
// Joining the ids as an array keeps PostgreSQL on the (merchant_id, shopify_id) index
// even before the table's statistics catch up with a large import, where a long IN list
// was planned as a scan of the merchant's orders and took seconds a batch.
func (s *ordersSession) presentPostgres(ctx context.Context, tx *ent.Client, shopifyIDs []int64) ([]pulid.ID, error) {
	rows, err := tx.QueryContext(ctx, `SELECT o.id FROM unnest($1::bigint[]) AS k(sid)
JOIN orders o ON o.merchant_id = $2 AND o.shopify_id = k.sid`, shopifyIDs, s.merchantID.String())
	if err != nil {
		return nil, apperr.Wrap(err, apperr.Internal, "Looking up imported orders failed.")
	}
	defer rows.Close()
	var ids []pulid.ID
	for rows.Next() {
		var id pulid.ID
		if err := rows.Scan(&id); err != nil {
			return nil, apperr.Wrap(err, apperr.Internal, "Looking up imported orders failed.")
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Wrap(err, apperr.Internal, "Looking up imported orders failed.")
	}
	return ids, nil
}

// variants maps the batch's SKUs to the merchant's variants; SKUs the catalog does not
// know are recorded on their lines without a variant.
func (s *ordersSession) variants(ctx context.Context, tx *ent.Client, parsed []*shopifycsv.Order) (map[string]pulid.ID, error) {
	seen := map[string]bool{}
	var skus []string
	for _, o := range parsed {
		for _, l := range o.Lines {
			if l.SKU != "" && !seen[l.SKU] {
				seen[l.SKU] = true
				skus = append(skus, l.SKU)
			}
		}
	}
	out := make(map[string]pulid.ID, len(skus))
	for chunk := range slices.Chunk(skus, createChunk) {
		found, err := tx.Variant.Query().Where(variant.SkuIn(chunk...)).Select(variant.FieldID, variant.FieldSku).All(ctx)
		if err != nil {
			return nil, apperr.From(err)
		}
		for _, v := range found {
			out[v.Sku] = v.ID
		}
	}
	return out, nil
}

// rewrite brings an imported order in line with the file: its fields and its lines.
func (s *ordersSession) rewrite(ctx context.Context, tx *ent.Client, cur *ent.Order, o *shopifycsv.Order, variants map[string]pulid.ID) error {
	upd := tx.Order.UpdateOne(cur)
	m := upd.Mutation()
	setOrder(m, o)
	if o.PaidAt == nil {
		m.ClearPaidAt()
	}
	if o.CancelledAt == nil {
		m.ClearCancelledAt()
	}
	if o.ShippingAddress == (postal.Address{}) {
		m.ClearShippingAddress()
	}
	if err := upd.Exec(ctx); err != nil {
		return apperr.From(err)
	}
	if _, err := tx.OrderLineItem.Delete().Where(orderlineitem.OrderID(cur.ID)).Exec(ctx); err != nil {
		return apperr.From(err)
	}
	for chunk := range slices.Chunk(lineCreatesOf(tx, cur.ID, o, variants), createChunk) {
		if err := tx.OrderLineItem.CreateBulk(chunk...).Exec(ctx); err != nil {
			return apperr.From(err)
		}
	}
	return nil
}

// FinancialStatus maps Shopify's financial status to ours. Ours has no authorized,
// partially_paid or expired: money not (fully) captured is pending, an expired
// authorization is voided.
func FinancialStatus(shopify string) order.FinancialStatus {
	switch shopify {
	case "paid":
		return order.FinancialStatusPaid
	case "partially_refunded":
		return order.FinancialStatusPartiallyRefunded
	case "refunded":
		return order.FinancialStatusRefunded
	case "voided", "expired":
		return order.FinancialStatusVoided
	}
	return order.FinancialStatusPending
}

// FulfillmentStatus maps Shopify's fulfillment status to ours: empty, unfulfilled and
// restocked are unfulfilled.
func FulfillmentStatus(shopify string) order.FulfillmentStatus {
	switch shopify {
	case "fulfilled":
		return order.FulfillmentStatusFulfilled
	case "partial":
		return order.FulfillmentStatusPartial
	}
	return order.FulfillmentStatusUnfulfilled
}

// status is open unless Shopify cancelled the order.
func status(o *shopifycsv.Order) order.Status {
	if o.CancelledAt != nil {
		return order.StatusCancelled
	}
	return order.StatusOpen
}

// setOrder sets the fields an import owns on a create or update.
func setOrder(m *ent.OrderMutation, o *shopifycsv.Order) {
	m.SetName(o.Name)
	m.SetEmail(o.Email)
	m.SetCurrency(o.Currency)
	m.SetStatus(status(o))
	m.SetFinancialStatus(FinancialStatus(o.FinancialStatus))
	m.SetFulfillmentStatus(FulfillmentStatus(o.FulfillmentStatus))
	m.SetSubtotal(o.Subtotal)
	m.SetShippingTotal(o.Shipping)
	m.SetTaxTotal(o.Taxes)
	m.SetTotal(o.Total)
	m.SetAmountRefunded(o.Refunded)
	m.SetNote(o.Note)
	// Times are kept in UTC: SQLite reads back only what it stored in UTC.
	m.SetProcessedAt(o.CreatedAt.UTC())
	if o.PaidAt != nil {
		m.SetPaidAt(o.PaidAt.UTC())
	}
	if o.CancelledAt != nil {
		m.SetCancelledAt(o.CancelledAt.UTC())
	}
	if o.ShippingAddress != (postal.Address{}) {
		m.SetShippingAddress(o.ShippingAddress)
	}
}

// lineCreatesOf builds the creates of an order's lines. Their ids count up a
// millisecond apart, so reading lines in id order gives them in the file's order (ULIDs
// made within one millisecond would sort at random).
func lineCreatesOf(tx *ent.Client, orderID pulid.ID, o *shopifycsv.Order, variants map[string]pulid.ID) []*ent.OrderLineItemCreate {
	base := time.Now()
	creates := make([]*ent.OrderLineItemCreate, len(o.Lines))
	for i, l := range o.Lines {
		creates[i] = tx.OrderLineItem.Create().SetID(pulid.NewAt("oli", base.Add(time.Duration(i)*time.Millisecond))).SetOrderID(orderID)
		setLine(creates[i].Mutation(), l, variants)
	}
	return creates
}

func setLine(m *ent.OrderLineItemMutation, l shopifycsv.Line, variants map[string]pulid.ID) {
	m.SetSku(l.SKU)
	m.SetTitle(l.Name)
	m.SetQuantity(l.Quantity)
	m.SetUnitPrice(l.Price)
	m.SetTotal(l.Price * int64(l.Quantity))
	if id, ok := variants[l.SKU]; ok && l.SKU != "" {
		m.SetVariantID(id)
	}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// sameOrder reports whether importing o would leave cur as it is.
func sameOrder(cur *ent.Order, o *shopifycsv.Order, variants map[string]pulid.ID) bool {
	if cur.Name != o.Name || cur.Email != o.Email || cur.Currency != o.Currency || cur.Status != status(o) ||
		cur.FinancialStatus != FinancialStatus(o.FinancialStatus) || cur.FulfillmentStatus != FulfillmentStatus(o.FulfillmentStatus) ||
		cur.Subtotal != o.Subtotal || cur.ShippingTotal != o.Shipping || cur.TaxTotal != o.Taxes || cur.Total != o.Total ||
		cur.AmountRefunded != o.Refunded || cur.Note != o.Note || cur.ShippingAddress != o.ShippingAddress ||
		!sameTime(cur.ProcessedAt, &o.CreatedAt) || !sameTime(cur.PaidAt, o.PaidAt) || !sameTime(cur.CancelledAt, o.CancelledAt) ||
		len(cur.Edges.LineItems) != len(o.Lines) {
		return false
	}
	have := make([]string, len(cur.Edges.LineItems))
	for i, l := range cur.Edges.LineItems {
		vid := ""
		if l.VariantID != nil {
			vid = l.VariantID.String()
		}
		have[i] = lineSignature(l.Sku, l.Title, l.Quantity, l.UnitPrice, vid)
	}
	want := make([]string, len(o.Lines))
	for i, l := range o.Lines {
		vid := ""
		if id, ok := variants[l.SKU]; ok && l.SKU != "" {
			vid = id.String()
		}
		want[i] = lineSignature(l.SKU, l.Name, l.Quantity, l.Price, vid)
	}
	slices.Sort(have)
	slices.Sort(want)
	return slices.Equal(have, want)
}

func lineSignature(sku, title string, quantity int, price int64, variantID string) string {
	return fmt.Sprintf("%q\x00%q\x00%d\x00%d\x00%s", sku, title, quantity, price, variantID)
}

// number hands the new orders their numbers in one locked update of the merchant's
// counter. An order keeps the number of its Shopify name (#1001 is 1001) when that is
// above every number handed out so far; the others count on from the highest. The
// counter ends past all of them, so orders placed later never collide with history.
func (s *ordersSession) number(ctx context.Context, tx *ent.Client, fresh []*shopifycsv.Order) ([]int64, error) {
	lock := `UPDATE merchants SET last_order_number = last_order_number WHERE id = ? RETURNING last_order_number`
	set := `UPDATE merchants SET last_order_number = ? WHERE id = ?`
	if s.dialect == dialect.Postgres {
		lock = `UPDATE merchants SET last_order_number = last_order_number WHERE id = $1 RETURNING last_order_number`
		set = `UPDATE merchants SET last_order_number = $1 WHERE id = $2`
	}
	rows, err := tx.QueryContext(ctx, lock, s.merchantID.String())
	if err != nil {
		return nil, apperr.Wrap(err, apperr.Internal, "Numbering imported orders failed.")
	}
	var last int64
	found := rows.Next()
	if found {
		err = rows.Scan(&last)
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil || !found {
		return nil, apperr.Wrap(err, apperr.Internal, "Numbering imported orders failed.")
	}
	numbers := make([]int64, len(fresh))
	used := map[int64]bool{}
	top := last
	for i, o := range fresh {
		if n, err := strconv.ParseInt(strings.TrimPrefix(o.Name, "#"), 10, 64); err == nil && n > last && n < 1<<53 && !used[n] {
			numbers[i], used[n] = n, true
			top = max(top, n)
		}
	}
	for i := range numbers {
		if numbers[i] == 0 {
			top++
			numbers[i] = top
		}
	}
	if _, err := tx.ExecContext(ctx, set, top, s.merchantID.String()); err != nil {
		return nil, apperr.Wrap(err, apperr.Internal, "Numbering imported orders failed.")
	}
	return numbers, nil
}
