package shopifycsv_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/mercantile/mercantile/internal/shopifycsv"
)

const fixture = "../../testdata/shopify/orders_export_devstore_2025.csv"

func readFixture(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(fixture)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// readAll reads every group and checks the accounting invariant: each data row, 2 to
// the last, is in exactly one group, as a line of an order or as a rejected row. A file
// whose header is not an orders export has no groups.
func readAll(tb testing.TB, data []byte) ([]shopifycsv.Group, int) {
	tb.Helper()
	rd, err := shopifycsv.NewOrderReader(bytes.NewReader(data))
	if err != nil {
		return nil, 0
	}
	var groups []shopifycsv.Group
	seen := map[int]bool{}
	for {
		g, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("Next: %v", err)
		}
		if (g.Order == nil) == (len(g.Rejected) == 0) {
			tb.Fatalf("group holds both or neither an order and rejections: %+v", g)
		}
		rows := []int{}
		if g.Order != nil {
			for _, l := range g.Order.Lines {
				rows = append(rows, l.Row)
			}
		}
		for _, e := range g.Rejected {
			rows = append(rows, e.Row)
		}
		for _, r := range rows {
			if seen[r] {
				tb.Fatalf("row %d accounted twice", r)
			}
			seen[r] = true
		}
		groups = append(groups, g)
	}
	for r := 2; r < len(seen)+2; r++ {
		if !seen[r] {
			tb.Fatalf("row %d was never accounted for (%d rows seen)", r, len(seen))
		}
	}
	return groups, len(seen)
}

func TestOrderReader(t *testing.T) {
	t.Parallel()
	t.Run("OK fixture", func(t *testing.T) {
		groups, rows := readAll(t, readFixture(t))
		if rows != 40 || len(groups) != 19 {
			t.Fatalf("rows %d groups %d, want 40 and 19", rows, len(groups))
		}
		o := groups[0].Order
		if o == nil || o.Name != "#1001" || len(o.Lines) != 4 || o.ShopifyID != 6634244374859 || o.Currency != "EUR" ||
			o.Total != 165995 || o.Subtotal != 165995 || o.FinancialStatus != "paid" || o.FulfillmentStatus != "fulfilled" {
			t.Fatalf("#1001 = %+v", o)
		}
		if l := o.Lines[3]; l.Name != "The Collection Snowboard: Oxygen" || l.Price != 102500 || l.Quantity != 1 || l.Row != 5 {
			t.Fatalf("#1001 line 4 = %+v", l)
		}
		if got := o.CreatedAt.Format(shopifycsv.TimeLayout); got != "2025-05-11 09:55:16 -0400" {
			t.Fatalf("created at %s", got)
		}
	})
	t.Run("ErrRows", func(t *testing.T) {
		h := strings.Join(shopifycsv.OrdersHeader, ",") + "\n"
		row := func(name, currency, total, created, qty, price string) string {
			cells := make([]string, len(shopifycsv.OrdersHeader))
			for i, c := range shopifycsv.OrdersHeader {
				switch c {
				case "Name":
					cells[i] = name
				case "Currency":
					cells[i] = currency
				case "Total":
					cells[i] = total
				case "Created at":
					cells[i] = created
				case "Lineitem quantity":
					cells[i] = qty
				case "Lineitem price":
					cells[i] = price
				case "Lineitem name":
					cells[i] = "Thing"
				}
			}
			return strings.Join(cells, ",") + "\n"
		}
		const at = "2025-05-11 09:55:16 -0400"
		data := h +
			row("#1", "", "", at, "1", "1.00") + // continuation without first row
			row("#2", "EUR", "1.0x", at, "1", "1.00") + // bad money
			row("#2", "", "", at, "1", "1.00") + // rejected with its order
			row("#3", "EUR", "2.00", at, "1", "2.00") +
			row("#3", "", "", at, "0", "2.00") // bad quantity rejects #3 whole
		groups, rows := readAll(t, []byte(data))
		if rows != 5 {
			t.Fatalf("rows %d", rows)
		}
		var got []shopifycsv.RowError
		for _, g := range groups {
			if g.Order != nil {
				t.Fatalf("unexpected order %s", g.Order.Name)
			}
			got = append(got, g.Rejected...)
		}
		want := []struct {
			row    int
			column string
		}{{2, "Name"}, {3, "Total"}, {4, "Total"}, {5, "Lineitem quantity"}, {6, "Lineitem quantity"}}
		for i, w := range want {
			if got[i].Row != w.row || got[i].Column != w.column {
				t.Errorf("rejection %d = %+v, want row %d column %s", i, got[i], w.row, w.column)
			}
		}
	})
}

func TestParseMoney(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, currency string
		want         int64
		ok           bool
	}{
		{"1659.95", "EUR", 165995, true}, {"0.00", "EUR", 0, true}, {"", "EUR", 0, true}, {"10", "EUR", 1000, true},
		{"10.5", "EUR", 1050, true}, {"10.500", "EUR", 1050, true}, {"10.505", "EUR", 0, false}, {"1200", "JPY", 1200, true},
		{"1.234", "KWD", 1234, true}, {"-1.00", "EUR", 0, false}, {"1e3", "EUR", 0, false}, {"1,000.00", "EUR", 0, false},
		{".", "EUR", 0, false}, {".5", "EUR", 50, true}, {"99999999999999999999", "EUR", 0, false},
	} {
		got, err := shopifycsv.ParseMoney(c.in, c.currency)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseMoney(%q, %s) = %d, %v", c.in, c.currency, got, err)
		}
		if c.ok && c.in != "" {
			if back, _ := shopifycsv.ParseMoney(shopifycsv.FormatMoney(got, c.currency), c.currency); back != got {
				t.Errorf("FormatMoney(%d) does not read back", got)
			}
		}
	}
}

func FuzzOrderReader(f *testing.F) {
	f.Add(readFixture(f))
	f.Add([]byte(strings.Join(shopifycsv.OrdersHeader, ",") + "\n#1,,,,,,,EUR,1,,,\"2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		groups, rows := readAll(t, data)
		n := 0
		for _, g := range groups {
			if g.Order != nil {
				n += len(g.Order.Lines)
			}
			n += len(g.Rejected)
		}
		if n != rows {
			t.Fatalf("groups count %d rows, %d distinct", n, rows)
		}
	})
}
