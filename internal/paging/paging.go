// Package paging is keyset pagination shared by every list: a page is "the next Limit
// rows after this id", so page 2,000 costs what page 1 costs. Cursors are opaque to
// clients.
package paging

import (
	"encoding/base64"
	"strconv"

	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/pulid"
)

const (
	// DefaultLimit is the page size when the client names none.
	DefaultLimit = 50
	// MaxLimit is the largest page a client may ask for.
	MaxLimit = 250
)

// Page asks for up to Limit rows after the row with id After ("" for the first page).
type Page struct {
	After pulid.ID
	Limit int
}

// Parse reads a page from the limit and after query parameters.
// Errors: invalid (limit out of range, malformed cursor).
func Parse(limit, after string) (Page, error) {
	p := Page{Limit: DefaultLimit}
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 || n > MaxLimit {
			return Page{}, apperr.New(apperr.Invalid, "limit must be between 1 and %d.", MaxLimit).
				WithField("limit", "must be an integer from 1 to "+strconv.Itoa(MaxLimit))
		}
		p.Limit = n
	}
	if after != "" {
		raw, err := base64.RawURLEncoding.DecodeString(after)
		if err != nil || pulid.ID(raw).Prefix() == "" {
			return Page{}, apperr.New(apperr.Invalid, "after is not a cursor this API returned.").
				WithField("after", "is not a valid cursor")
		}
		p.After = pulid.ID(raw)
	}
	return p, nil
}

// Cursor encodes the id of a page's last row.
func Cursor(id pulid.ID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id))
}

// Trim takes the Limit+1 rows a service fetched and returns the page and whether more
// rows follow: fetching one extra row answers has_next_page without a count.
func Trim[T any](rows []T, p Page) ([]T, bool) {
	if len(rows) > p.Limit {
		return rows[:p.Limit], true
	}
	return rows, false
}
