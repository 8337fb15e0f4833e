package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/imports"
	"github.com/mercantile/mercantile/internal/pulid"
)

// importSummary is what the import command prints: the job and its first row errors.
type importSummary struct {
	ID           string             `json:"id"`
	Kind         string             `json:"kind"`
	Status       string             `json:"status"`
	Filename     string             `json:"filename"`
	FileSHA256   string             `json:"file_sha256"`
	DryRun       bool               `json:"dry_run"`
	RowsTotal    int                `json:"rows_total"`
	RowsImported int                `json:"rows_imported"`
	RowsSkipped  int                `json:"rows_skipped"`
	RowsRejected int                `json:"rows_rejected"`
	Error        string             `json:"error"`
	Seconds      float64            `json:"seconds"`
	ErrorsCount  int                `json:"errors_count"`
	Errors       []imports.RowError `json:"errors"`
}

// maxPrintedErrors bounds the row errors the summary lists; errors_count has them all.
const maxPrintedErrors = 100

// importCommand runs an import in this process: the same importer as the API's jobs,
// reading FILE where it is rather than a stored copy.
func importCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	merchantID := fs.String("merchant", "", "merchant id (mer_...)")
	kind := fs.String("kind", "", "shopify_products, shopify_orders or inventory")
	warehouse := fs.String("warehouse", "", "warehouse code for stock columns (default: the first by priority)")
	dryRun := fs.Bool("dry-run", false, "validate and count without writing")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := parseFlags(fs, args, "merchant", "kind"); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("import: name one FILE to import")
	}
	path, err := filepath.Abs(fs.Arg(0))
	if err != nil {
		return err
	}
	sum, size, err := fileSHA256(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
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
	// The servers' Redis, so that the caches of what the import changes are retired.
	store, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	svc := newServices(cfg, db, store, nil, slog.New(slog.DiscardHandler))
	if _, err := svc.merchants.ByID(ctx, pulid.ID(*merchantID)); err != nil {
		return describe(err)
	}
	mctx := viewer.MerchantSystemContext(ctx, pulid.ID(*merchantID))
	imp := newImports(db, svc, readOnlyFiles{dir: filepath.Dir(path)})
	job, err := imp.Create(mctx, imports.CreateInput{
		Kind: *kind, Filename: path, WarehouseCode: *warehouse, DryRun: *dryRun,
		Stored: &imports.StoredFile{Key: filepath.Base(path), SHA256: sum, Size: size},
	}, false)
	if err != nil {
		return describe(err)
	}
	var bar *progressBar
	job, err = imp.Run(ctx, job.ID, imports.RunOptions{Progress: func(done, total int) {
		if bar == nil {
			bar = newProgressBar(stderr, "rows", total, *quiet)
		}
		bar.update(done, done)
	}})
	if bar != nil {
		bar.finish(err == nil)
	}
	if err != nil {
		return describe(err)
	}
	if err := printJSON(stdout, summarize(mctx, imp, job)); err != nil {
		return err
	}
	if job.Status != "succeeded" {
		return fmt.Errorf("import %s failed: %s", job.ID, job.Error)
	}
	return nil
}

func summarize(ctx context.Context, imp *imports.Service, job *ent.ImportJob) importSummary {
	out := importSummary{
		ID: job.ID.String(), Kind: string(job.Kind), Status: string(job.Status), Filename: job.Filename,
		FileSHA256: job.FileSha256, DryRun: job.DryRun, RowsTotal: job.RowsTotal, RowsImported: job.RowsImported,
		RowsSkipped: job.RowsSkipped, RowsRejected: job.RowsRejected, Error: job.Error, Errors: []imports.RowError{},
	}
	if job.StartedAt != nil && job.FinishedAt != nil {
		out.Seconds = job.FinishedAt.Sub(*job.StartedAt).Seconds()
	}
	if _, errs, total, err := imp.Job(ctx, job.ID, 0, maxPrintedErrors); err == nil {
		out.ErrorsCount = total
		for _, e := range errs {
			out.Errors = append(out.Errors, imports.RowError{Row: e.Row, Column: e.Column, Message: e.Message})
		}
	}
	return out
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// readOnlyFiles serves the CLI's file where it lies: the import reads it, and never
// stores or deletes anything there.
type readOnlyFiles struct{ dir string }

func (f readOnlyFiles) Put(context.Context, string, io.Reader) (int64, error) {
	return 0, errors.New("import: the command line reads files in place")
}

func (f readOnlyFiles) Open(_ context.Context, key string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(f.dir, key))
}

func (f readOnlyFiles) Delete(context.Context, string) error { return nil }
