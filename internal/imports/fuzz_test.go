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

// productSeeds adds the product fixtures and a few hand-made files to f's corpus.
func productSeeds(f *testing.F) {
	for _, fx := range productFixtures {
		b, err := os.ReadFile(filepath.Join(fixtures, fx.file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(legacyHeader + "a,A,,,,,TRUE,Title,Default Title,A-1,1.50,\r\n"))
	f.Add([]byte("Title,URL handle,Option1 name,Option1 value,SKU,Price\nT,t,Size,S,T-S,1\n,t,,M,T-M,2\n,t,,,,\n"))
	f.Add([]byte("\xEF\xBB\xBFHandle,Title,Variant Price\nx,\"q\"\"uote\",3\n"))
}

// FuzzProductRows runs arbitrary bytes through all an import does before the database:
// the CSV reader, the header check, grouping rows into products and parsing each. No
// input may panic; a file-level problem must be a FileError, shown to the user as it
// is; rows come numbered in order; and a product the parser drops has every row
// rejected with a reason. Without a database per input it runs thousands of inputs a
// second, where FuzzProductCSV runs a few.
func FuzzProductRows(f *testing.F) {
	productSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fileError := func(err error) {
			var fe *FileError
			if !errors.As(err, &fe) || fe.Message == "" {
				t.Fatalf("a file-level problem that is not a FileError: %v", err)
			}
		}
		rd := newReader(bytes.NewReader(body))
		header, err := rd.readHeader()
		if err != nil {
			fileError(err)
			return
		}
		cols, err := findProductColumns(header)
		if err != nil {
			fileError(err)
			return
		}
		s := &productSession{cols: cols, currency: "USD"}
		skus := map[string]int{}
		parse := func(rec *Record) {
			out := &Outcomes{state: map[int]outcome{}}
			if pl := s.parse(*rec, out, skus); pl == nil {
				for _, r := range rec.Rows {
					if out.state[r.Num] != outcomeRejected {
						t.Fatalf("product %q dropped without rejecting row %d", rec.Key, r.Num)
					}
				}
			}
			for num := range out.state {
				if num < rec.Rows[0].Num || num > rec.Rows[len(rec.Rows)-1].Num {
					t.Fatalf("row %d accounted for by the record of rows %d-%d", num, rec.Rows[0].Num, rec.Rows[len(rec.Rows)-1].Num)
				}
			}
		}
		var pending *Record
		last := 1
		for {
			cells, num, err := rd.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				fileError(err)
				return
			}
			if num != last+1 {
				t.Fatalf("row %d after row %d", num, last)
			}
			last = num
			row := Row{Num: num, Cells: append([]string(nil), cells...)}
			key := s.Key(row.Cells)
			if pending != nil && key != "" && key == pending.Key {
				pending.Rows = append(pending.Rows, row)
				continue
			}
			if pending != nil {
				parse(pending)
			}
			pending = &Record{Key: key, Rows: []Row{row}}
		}
		if pending != nil {
			parse(pending)
		}
	})
}

// FuzzProductCSV imports arbitrary bytes as a Shopify product CSV (on SQLite) and checks
// that nothing panics, that every data record of a well-formed file is accounted for
// exactly once, and that a failed file wrote nothing.
func FuzzProductCSV(f *testing.F) {
	productSeeds(f)
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
