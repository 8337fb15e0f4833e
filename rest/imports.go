package rest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/imports"
	"github.com/mercantile/mercantile/internal/pulid"
)

// importJSON is an import job; errors are present on GET /api/v1/imports/{id} only.
type importJSON struct {
	ID            string          `json:"id"`
	Kind          string          `json:"kind"`
	Status        string          `json:"status"`
	Filename      string          `json:"filename"`
	FileSHA256    string          `json:"file_sha256"`
	WarehouseCode string          `json:"warehouse_code"`
	DryRun        bool            `json:"dry_run"`
	RowsTotal     int             `json:"rows_total"`
	RowsImported  int             `json:"rows_imported"`
	RowsSkipped   int             `json:"rows_skipped"`
	RowsRejected  int             `json:"rows_rejected"`
	LastRow       int             `json:"last_row"`
	Error         string          `json:"error"`
	StartedAt     *string         `json:"started_at"`
	FinishedAt    *string         `json:"finished_at"`
	CreatedAt     string          `json:"created_at"`
	UpdatedAt     string          `json:"updated_at"`
	Errors        *[]rowErrorJSON `json:"errors,omitempty"`
	ErrorsCount   *int            `json:"errors_count,omitempty"`
	// ErrorsNextAfter is the errors_after that reads the next page of errors.
	ErrorsNextAfter *int `json:"errors_next_after,omitempty"`
}

type rowErrorJSON struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

func toImportJSON(j *ent.ImportJob) importJSON {
	return importJSON{
		ID: j.ID.String(), Kind: string(j.Kind), Status: string(j.Status), Filename: j.Filename,
		FileSHA256: j.FileSha256, WarehouseCode: j.WarehouseCode, DryRun: j.DryRun,
		RowsTotal: j.RowsTotal, RowsImported: j.RowsImported, RowsSkipped: j.RowsSkipped, RowsRejected: j.RowsRejected,
		LastRow: j.LastRow, Error: j.Error, StartedAt: timeJSONPtr(j.StartedAt), FinishedAt: timeJSONPtr(j.FinishedAt),
		CreatedAt: timeJSON(j.CreatedAt), UpdatedAt: timeJSON(j.UpdatedAt),
	}
}

// maxImportField bounds the small multipart fields (kind, warehouse_code, dry_run).
const maxImportField = 1 << 10

// createImport streams the multipart upload into the import file store, then creates
// the job and enqueues it. Idempotency-Key is handled here rather than by the middleware,
// which would hold the whole body in memory: the request is identified by its fields
// and the file's SHA-256.
func (a *api) createImport(w http.ResponseWriter, r *http.Request) {
	in, err := a.readImportForm(r)
	if err != nil {
		a.imports.Discard(r.Context(), in.Stored)
		writeError(w, r, a.log, err)
		return
	}
	create := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		job, err := a.imports.Create(r.Context(), in, true)
		if err != nil {
			writeError(w, r, a.log, err)
			return
		}
		writeJSON(w, http.StatusAccepted, toImportJSON(job))
	})
	key := r.Header.Get(idempotencyHeader)
	if key == "" {
		create(w, r)
		return
	}
	digest := sha256.Sum256(fmt.Appendf(nil, "%s\n%q\n%q\n%t\n%s", r.URL.Path, in.Kind, in.WarehouseCode, in.DryRun, in.Stored.SHA256))
	rec := &recordingWriter{ResponseWriter: w}
	a.replayOrRun(rec, r, key, "POST /api/v1/imports", digest[:], create)
	if rec.status != http.StatusAccepted || w.Header().Get(replayedHeader) == "true" {
		// A replayed or failed request created no job: its copy of the file is unused.
		a.imports.Discard(r.Context(), in.Stored)
	}
}

// readImportForm reads the multipart fields kind, warehouse_code, dry_run and file,
// storing the file as it streams in. in.Stored is set once the file is stored, also when
// an error follows.
func (a *api) readImportForm(r *http.Request) (imports.CreateInput, error) {
	var in imports.CreateInput
	mr, err := r.MultipartReader()
	if err != nil {
		return in, apperr.Malformed("The body must be multipart/form-data with the fields kind and file.")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return in, multipartError(err)
		}
		name := part.FormName()
		switch name {
		case "file":
			if in.Stored != nil {
				return in, apperr.Malformed("Send one file.").WithField("file", "sent twice")
			}
			in.Filename = part.FileName()
			if in.Stored, err = a.imports.Store(r.Context(), part); err != nil {
				return in, multipartError(err)
			}
		case "kind", "warehouse_code", "dry_run":
			value, err := io.ReadAll(io.LimitReader(part, maxImportField+1))
			if err != nil {
				return in, multipartError(err)
			}
			if len(value) > maxImportField {
				return in, apperr.Malformed("Field %s is too long.", name).WithField(name, "too long")
			}
			v := strings.TrimSpace(string(value))
			switch name {
			case "kind":
				in.Kind = v
			case "warehouse_code":
				in.WarehouseCode = v
			default:
				if v != "" {
					if in.DryRun, err = strconv.ParseBool(v); err != nil {
						return in, apperr.New(apperr.Invalid, "dry_run must be true or false.").WithField("dry_run", "must be true or false")
					}
				}
			}
		default:
			return in, apperr.Malformed("Field %s is not known.", name).WithField(name, "is not a known field")
		}
		_ = part.Close()
	}
	var v apperr.Validation
	if in.Kind == "" {
		v.Add("kind", "is required")
	}
	if in.Stored == nil {
		v.Add("file", "is required")
	}
	return in, v.Err()
}

// multipartError maps a failure reading the upload: over MAX_IMPORT_BYTES is 413.
func multipartError(err error) error {
	var maxBytes *http.MaxBytesError
	if errors.As(err, &maxBytes) {
		return apperr.New(apperr.PayloadTooLarge, "The upload is larger than %d bytes (MAX_IMPORT_BYTES).", maxBytes.Limit).
			WithField("file", "too large")
	}
	var e *apperr.Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, multipart.ErrMessageTooLarge) || errors.Is(err, io.ErrUnexpectedEOF) {
		return apperr.Malformed("The multipart body is truncated or malformed.")
	}
	return apperr.Malformed("The multipart body could not be read: %v", err)
}

// maxErrorsPage bounds how many row errors one GET returns.
const maxErrorsPage = 1000

func (a *api) getImport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var v apperr.Validation
	after, limit := 0, 100
	if s := q.Get("errors_after"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			v.Add("errors_after", "must be a row number")
		}
		after = n
	}
	if s := q.Get("errors_limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxErrorsPage {
			v.Add("errors_limit", "must be 1 to %d", maxErrorsPage)
		}
		limit = n
	}
	if err := v.Err(); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	job, rowErrs, total, err := a.imports.Job(r.Context(), idParam(r), after, limit+1)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	out := toImportJSON(job)
	list := make([]rowErrorJSON, 0, min(len(rowErrs), limit))
	for i, e := range rowErrs {
		if i == limit {
			next := list[len(list)-1].Row
			out.ErrorsNextAfter = &next
			break
		}
		list = append(list, rowErrorJSON{Row: e.Row, Column: e.Column, Message: e.Message})
	}
	out.Errors, out.ErrorsCount = &list, &total
	writeJSON(w, http.StatusOK, out)
}

func (a *api) listImports(w http.ResponseWriter, r *http.Request) {
	page, err := pageFrom(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	rows, more, err := a.imports.Jobs(r.Context(), page)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(rows, more, func(j *ent.ImportJob) pulid.ID { return j.ID }, toImportJSON))
}

// importRoutes are CSV imports, for secret keys and staff.
func (a *api) importRoutes() []route {
	if a.imports == nil {
		return nil
	}
	return []route{
		{"POST", "/api/v1/imports", private, a.createImport, operation{
			ID: "createImport", Tag: "Imports",
			Summary: "Upload a CSV to import in the background (multipart/form-data: kind, file, optional warehouse_code and dry_run; at most MAX_IMPORT_BYTES). " +
				"Shopify product CSVs in either header dialect, Shopify order exports, or inventory files (sku, warehouse_code, on_hand). Answers 202 with the queued job.",
			Request: "ImportCreate", Response: "Import", Status: http.StatusAccepted, Multipart: true, Idempotent: true}},
		{"GET", "/api/v1/imports", private, a.listImports, operation{
			ID: "listImports", Tag: "Imports", Summary: "The merchant's imports, newest first.", Response: "ImportList", Paged: true}},
		{"GET", "/api/v1/imports/{id}", private, a.getImport, operation{
			ID: "getImport", Tag: "Imports",
			Summary: "An import's progress and counts (rows_total = rows_imported + rows_skipped + rows_rejected) with its row errors in row order, " +
				"a page at a time: errors_count is how many there are, errors_next_after the errors_after of the next page.",
			Response: "ImportDetail", Params: []param{
				{Name: "errors_after", Description: "Only row errors of rows after this row number.", Schema: integer},
				{Name: "errors_limit", Description: "Row errors per page, 1 to 1000 (default 100).", Schema: integer},
			}}},
	}
}
