package imports

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mercantile/mercantile/ent/importjob"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
)

// FuzzProductCSV imports arbitrary bytes as a Shopify product CSV (on SQLite) and checks
// that nothing panics, that every data record of a well-formed file is accounted for
// exactly once, and that a failed file wrote nothing.
func FuzzProductCSV(f *testing.F) {
	for _, fx := range productFixtures {
		if b, err := os.ReadFile(filepath.Join(fixtures, fx.file)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(legacyHeader + "a,A,,,,,TRUE,Title,Default Title,A-1,1.50,\r\n"))
	f.Add([]byte("Title,URL handle,Option1 name,Option1 value,SKU,Price\nT,t,Size,S,T-S,1\n,t,,M,T-M,2\n,t,,,,\n"))
	f.Add([]byte("\xEF\xBB\xBFHandle,Title,Variant Price\nx,\"q\"\"uote\",3\n"))
	db := dbtest.SQLite(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		e := newEnv(t, db)
		job := e.run(t, "shopify_products", body, nil)
		if job.RowsTotal != job.RowsImported+job.RowsSkipped+job.RowsRejected {
			t.Fatalf("accounting broken: %+v", job)
		}
		records, wellFormed := countRecords(body)
		switch job.Status {
		case importjob.StatusSucceeded:
			if !wellFormed || job.RowsTotal != records {
				t.Fatalf("succeeded with %d rows of %d records (well-formed %v)", job.RowsTotal, records, wellFormed)
			}
		case importjob.StatusFailed:
			if job.Error == "" || job.RowsTotal != 0 || e.counts(t) != (counts{}) {
				t.Fatalf("a failed file wrote or said nothing: %+v, %+v", job, e.counts(t))
			}
		default:
			t.Fatalf("job ended %s", job.Status)
		}
	})
}

// countRecords counts a file's data records as encoding/csv reads them.
func countRecords(body []byte) (int, bool) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, utf8BOM)))
	r.FieldsPerRecord = -1
	n := -1
	for {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			return max(n, 0), n >= 0
		}
		if err != nil {
			return n, false
		}
		n++
	}
}
