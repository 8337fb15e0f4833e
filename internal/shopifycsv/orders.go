package shopifycsv

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mercantile/mercantile/internal/postal"
)

// OrdersHeader is the header of Shopify's orders export, in its order.
var OrdersHeader = []string{
	"Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
	"Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
	"Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
	"Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
	"Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street",
	"Billing Address1", "Billing Address2", "Billing Company", "Billing City", "Billing Zip",
	"Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street",
	"Shipping Address1", "Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip",
	"Shipping Province", "Shipping Country", "Shipping Phone", "Notes", "Note Attributes",
	"Cancelled at", "Payment Method", "Payment Reference", "Refunded Amount", "Vendor",
	"Outstanding Balance", "Employee", "Location", "Device ID", "Id", "Tags", "Risk Level",
	"Source", "Lineitem discount", "Tax 1 Name", "Tax 1 Value", "Tax 2 Name", "Tax 2 Value",
	"Tax 3 Name", "Tax 3 Value", "Tax 4 Name", "Tax 4 Value", "Tax 5 Name", "Tax 5 Value",
	"Phone", "Receipt Number", "Duties", "Billing Province Name", "Shipping Province Name",
	"Payment ID", "Payment Terms Name", "Next Payment Due At", "Payment References",
}

// TimeLayout is how Shopify's exports write timestamps: 2025-05-11 09:55:16 -0400.
const TimeLayout = "2006-01-02 15:04:05 -0700"

// requiredOrderColumns must be in the header for a file to be read at all.
var requiredOrderColumns = []string{"Name", "Currency", "Total", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price"}

// Order is one order of the export with its line items, amounts in minor units of
// Currency. FinancialStatus and FulfillmentStatus are Shopify's values, lower-cased and
// checked against the ones the export uses.
type Order struct {
	Row               int   // the spreadsheet row of the order's first line (the header is row 1)
	ShopifyID         int64 // 0 when the Id column is empty
	Name              string
	Email             string
	Currency          string
	FinancialStatus   string
	FulfillmentStatus string
	Subtotal          int64
	Shipping          int64
	Taxes             int64
	Total             int64
	Discount          int64
	Refunded          int64
	CreatedAt         time.Time
	PaidAt            *time.Time
	CancelledAt       *time.Time
	Note              string
	Source            string
	BillingAddress    postal.Address
	ShippingAddress   postal.Address
	Lines             []Line
}

// Line is one line item row.
type Line struct {
	Row               int
	Quantity          int
	Name              string
	Price             int64
	SKU               string
	FulfillmentStatus string
}

// RowError says why a row was rejected: Column names the cell at fault, when one is.
type RowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// Error implements error: "row 3, Total: is not a decimal amount".
func (e RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("row %d: %s", e.Row, e.Message)
	}
	return fmt.Sprintf("row %d, %s: %s", e.Row, e.Column, e.Message)
}

// Group is what Next returns: an order read whole (Order, every row of it in Order.Lines)
// or the rows rejected (Rejected, each row once). A group holds one or the other, so
// every data row of the file lands in exactly one group.
type Group struct {
	Order    *Order
	Rejected []RowError
}

// RawRow is one data record of a file: its spreadsheet row number (the header is row 1)
// and its cells.
type RawRow struct {
	Num   int
	Cells []string
}

// OrderColumns locates the columns of an orders export by their header names.
type OrderColumns struct {
	col map[string]int
}

// NewOrderColumns reads the header of an orders export (names match ignoring case,
// surrounding spaces and a BOM).
// Errors: the header lacks a column orders cannot be read without.
func NewOrderColumns(header []string) (OrderColumns, error) {
	col := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	var missing []string
	for _, c := range requiredOrderColumns {
		if _, ok := col[strings.ToLower(c)]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return OrderColumns{}, fmt.Errorf("not a Shopify orders export: the header lacks %s", strings.Join(missing, ", "))
	}
	return OrderColumns{col: col}, nil
}

func (c OrderColumns) cell(rec []string, name string) string {
	i, ok := c.col[strings.ToLower(name)]
	if !ok || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// Name is the order name of a row, the key its rows share.
func (c OrderColumns) Name(cells []string) string { return c.cell(cells, "Name") }

// isFirstRow tells an order's first row, which carries the order fields, from a
// continuation row, which carries only line item columns.
func (c OrderColumns) isFirstRow(rec []string) bool {
	return c.cell(rec, "Currency") != "" || c.cell(rec, "Total") != "" || c.cell(rec, "Financial Status") != ""
}

// Groups reads consecutive rows into orders: a first row starts an order and the
// continuation rows after it with the same Name add its line items. Every row lands in
// exactly one group; a row that fails rejects its whole order, since an order is
// imported whole or not at all.
func (c OrderColumns) Groups(rows []RawRow) []Group {
	var out []Group
	for i := 0; i < len(rows); {
		row := rows[i]
		name := c.Name(row.Cells)
		switch {
		case name == "":
			out = append(out, Group{Rejected: []RowError{{Row: row.Num, Column: "Name", Message: "is required"}}})
			i++
			continue
		case !c.isFirstRow(row.Cells):
			out = append(out, Group{Rejected: []RowError{{Row: row.Num, Column: "Name",
				Message: "continuation row of order " + name + ", which has no first row (Currency, Total) just before it"}}})
			i++
			continue
		}
		o, first := c.order(row.Cells, row.Num)
		var failures []RowError
		if first != nil {
			failures = append(failures, *first)
		}
		nums := []int{}
		for j := i; j < len(rows) && (j == i || (c.Name(rows[j].Cells) == name && !c.isFirstRow(rows[j].Cells))); j++ {
			nums = append(nums, rows[j].Num)
			l, lerr := c.line(rows[j].Cells, rows[j].Num, o.Currency)
			if lerr != nil {
				failures = append(failures, *lerr)
				continue
			}
			o.Lines = append(o.Lines, l)
		}
		i += len(nums)
		out = append(out, finish(o, nums, failures))
	}
	return out
}

// OrderReader streams an orders export order by order. Rows of one order are
// consecutive, as Shopify writes them; memory holds one order at a time.
type OrderReader struct {
	csv     *csv.Reader
	cols    OrderColumns
	row     int
	pending *RawRow
	queue   []Group
	done    bool
}

// NewOrderReader reads the header of an orders export.
// Errors: the header lacks a required column, or the file is not CSV.
func NewOrderReader(r io.Reader) (*OrderReader, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the file is empty: an orders export starts with its header")
	}
	if err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	cols, err := NewOrderColumns(header)
	if err != nil {
		return nil, err
	}
	return &OrderReader{csv: cr, cols: cols, row: 1}, nil
}

// read returns the next record, or nil at the end of the file. A record the CSV parser
// cannot read (a stray quote) comes back as a RowError and reading goes on.
func (r *OrderReader) read() (*RawRow, *RowError, error) {
	if r.done {
		return nil, nil, nil
	}
	rec, err := r.csv.Read()
	if errors.Is(err, io.EOF) {
		r.done = true
		return nil, nil, nil
	}
	r.row++
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return nil, &RowError{Row: r.row, Message: "is not valid CSV: " + pe.Err.Error()}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return &RawRow{Num: r.row, Cells: rec}, nil, nil
}

// Next returns the next group, or io.EOF after the last. Other errors are the reader's.
func (r *OrderReader) Next() (Group, error) {
	for len(r.queue) == 0 {
		first := r.pending
		r.pending = nil
		if first == nil {
			row, bad, err := r.read()
			if err != nil {
				return Group{}, err
			}
			if bad != nil {
				return Group{Rejected: []RowError{*bad}}, nil
			}
			if row == nil {
				return Group{}, io.EOF
			}
			first = row
		}
		rows := []RawRow{*first}
		name := r.cols.Name(first.Cells)
		for name != "" {
			row, bad, err := r.read()
			if err != nil {
				return Group{}, err
			}
			if bad != nil {
				r.queue = append(r.cols.Groups(rows), Group{Rejected: []RowError{*bad}})
				rows = nil
				break
			}
			if row == nil {
				break
			}
			if r.cols.Name(row.Cells) != name {
				r.pending = row
				break
			}
			rows = append(rows, *row)
		}
		if rows != nil {
			r.queue = r.cols.Groups(rows)
		}
	}
	g := r.queue[0]
	r.queue = r.queue[1:]
	return g, nil
}

// finish returns the order, or every row of it rejected when any row failed.
func finish(o *Order, rows []int, failures []RowError) Group {
	if len(failures) == 0 {
		return Group{Order: o}
	}
	byRow := make(map[int]RowError, len(failures))
	for _, f := range failures {
		if _, seen := byRow[f.Row]; !seen {
			byRow[f.Row] = f
		}
	}
	first := failures[0]
	out := make([]RowError, 0, len(rows))
	for _, row := range rows {
		if f, ok := byRow[row]; ok {
			out = append(out, f)
			continue
		}
		out = append(out, RowError{Row: row, Column: first.Column,
			Message: fmt.Sprintf("order %s was rejected at row %d", o.Name, first.Row)})
	}
	return Group{Rejected: out}
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// order reads the order fields of a first row; the error is the first bad cell.
func (c OrderColumns) order(rec []string, row int) (*Order, *RowError) {
	fail := func(col, format string, args ...any) *RowError {
		return &RowError{Row: row, Column: col, Message: fmt.Sprintf(format, args...)}
	}
	o := &Order{
		Row: row, Name: c.cell(rec, "Name"), Email: strings.ToLower(c.cell(rec, "Email")),
		Currency: strings.ToUpper(c.cell(rec, "Currency")), Note: c.cell(rec, "Notes"), Source: c.cell(rec, "Source"),
		FinancialStatus: strings.ToLower(c.cell(rec, "Financial Status")), FulfillmentStatus: strings.ToLower(c.cell(rec, "Fulfillment Status")),
		BillingAddress: c.address(rec, "Billing"), ShippingAddress: c.address(rec, "Shipping"),
	}
	if !currencyPattern.MatchString(o.Currency) {
		return o, fail("Currency", "must be an ISO 4217 code such as EUR")
	}
	if len(o.Email) > 254 {
		return o, fail("Email", "must be at most 254 characters")
	}
	if len(o.Note) > 5000 {
		return o, fail("Notes", "must be at most 5000 characters")
	}
	if id := c.cell(rec, "Id"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 {
			return o, fail("Id", "must be a positive integer")
		}
		o.ShopifyID = n
	}
	if _, ok := financialStatuses[o.FinancialStatus]; !ok {
		return o, fail("Financial Status", "%q is not one of Shopify's financial statuses", o.FinancialStatus)
	}
	if _, ok := fulfillmentStatuses[o.FulfillmentStatus]; !ok {
		return o, fail("Fulfillment Status", "%q is not one of Shopify's fulfillment statuses", o.FulfillmentStatus)
	}
	for _, m := range []struct {
		col string
		dst *int64
	}{{"Subtotal", &o.Subtotal}, {"Shipping", &o.Shipping}, {"Taxes", &o.Taxes}, {"Total", &o.Total},
		{"Discount Amount", &o.Discount}, {"Refunded Amount", &o.Refunded}} {
		n, err := ParseMoney(c.cell(rec, m.col), o.Currency)
		if err != nil {
			return o, fail(m.col, "%s", err)
		}
		*m.dst = n
	}
	created, err := parseTime(c.cell(rec, "Created at"))
	if err != nil || created == nil {
		return o, fail("Created at", "must be a time such as 2025-05-11 09:55:16 -0400")
	}
	o.CreatedAt = *created
	if o.PaidAt, err = parseTime(c.cell(rec, "Paid at")); err != nil {
		return o, fail("Paid at", "must be a time such as 2025-05-11 09:55:16 -0400")
	}
	if o.CancelledAt, err = parseTime(c.cell(rec, "Cancelled at")); err != nil {
		return o, fail("Cancelled at", "must be a time such as 2025-05-11 09:55:16 -0400")
	}
	return o, nil
}

// MaxLineQuantity bounds a line's quantity; larger is a broken file.
const MaxLineQuantity = 1_000_000

// line reads the line item columns of a row.
func (c OrderColumns) line(rec []string, row int, currency string) (Line, *RowError) {
	l := Line{Row: row, Name: c.cell(rec, "Lineitem name"), SKU: c.cell(rec, "Lineitem sku"),
		FulfillmentStatus: strings.ToLower(c.cell(rec, "Lineitem fulfillment status"))}
	q, err := strconv.Atoi(c.cell(rec, "Lineitem quantity"))
	if err != nil || q < 1 || q > MaxLineQuantity {
		return l, &RowError{Row: row, Column: "Lineitem quantity", Message: "must be a whole number from 1 to 1000000"}
	}
	l.Quantity = q
	if len(l.SKU) > 64 {
		return l, &RowError{Row: row, Column: "Lineitem sku", Message: "must be at most 64 characters"}
	}
	if l.Price, err = ParseMoney(c.cell(rec, "Lineitem price"), currency); err != nil {
		return l, &RowError{Row: row, Column: "Lineitem price", Message: err.Error()}
	}
	if l.Price > 0 && int64(q) > maxMinor/l.Price {
		return l, &RowError{Row: row, Column: "Lineitem quantity", Message: "times the price is too large"}
	}
	return l, nil
}

func (c OrderColumns) address(rec []string, prefix string) postal.Address {
	line1 := c.cell(rec, prefix+" Address1")
	if line1 == "" {
		line1 = c.cell(rec, prefix+" Street")
	}
	return postal.Address{
		Name: c.cell(rec, prefix+" Name"), Company: c.cell(rec, prefix+" Company"), Line1: line1,
		Line2: c.cell(rec, prefix+" Address2"), City: c.cell(rec, prefix+" City"),
		Region: c.cell(rec, prefix+" Province"), PostalCode: c.cell(rec, prefix+" Zip"),
		Country: strings.ToUpper(c.cell(rec, prefix+" Country")), Phone: c.cell(rec, prefix+" Phone"),
	}
}

func parseTime(s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// financialStatuses are the financial statuses Shopify's export writes ("" on orders
// without one, read as pending).
var financialStatuses = map[string]struct{}{
	"": {}, "pending": {}, "authorized": {}, "partially_paid": {}, "paid": {},
	"partially_refunded": {}, "refunded": {}, "voided": {}, "expired": {},
}

// fulfillmentStatuses are the fulfillment statuses Shopify's export writes ("" is
// unfulfilled).
var fulfillmentStatuses = map[string]struct{}{
	"": {}, "unfulfilled": {}, "partial": {}, "fulfilled": {}, "restocked": {},
}
