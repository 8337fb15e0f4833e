package imports

import (
	"bufio"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mercantile/mercantile/ent/importjob"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
)

// writeProductCSV writes a legacy-dialect Shopify product CSV of products products with
// variants size variants each (one row per variant, the first with an image and the
// product's fields), with stock quantities.
func writeProductCSV(w io.Writer, products, variants int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprint(bw, "Handle,Title,Body (HTML),Vendor,Type,Tags,Published,Option1 Name,Option1 Value,Variant SKU,Variant Grams,Variant Inventory Qty,Variant Price,Variant Compare At Price,Variant Barcode,Image Src,Image Position,Image Alt Text,Status\n")
	for p := range products {
		for v := range variants {
			if v == 0 {
				fmt.Fprintf(bw, "product-%d,Product %d,\"<p>Soft, warm\nand \"\"cosy\"\" product %d.</p>\",Acme,Shirts,\"summer, cotton\",TRUE,Size,S%d,SKU-%d-%d,%d.5,%d,%d.99,,%013d,https://cdn.example.com/p/%d.jpg,1,Product %d,active\n",
					p, p, p, v, p, v, 100+v, (p+v)%50, 10+p%90, p, p, p)
				continue
			}
			fmt.Fprintf(bw, "product-%d,,,,,,,,S%d,SKU-%d-%d,%d.5,%d,%d.99,,,,,,\n", p, v, p, v, 100+v, (p+v)%50, 10+p%90)
		}
	}
	return bw.Flush()
}

// BenchmarkImportProducts100k imports 100,000 product rows (25,000 products of 4
// variants, each row with stock) on PostgreSQL, the file generated as it is uploaded.
// It reports rows/s and the peak Go heap.
func BenchmarkImportProducts100k(b *testing.B) {
	const products, variants = 25_000, 4
	db := dbtest.Postgres(b)
	for b.Loop() {
		e := newEnv(b, db)
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeProductCSV(pw, products, variants)) }()
		var peak atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			var ms runtime.MemStats
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak.Load() {
					peak.Store(ms.HeapAlloc)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		start := time.Now()
		job, err := e.svc.Create(e.ctx, CreateInput{Kind: "shopify_products", Filename: "bench.csv", File: pr}, false)
		if err != nil {
			b.Fatal(err)
		}
		job, err = e.svc.Run(e.ctx, job.ID, RunOptions{})
		elapsed := time.Since(start)
		close(stop)
		<-sampled
		if err != nil {
			b.Fatal(err)
		}
		if job.Status != importjob.StatusSucceeded || job.RowsImported != products*variants {
			b.Fatalf("%+v", job)
		}
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		b.ReportMetric(float64(products*variants)/elapsed.Seconds(), "rows/s")
		b.ReportMetric(elapsed.Seconds(), "s/import")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss-MiB")
	}
}
