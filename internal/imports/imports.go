// Package imports owns CSV import jobs: the stored file, the ImportJob row and its
// ImportRowErrors, and the machinery every kind of import shares. A job reads its file as
// a stream twice: a first pass checks the whole file (UTF-8, CSV syntax, cell sizes,
// header) and counts its rows, so a file-level failure writes nothing; the second pass
// groups consecutive rows into records (a product is every row sharing its handle) and
// hands them, a batch at a time, to the kind's Session, committing each batch together
// with the job's counters and last_row. A crashed job resumes after last_row.
//
// Each kind plugs in as an Importer (Register). The package must not know a kind's
// columns or domain rules; Importers must not read files or touch the job row.
package imports

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/importjob"
	"github.com/mercantile/mercantile/ent/importrowerror"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/jobs"
	"github.com/mercantile/mercantile/internal/paging"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/pulid"
)

// Kinds of import, as ImportJob.kind spells them.
const (
	KindShopifyProducts = importjob.KindShopifyProducts
	KindShopifyOrders   = importjob.KindShopifyOrders
	KindInventory       = importjob.KindInventory
)

// Limits of the reader.
const (
	// MaxCellBytes is the largest cell accepted; a larger one fails the file.
	MaxCellBytes = 1 << 20
	// maxRecordBytes bounds the bytes of one CSV record, so an unterminated quote or a
	// huge cell cannot make the reader buffer the rest of the file.
	maxRecordBytes = 8 << 20
	// DefaultBatchSize is how many records one transaction commits.
	DefaultBatchSize = 500
	// MaxRowErrors caps the row errors a job stores; later rejections are still counted.
	MaxRowErrors = 10_000
)

// Row is one data record of a file. Num is its row number as a spreadsheet shows it (the
// header is row 1); Cells belong to the row (the reader does not reuse them).
type Row struct {
	Num   int
	Cells []string
}

// Record is a group of consecutive rows that import as one unit: a product and its
// variant and image rows, an order and its line items, one stock line.
type Record struct {
	Key  string
	Rows []Row
}

// Importer imports one kind of file.
type Importer interface {
	// Open checks a file's header (column names, BOM stripped) for job and returns the
	// Session that imports its records. An error is a file-level failure shown to the
	// user as it is: say which columns are missing. Open must not write.
	Open(ctx context.Context, job *ent.ImportJob, header []string) (Session, error)
}

// Grower is implemented by an Importer whose batches add rows to tables that its later
// batches look up. PostgreSQL plans those lookups from table statistics, which
// autovacuum refreshes only about once a minute; a plan chosen while a table was nearly
// empty scans all of it once it holds 100,000 rows, so an import slows as it goes. The
// framework analyzes GrownTables after the 1st, 2nd, 4th, 8th... batch, a cost that
// grows with the logarithm of the file.
type Grower interface {
	GrownTables() []string
}

// Session imports the records of one file.
type Session interface {
	// Key returns the grouping key of a row: consecutive rows with the same non-empty key
	// are one record; a row whose key is "" is a record by itself.
	Key(cells []string) string
	// Commit validates and writes records with tx, inside the batch's transaction (ctx
	// carries it, so jobs.Enqueue and the domain services join it), and accounts for
	// every row in out. On a dry run the framework rolls the transaction back, so Commit
	// writes the same way either way. An error fails the batch: nothing of it is kept
	// and the job is retried from the last committed batch.
	Commit(ctx context.Context, tx *ent.Client, records []Record, out *Outcomes) error
}

// Outcomes collects what happened to each row of a batch. A rejection is final; marking
// a rejected row imported or skipped leaves it rejected.
type Outcomes struct {
	state map[int]outcome
	errs  []RowError
}

type outcome int

const (
	outcomeImported outcome = iota + 1
	outcomeSkipped
	outcomeRejected
)

// RowError is why one row was rejected.
type RowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// Imported marks rows as imported (written or changed).
func (o *Outcomes) Imported(rows ...Row) { o.mark(outcomeImported, rows) }

// Skipped marks rows as skipped: already present and unchanged.
func (o *Outcomes) Skipped(rows ...Row) { o.mark(outcomeSkipped, rows) }

// Reject marks row as rejected because of column, with a message for the user.
func (o *Outcomes) Reject(row Row, column, format string, args ...any) {
	if o.state[row.Num] == outcomeRejected {
		return
	}
	o.state[row.Num] = outcomeRejected
	o.errs = append(o.errs, RowError{Row: row.Num, Column: column, Message: fmt.Sprintf(format, args...)})
}

// Rejected reports whether row was rejected.
func (o *Outcomes) Rejected(row Row) bool { return o.state[row.Num] == outcomeRejected }

func (o *Outcomes) mark(k outcome, rows []Row) {
	for _, r := range rows {
		if o.state[r.Num] != outcomeRejected {
			o.state[r.Num] = k
		}
	}
}

// tally counts the outcomes of records, failing when a row was left unaccounted.
func (o *Outcomes) tally(records []Record) (imported, skipped, rejected, last int, err error) {
	for _, rec := range records {
		for _, r := range rec.Rows {
			switch o.state[r.Num] {
			case outcomeImported:
				imported++
			case outcomeSkipped:
				skipped++
			case outcomeRejected:
				rejected++
			default:
				return 0, 0, 0, 0, fmt.Errorf("imports: row %d was left unaccounted by the importer", r.Num)
			}
			last = max(last, r.Num)
		}
	}
	return imported, skipped, rejected, last, nil
}

// Columns finds columns of a header by name, ignoring case and surrounding spaces.
type Columns map[string]int

// NewColumns indexes header; the first of duplicate names wins.
func NewColumns(header []string) Columns {
	c := make(Columns, len(header))
	for i, h := range header {
		k := strings.ToLower(strings.TrimSpace(h))
		if _, dup := c[k]; !dup {
			c[k] = i
		}
	}
	return c
}

// Index returns the position of the first of names present, or -1.
func (c Columns) Index(names ...string) int {
	for _, n := range names {
		if i, ok := c[strings.ToLower(n)]; ok {
			return i
		}
	}
	return -1
}

// Cell returns cells[i] trimmed, or "" when i is -1 or beyond the row.
func Cell(cells []string, i int) string {
	if i < 0 || i >= len(cells) {
		return ""
	}
	return strings.TrimSpace(cells[i])
}

// FileError is a failure of the whole file; its message is shown as the job's error.
type FileError struct{ Message string }

func (e *FileError) Error() string { return e.Message }

// fileErrorf returns a FileError.
func fileErrorf(format string, args ...any) error {
	return &FileError{Message: fmt.Sprintf(format, args...)}
}

// errRecordTooLarge is returned by the limit reader when one record outgrows
// maxRecordBytes.
var errRecordTooLarge = errors.New("record too large")

// limitReader fails once more than maxRecordBytes were read past the last record
// boundary the CSV reader reported.
type limitReader struct {
	r        io.Reader
	consumed int64
	boundary func() int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.consumed-l.boundary() > maxRecordBytes {
		return 0, errRecordTooLarge
	}
	n, err := l.r.Read(p)
	l.consumed += int64(n)
	return n, err
}

// reader reads the records of a CSV file with their row numbers.
type reader struct {
	csv  *csv.Reader
	row  int
	head []byte
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func newReader(r io.Reader) *reader {
	br := bufio.NewReaderSize(r, 64<<10)
	if head, err := br.Peek(3); err == nil && bytes.Equal(head, utf8BOM) {
		_, _ = br.Discard(3)
	}
	rd := &reader{}
	rd.head, _ = br.Peek(8 << 10)
	lr := &limitReader{r: br}
	rd.csv = csv.NewReader(lr)
	lr.boundary = rd.csv.InputOffset
	rd.csv.FieldsPerRecord = -1
	rd.csv.LazyQuotes = false
	rd.csv.ReuseRecord = true
	return rd
}

// next returns the next record's cells (valid until the next call) and its row number,
// io.EOF at the end, or a FileError.
func (rd *reader) next() ([]string, int, error) {
	cells, err := rd.csv.Read()
	num := rd.row + 1
	if err == io.EOF {
		return nil, 0, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		switch {
		case errors.Is(err, errRecordTooLarge):
			return nil, num, fileErrorf("row %d: a record is larger than %d MiB (a cell over the %d MiB limit, or a quote that is never closed)", num, maxRecordBytes>>20, MaxCellBytes>>20)
		case errors.As(err, &pe):
			return nil, num, fileErrorf("row %d (line %d): the file is not valid CSV: %v", num, pe.Line, pe.Err)
		default:
			return nil, num, fmt.Errorf("reading the file: %w", err)
		}
	}
	rd.row = num
	for i, c := range cells {
		if len(c) > MaxCellBytes {
			return nil, num, fileErrorf("row %d, column %d: a cell is larger than the %d MiB limit", num, i+1, MaxCellBytes>>20)
		}
		if !utf8.ValidString(c) {
			return nil, num, fileErrorf("row %d, column %d: the file is not UTF-8 text (save it as UTF-8; Latin-1 and Windows-1252 are not accepted)", num, i+1)
		}
		if strings.IndexByte(c, 0) >= 0 {
			return nil, num, fileErrorf("row %d, column %d: the file contains binary data (NUL bytes); it is not a CSV text file", num, i+1)
		}
	}
	return cells, num, nil
}

// readHeader reads and checks the header row.
func (rd *reader) readHeader() ([]string, error) {
	if bytes.IndexByte(rd.head, 0) >= 0 {
		return nil, fileErrorf("the file is binary (it contains NUL bytes), not a CSV text file")
	}
	cells, _, err := rd.next()
	if err == io.EOF {
		return nil, fileErrorf("the file is empty: a CSV file with a header row is expected")
	}
	if err != nil {
		return nil, err
	}
	header := append([]string(nil), cells...)
	named := 0
	for _, h := range header {
		if strings.TrimSpace(h) != "" {
			named++
		}
	}
	if named == 0 {
		return nil, fileErrorf("row 1: the header row names no columns")
	}
	return header, nil
}

// FileStore keeps uploaded import files until their job is done. Servers and workers
// must all reach it: a shared directory or an object store.
type FileStore interface {
	// Put stores r under key and returns its size.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open returns the stored file.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the file; a missing file is not an error.
	Delete(ctx context.Context, key string) error
}

// DirStore is a FileStore on a local (or shared network) directory.
type DirStore struct{ dir string }

// NewDirStore returns a DirStore under dir, which Put creates as needed.
func NewDirStore(dir string) *DirStore { return &DirStore{dir: dir} }

func (d *DirStore) path(key string) string {
	return filepath.Join(d.dir, filepath.FromSlash(key))
}

// Put implements FileStore; the file appears whole or not at all.
func (d *DirStore) Put(_ context.Context, key string, r io.Reader) (int64, error) {
	p := d.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return 0, err
	}
	return n, nil
}

// Open implements FileStore.
func (d *DirStore) Open(_ context.Context, key string) (io.ReadCloser, error) {
	return os.Open(d.path(key))
}

// Delete implements FileStore.
func (d *DirStore) Delete(_ context.Context, key string) error {
	err := os.Remove(d.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Service creates, runs and reports import jobs.
type Service struct {
	db        *database.DB
	files     FileStore
	importers map[importjob.Kind]Importer
	batchSize int
}

// NewService returns a service storing files in files. Register the kinds before use.
func NewService(db *database.DB, files FileStore) *Service {
	return &Service{db: db, files: files, importers: map[importjob.Kind]Importer{}, batchSize: DefaultBatchSize}
}

// Register makes kind importable with imp. Call it before the service is used.
func (s *Service) Register(kind importjob.Kind, imp Importer) {
	s.importers[kind] = imp
}

// SetBatchSize sets how many records a transaction commits (DefaultBatchSize if n < 1).
func (s *Service) SetBatchSize(n int) {
	if n < 1 {
		n = DefaultBatchSize
	}
	s.batchSize = n
}

// StoredFile is an uploaded file kept in the FileStore, not yet claimed by a job.
type StoredFile struct {
	Key    string
	SHA256 string
	Size   int64
}

// CreateInput is an uploaded file to import: File to be stored, or Stored already.
type CreateInput struct {
	Kind          string
	Filename      string
	File          io.Reader
	Stored        *StoredFile
	WarehouseCode string
	DryRun        bool
}

// RunArgs is the River job that runs an import.
type RunArgs struct {
	ImportJobID pulid.ID `json:"import_job_id"`
}

// Kind implements river.JobArgs.
func (RunArgs) Kind() string { return "import_csv" }

// InsertOpts keeps one River job per import while it waits or runs.
func (RunArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateRetryable, rivertype.JobStateScheduled,
		}},
	}
}

// Store streams r into the file store for the viewer's merchant and returns where it is,
// with its SHA-256. A body over its limit (http.MaxBytesReader) is payload_too_large.
// Errors: unauthorized, forbidden, payload_too_large, internal.
func (s *Service) Store(ctx context.Context, r io.Reader) (*StoredFile, error) {
	v, err := writer(ctx)
	if err != nil {
		return nil, err
	}
	key := "imports/" + v.MerchantID.String() + "/" + pulid.New("upl").String() + ".csv"
	sum := sha256.New()
	n, err := s.files.Put(ctx, key, io.TeeReader(r, sum))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return nil, apperr.New(apperr.PayloadTooLarge, "The file is larger than %d bytes.", maxErr.Limit).WithField("file", "too large")
		}
		return nil, apperr.Wrap(err, apperr.Internal, "Storing the file failed.")
	}
	return &StoredFile{Key: key, SHA256: hex.EncodeToString(sum.Sum(nil)), Size: n}, nil
}

// Discard removes a stored file no job claimed.
func (s *Service) Discard(ctx context.Context, f *StoredFile) {
	if f != nil {
		_ = s.files.Delete(context.WithoutCancel(ctx), f.Key)
	}
}

func writer(ctx context.Context) (viewer.Viewer, error) {
	v, ok := viewer.FromContext(ctx)
	if !ok || v.MerchantID == "" {
		return v, apperr.New(apperr.Unauthorized, "Credentials are required.")
	}
	if !v.CanWrite() {
		return v, apperr.New(apperr.Forbidden, "These credentials may not import.")
	}
	return v, nil
}

// Create creates the ImportJob of a file (storing it first when in.File is set) and
// enqueues its run in the same transaction. With enqueue false (the CLI runs the job
// itself) no River job is added. The stored file is removed when no job is created.
// Errors: invalid (kind, file), forbidden (read-only viewer), unauthorized,
// payload_too_large.
func (s *Service) Create(ctx context.Context, in CreateInput, enqueue bool) (*ent.ImportJob, error) {
	if _, err := writer(ctx); err != nil {
		return nil, err
	}
	kind := importjob.Kind(in.Kind)
	if _, ok := s.importers[kind]; !ok || importjob.KindValidator(kind) != nil {
		s.Discard(ctx, in.Stored)
		return nil, apperr.New(apperr.Invalid, "Unknown import kind %q.", in.Kind).
			WithField("kind", "must be one of "+strings.Join(s.kinds(), ", "))
	}
	stored := in.Stored
	if in.File != nil {
		var err error
		if stored, err = s.Store(ctx, in.File); err != nil {
			return nil, err
		}
	}
	if stored == nil {
		return nil, apperr.New(apperr.Invalid, "A file is required.").WithField("file", "is required")
	}
	var job *ent.ImportJob
	err := database.InTx(ctx, s.db.Client, func(ctx context.Context, tx *ent.Client) error {
		var err error
		job, err = tx.ImportJob.Create().SetKind(kind).SetFilename(filepath.Base(in.Filename)).
			SetFileSha256(stored.SHA256).SetStorageKey(stored.Key).
			SetWarehouseCode(strings.TrimSpace(in.WarehouseCode)).SetDryRun(in.DryRun).Save(ctx)
		if err != nil {
			return apperr.From(err)
		}
		if !enqueue {
			return nil
		}
		return jobs.Enqueue(ctx, RunArgs{ImportJobID: job.ID}, nil)
	})
	if err != nil {
		s.Discard(ctx, stored)
		return nil, err
	}
	return s.db.Client.ImportJob.Get(ctx, job.ID)
}

// kinds lists the registered kinds, sorted.
func (s *Service) kinds() []string {
	out := make([]string, 0, len(s.importers))
	for k := range s.importers {
		out = append(out, string(k))
	}
	slices.Sort(out)
	return out
}

// Job returns the viewer's import job with up to limit of its row errors (in row order,
// after row errors with a row number above afterRow) and how many row errors it has.
// Errors: not_found, unauthorized.
func (s *Service) Job(ctx context.Context, id pulid.ID, afterRow, limit int) (*ent.ImportJob, []*ent.ImportRowError, int, error) {
	job, err := s.db.Client.ImportJob.Get(ctx, id)
	if err != nil {
		return nil, nil, 0, apperr.From(err)
	}
	q := s.db.Client.ImportRowError.Query().Where(importrowerror.ImportJobID(id))
	total, err := q.Clone().Count(ctx)
	if err != nil {
		return nil, nil, 0, apperr.From(err)
	}
	errs, err := q.Where(importrowerror.RowGT(afterRow)).
		Order(ent.Asc(importrowerror.FieldRow), ent.Asc(importrowerror.FieldID)).Limit(limit).All(ctx)
	if err != nil {
		return nil, nil, 0, apperr.From(err)
	}
	return job, errs, total, nil
}

// Jobs lists the viewer's import jobs, newest first.
// Errors: unauthorized.
func (s *Service) Jobs(ctx context.Context, p paging.Page) ([]*ent.ImportJob, bool, error) {
	q := s.db.Client.ImportJob.Query().Order(ent.Desc(importjob.FieldID)).Limit(p.Limit + 1)
	if p.After != "" {
		q.Where(importjob.IDLT(pulid.ID(p.After)))
	}
	list, err := q.All(ctx)
	if err != nil {
		return nil, false, apperr.From(err)
	}
	list, more := paging.Trim(list, p)
	return list, more, nil
}

// RunOptions tune one run.
type RunOptions struct {
	// Progress, when set, is called after each committed batch with the data rows done
	// so far and the file's total.
	Progress func(done, total int)
	// stopAfter, when > 0, makes the run return errStopped after that many batches; tests
	// use it to simulate a crash.
	stopAfter int
}

// errStopped is returned by a run cut short by RunOptions.stopAfter.
var errStopped = errors.New("imports: run stopped after a batch (simulated crash)")

// Run runs import job id to its end in this process and returns it. It resumes after
// the job's last committed row. A file-level failure or a malformed row marks the job
// failed and is not an error of Run; a database failure is returned, the job stays
// running and a later Run resumes it. A finished job is returned as it is.
func (s *Service) Run(ctx context.Context, id pulid.ID, opts RunOptions) (*ent.ImportJob, error) {
	job, err := s.db.Client.ImportJob.Get(viewer.SystemContext(ctx), id)
	if err != nil {
		return nil, apperr.From(err)
	}
	ctx = viewer.MerchantSystemContext(ctx, job.MerchantID)
	if job.Status == importjob.StatusSucceeded || job.Status == importjob.StatusFailed {
		return job, nil
	}
	imp, ok := s.importers[job.Kind]
	if !ok {
		return s.fail(ctx, job, fmt.Sprintf("imports of kind %s are not available", job.Kind))
	}
	upd := s.db.Client.ImportJob.UpdateOneID(job.ID).SetStatus(importjob.StatusRunning)
	if job.StartedAt == nil {
		upd.SetStartedAt(time.Now())
	}
	if job, err = upd.Save(ctx); err != nil {
		return nil, apperr.From(err)
	}

	total, err := s.check(ctx, job)
	if err != nil {
		var fe *FileError
		if errors.As(err, &fe) {
			return s.fail(ctx, job, fe.Message)
		}
		return nil, err
	}
	f, err := s.files.Open(ctx, job.StorageKey)
	if err != nil {
		return nil, fmt.Errorf("imports: opening %s: %w", job.StorageKey, err)
	}
	defer f.Close()
	rd := newReader(f)
	header, err := rd.readHeader()
	if err != nil {
		return s.failFile(ctx, job, err)
	}
	sess, err := imp.Open(ctx, job, header)
	if err != nil {
		return s.failFile(ctx, job, err)
	}

	var (
		batch   []Record
		pending *Record
		batches int
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if job, err = s.commit(ctx, job, sess, batch); err != nil {
			return err
		}
		batch = batch[:0]
		batches++
		if batches&(batches-1) == 0 {
			s.refreshStatistics(ctx, imp, job)
		}
		if opts.Progress != nil {
			opts.Progress(job.RowsTotal, total)
		}
		if opts.stopAfter > 0 && batches >= opts.stopAfter {
			return errStopped
		}
		return nil
	}
	for {
		cells, num, rerr := rd.next()
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			// Records complete before the bad row are committed and accounted.
			if err := flush(); err != nil {
				return job, err
			}
			var fe *FileError
			if !errors.As(rerr, &fe) {
				return job, rerr
			}
			return s.fail(ctx, job, fmt.Sprintf("%s; the %d rows before it were committed and are counted", fe.Message, job.RowsTotal))
		}
		if num <= job.LastRow {
			continue
		}
		row := Row{Num: num, Cells: append([]string(nil), cells...)}
		key := sess.Key(row.Cells)
		if pending != nil && key != "" && key == pending.Key {
			pending.Rows = append(pending.Rows, row)
			continue
		}
		if pending != nil {
			batch = append(batch, *pending)
			if len(batch) >= s.batchSize {
				if err := flush(); err != nil {
					return job, err
				}
			}
		}
		pending = &Record{Key: key, Rows: []Row{row}}
	}
	if pending != nil {
		batch = append(batch, *pending)
	}
	if err := flush(); err != nil {
		return job, err
	}
	job, err = s.db.Client.ImportJob.UpdateOneID(job.ID).SetStatus(importjob.StatusSucceeded).SetFinishedAt(time.Now()).Save(ctx)
	if err != nil {
		return nil, apperr.From(err)
	}
	return job, nil
}

// check reads the whole file once, before anything is written, and returns its number
// of data rows or the FileError that fails it.
func (s *Service) check(ctx context.Context, job *ent.ImportJob) (int, error) {
	f, err := s.files.Open(ctx, job.StorageKey)
	if err != nil {
		return 0, fmt.Errorf("imports: opening %s: %w", job.StorageKey, err)
	}
	defer f.Close()
	rd := newReader(f)
	header, err := rd.readHeader()
	if err != nil {
		return 0, err
	}
	if _, err := s.importers[job.Kind].Open(ctx, job, header); err != nil {
		return 0, err
	}
	rows := 0
	for {
		if _, _, err := rd.next(); err != nil {
			if err == io.EOF {
				return rows, nil
			}
			return 0, err
		}
		rows++
	}
}

// refreshStatistics analyzes the tables imp's batches grow (see Grower). A failure only
// costs speed, so it is logged, not returned.
func (s *Service) refreshStatistics(ctx context.Context, imp Importer, job *ent.ImportJob) {
	g, ok := imp.(Grower)
	if !ok || job.DryRun || s.db.Dialect != dialect.Postgres {
		return
	}
	tables := g.GrownTables()
	quoted := make([]string, len(tables))
	for i, t := range tables {
		quoted[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	if _, err := s.db.SQL.ExecContext(ctx, "ANALYZE "+strings.Join(quoted, ", ")); err != nil {
		slog.WarnContext(ctx, "imports: analyzing the tables an import grows failed", "job", job.ID, "tables", tables, "err", err)
	}
}

// errDryRun rolls back a dry run's batch.
var errDryRun = errors.New("dry run")

// commit imports one batch and records its outcomes with the job's counters, in one
// transaction; a dry run rolls the import back and records the outcomes alone.
func (s *Service) commit(ctx context.Context, job *ent.ImportJob, sess Session, batch []Record) (*ent.ImportJob, error) {
	out := &Outcomes{state: map[int]outcome{}}
	record := func(ctx context.Context, tx *ent.Client) (*ent.ImportJob, error) {
		imported, skipped, rejected, last, err := out.tally(batch)
		if err != nil {
			return nil, err
		}
		if room := MaxRowErrors - (job.RowsRejected); room > 0 && len(out.errs) > 0 {
			errs := out.errs[:min(len(out.errs), room)]
			builders := make([]*ent.ImportRowErrorCreate, len(errs))
			for i, e := range errs {
				builders[i] = tx.ImportRowError.Create().SetImportJobID(job.ID).SetRow(e.Row).
					SetColumn(e.Column).SetMessage(truncate(e.Message, 1000))
			}
			if err := tx.ImportRowError.CreateBulk(builders...).Exec(ctx); err != nil {
				return nil, apperr.From(err)
			}
		}
		n := imported + skipped + rejected
		updated, err := tx.ImportJob.UpdateOneID(job.ID).
			AddRowsTotal(n).AddRowsImported(imported).AddRowsSkipped(skipped).AddRowsRejected(rejected).
			SetLastRow(last).Save(ctx)
		return updated, apperr.Translate(err)
	}
	var updated *ent.ImportJob
	err := database.InTx(ctx, s.db.Client, func(ctx context.Context, tx *ent.Client) error {
		if err := sess.Commit(ctx, tx, batch, out); err != nil {
			return err
		}
		if job.DryRun {
			return errDryRun
		}
		var err error
		updated, err = record(ctx, tx)
		return err
	})
	if job.DryRun && errors.Is(err, errDryRun) {
		err = database.InTx(ctx, s.db.Client, func(ctx context.Context, tx *ent.Client) error {
			var err error
			updated, err = record(ctx, tx)
			return err
		})
	}
	if err != nil {
		return job, err
	}
	return updated, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (s *Service) failFile(ctx context.Context, job *ent.ImportJob, err error) (*ent.ImportJob, error) {
	var fe *FileError
	if errors.As(err, &fe) {
		return s.fail(ctx, job, fe.Message)
	}
	return job, err
}

// fail marks the job failed with message.
func (s *Service) fail(ctx context.Context, job *ent.ImportJob, message string) (*ent.ImportJob, error) {
	job, err := s.db.Client.ImportJob.UpdateOneID(job.ID).SetStatus(importjob.StatusFailed).SetError(truncate(message, 2000)).
		SetFinishedAt(time.Now()).Save(ctx)
	if err != nil {
		return nil, apperr.From(err)
	}
	return job, nil
}

// Worker returns the River worker that runs import jobs.
func (s *Service) Worker() river.Worker[RunArgs] { return &runWorker{s: s} }

type runWorker struct {
	river.WorkerDefaults[RunArgs]
	s *Service
}

// Timeout lets an import run as long as its file needs; a crash or shutdown leaves it
// to be resumed by the retry.
func (w *runWorker) Timeout(*river.Job[RunArgs]) time.Duration { return -1 }

func (w *runWorker) Work(ctx context.Context, j *river.Job[RunArgs]) error {
	job, err := w.s.Run(ctx, j.Args.ImportJobID, RunOptions{})
	if err != nil && j.Attempt >= j.MaxAttempts && job != nil {
		_, _ = w.s.fail(viewer.MerchantSystemContext(context.WithoutCancel(ctx), job.MerchantID), job,
			fmt.Sprintf("the import stopped after %d attempts: %v; the %d rows before row %d were committed and are counted", j.Attempt, err, job.RowsTotal, job.LastRow+1))
	}
	return err
}
