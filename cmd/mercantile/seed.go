package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/pulid"
)

// seed fills a merchant's catalog with synthetic products for benchmarks and demos.
func seed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	merchantID := fs.String("merchant", "", "merchant id (mer_...)")
	products := fs.Int("products", 1000, "products to add")
	variants := fs.Int("variants", 3, fmt.Sprintf("variants per product (1 to %d)", catalog.MaxSeedVariants))
	warehouses := fs.Int("warehouses", 3, "warehouses W1..Wn to stock (created when missing)")
	seedValue := fs.Uint64("seed", 1, "random seed: the same seed gives the same catalog")
	batch := fs.Int("batch", 0, "products per transaction (default 1000 on PostgreSQL, 250 on SQLite)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := parseFlags(fs, args, "merchant"); err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, cfg.Embedded())
	if err != nil {
		return err
	}
	defer db.Close()
	// The merchant's cached product lists must not outlive the seed; without Redis the
	// cache is in each server's memory and starts empty.
	var store kv.Store
	if cfg.RedisURL != "" {
		s, closeStore, err := openStore(ctx, cfg)
		if err != nil {
			fmt.Fprintf(stderr, "mercantile: seed: cached product lists not retired: %v\n", err)
		} else {
			defer closeStore()
			store = s
		}
	}

	bar := newProgressBar(stderr, "products", *products, *quiet)
	res, err := catalog.Seed(ctx, db, catalog.SeedOptions{
		MerchantID: pulid.ID(*merchantID), Products: *products, Variants: *variants, Warehouses: *warehouses,
		Seed: *seedValue, BatchSize: *batch, Cache: store, Progress: bar.update,
	})
	bar.finish(err == nil)
	if err != nil {
		return describe(err)
	}
	return printJSON(stdout, res)
}

// progressBar draws "[####    ]  42.0%  42000/100000 products  95,000 rows/s  ETA 0:31" on
// a terminal, redrawn at most five times a second; elsewhere (logs, CI) it prints a line
// every five seconds.
type progressBar struct {
	w        io.Writer
	unit     string // what total counts: "products", "rows"
	total    int
	start    time.Time
	tty      bool
	products atomic.Int64
	rows     atomic.Int64
	drawn    int64 // products at the last line printed (non-terminal output)
	stop     chan struct{}
	done     sync.WaitGroup
}

func newProgressBar(w io.Writer, unit string, total int, quiet bool) *progressBar {
	b := &progressBar{w: w, unit: unit, total: total, start: time.Now(), stop: make(chan struct{})}
	if quiet || total == 0 {
		b.total = 0
		return b
	}
	interval := 5 * time.Second
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			b.tty, interval = true, 200*time.Millisecond
		}
	}
	b.done.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.draw()
			case <-b.stop:
				return
			}
		}
	})
	return b
}

func (b *progressBar) update(products, rows int) {
	b.products.Store(int64(products))
	b.rows.Store(int64(rows))
}

func (b *progressBar) finish(ok bool) {
	select {
	case <-b.stop:
		return
	default:
	}
	close(b.stop)
	b.done.Wait()
	if b.total == 0 {
		return
	}
	if b.tty || ok {
		b.draw()
	}
	if b.tty {
		fmt.Fprintln(b.w)
	}
}

func (b *progressBar) draw() {
	done, rows := int(b.products.Load()), b.rows.Load()
	if !b.tty {
		if int64(done) == b.drawn {
			return
		}
		b.drawn = int64(done)
	}
	elapsed := time.Since(b.start)
	frac := float64(done) / float64(b.total)
	const width = 30
	filled := int(frac * width)
	eta := "--:--"
	if done > 0 && done < b.total {
		eta = clock(time.Duration(float64(elapsed) * (1 - frac) / frac))
	} else if done >= b.total {
		eta = "0:00"
	}
	line := fmt.Sprintf("[%s%s] %5.1f%%  %d/%d %s  %s rows/s  elapsed %s  ETA %s",
		strings.Repeat("#", filled), strings.Repeat(" ", width-filled), 100*frac, done, b.total, b.unit,
		thousands(int64(float64(rows)/max(elapsed.Seconds(), 0.001))), clock(elapsed), eta)
	if b.tty {
		fmt.Fprintf(b.w, "\r%s\x1b[K", line)
	} else {
		fmt.Fprintln(b.w, line)
	}
}

func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
