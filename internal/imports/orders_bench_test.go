package imports_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mercantile/mercantile/ent/importjob"
	"github.com/mercantile/mercantile/internal/imports"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/shopifycsv"
)

// benchOrderRows sizes BenchmarkShopifyOrdersImport: go test -bench ShopifyOrdersImport
// -benchtime 1x ./internal/imports -args -order-rows 1000000 measures the 1M-row target.
var benchOrderRows = flag.Int("order-rows", 20_000, "line item rows of the generated orders export")

// writeOrdersExport writes an orders export of rows line item rows (orders of 1 to 4
// lines, Shopify's 79 columns) to a file, streaming.
func writeOrdersExport(tb testing.TB, rows int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "orders.csv")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := csv.NewWriter(bw)
	_ = w.Write(shopifycsv.OrdersHeader)
	col := map[string]int{}
	for i, h := range shopifycsv.OrdersHeader {
		col[h] = i
	}
	base := time.Date(2024, 1, 1, 9, 0, 0, 0, time.FixedZone("", -4*3600))
	rec := make([]string, len(shopifycsv.OrdersHeader))
	for n, order := 0, 0; n < rows; order++ {
		lines := min(1+order%4, rows-n)
		name := "#" + strconv.Itoa(1001+order)
		created := base.Add(time.Duration(order) * 7 * time.Minute).Format(shopifycsv.TimeLayout)
		for l := range lines {
			clear(rec)
			rec[col["Name"]] = name
			rec[col["Created at"]] = created
			if l == 0 {
				total := strconv.Itoa(lines*(10+order%90)) + ".50"
				rec[col["Email"]] = "buyer" + strconv.Itoa(order%5000) + "@example.com"
				rec[col["Financial Status"]] = []string{"paid", "pending", "refunded", "partially_refunded", "authorized"}[order%5]
				rec[col["Fulfillment Status"]] = []string{"fulfilled", "unfulfilled", "partial", ""}[order%4]
				rec[col["Currency"]] = "EUR"
				rec[col["Subtotal"]], rec[col["Total"]] = total, total
				rec[col["Shipping"]], rec[col["Taxes"]] = "0.00", "0.00"
				rec[col["Id"]] = strconv.Itoa(5_000_000_000 + order)
				rec[col["Shipping Name"]], rec[col["Shipping City"]], rec[col["Shipping Country"]] = "Ada", "Ottawa", "CA"
			}
			rec[col["Lineitem quantity"]] = "1"
			rec[col["Lineitem name"]] = "Snowboard " + strconv.Itoa(l)
			rec[col["Lineitem price"]] = strconv.Itoa(10+order%90) + ".50"
			rec[col["Lineitem sku"]] = "SKU-" + strconv.Itoa(order%500)
			_ = w.Write(rec)
			n++
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tb.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkShopifyOrdersImport imports a generated orders export on PostgreSQL and
// reports rows per second and the peak Go heap seen during the run (sampled every 50
// ms), which must stay flat as the file grows.
func BenchmarkShopifyOrdersImport(b *testing.B) {
	rows := *benchOrderRows
	path := writeOrdersExport(b, rows)
	for b.Loop() {
		b.StopTimer()
		e := newOrdersEnv(b, dbtest.Postgres(b))
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		job, err := e.svc.Create(e.ctx, imports.CreateInput{Kind: "shopify_orders", Filename: "orders.csv", File: f}, false)
		_ = f.Close()
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var peak atomic.Uint64
		done := make(chan struct{})
		go func() {
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak.Load() {
					peak.Store(ms.HeapAlloc)
				}
				select {
				case <-done:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
		b.StartTimer()
		start := time.Now()
		job, err = e.svc.Run(context.Background(), job.ID, imports.RunOptions{})
		elapsed := time.Since(start)
		b.StopTimer()
		close(done)
		if err != nil || job.Status != importjob.StatusSucceeded || job.RowsImported != rows {
			b.Fatalf("%v %s %q imported %d of %d", err, job.Status, job.Error, job.RowsImported, rows)
		}
		b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		b.StartTimer()
	}
}
