package catalog

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"entgo.io/ent/dialect"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/pulid"
)

// The rules below are the catalog's own, exported for bulk writers (internal/imports)
// that write products in batches rather than one CreateProduct call each, so that what
// they write is as valid as what the API writes.

// ValidSKU reports whether sku is 1 to MaxSKULength bytes of printable characters
// without white space, the rule every variant's SKU follows.
func ValidSKU(sku string) bool { return validSKU(sku) }

// ValidImportedHandle reports whether h is a handle an imported product may keep: 1 to
// MaxTitleLength bytes of lower-case letters of any script, digits, combining marks and
// dashes, not starting or ending with a dash. Shopify stores keep non-Latin handles
// (Arabic, say), which the API's ASCII rule for new handles would refuse.
func ValidImportedHandle(h string) bool {
	if h == "" || len(h) > MaxTitleLength || strings.HasPrefix(h, "-") || strings.HasSuffix(h, "-") {
		return false
	}
	for _, r := range h {
		switch {
		case r == '-', unicode.IsDigit(r), unicode.IsMark(r):
		case unicode.IsLetter(r) && !unicode.IsUpper(r) && !unicode.IsTitle(r):
		default:
			return false
		}
	}
	return true
}

// CheckTags trims tags and drops duplicates as the API does.
// Errors: invalid naming "tags" (a tag too long, or too many).
func CheckTags(tags []string) ([]string, error) {
	var v apperr.Validation
	out := checkTags(&v, tags)
	return out, v.Err()
}

// CheckOptions validates option declarations as the API does and returns them trimmed.
// Errors: invalid naming options[i].name or options[i].values.
func CheckOptions(opts []OptionInput) ([]OptionInput, error) {
	var v apperr.Validation
	out := checkOptions(&v, opts)
	return out, v.Err()
}

// VariantTitle is the title of a variant with option values cols: "Red / M", or
// "Default Title" without options.
func VariantTitle(cols [3]string) string { return variantTitle(cols) }

// Reindex rewrites the search documents of products with tx (inside the transaction in
// ctx), a few hundred per statement, and retires their cached pages once it commits.
func (s *Service) Reindex(ctx context.Context, tx *ent.Client, productIDs ...pulid.ID) error {
	for part := range slices.Chunk(productIDs, 500) {
		ids := make([]any, len(part))
		marks := make([]string, len(part))
		for i, id := range part {
			ids[i], marks[i] = id.String(), "?"
		}
		in := strings.Join(marks, ", ")
		var err error
		if s.dialect == dialect.Postgres {
			_, err = tx.ExecContext(ctx, rebindPostgres(strings.Replace(indexPostgres, "WHERE p.id = $1", "WHERE p.id IN ("+in+")", 1)), ids...)
		} else if _, err = tx.ExecContext(ctx, `DELETE FROM product_search WHERE product_id IN (`+in+`)`, ids...); err == nil {
			_, err = tx.ExecContext(ctx, strings.Replace(indexSQLite, "WHERE p.id = ?", "WHERE p.id IN ("+in+")", 1), ids...)
		}
		if err != nil {
			return apperr.Wrap(err, apperr.Internal, "Updating the search index failed.")
		}
		s.invalidateAfterCommit(ctx, part...)
	}
	return nil
}

// rebindPostgres numbers a query's ? placeholders $1, $2, ...
func rebindPostgres(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
