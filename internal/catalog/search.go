package catalog

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"entgo.io/ent/dialect"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/paging"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/pulid"
)

// The search document weighs title and SKUs highest, then vendor and tags, then the
// description (tags stripped). SKUs are indexed whole and split at their separators, so
// "TSHIRT-RED-M" is found by itself and by "tshirt".
const indexPostgres = `
INSERT INTO product_search (product_id, merchant_id, title, document)
SELECT p.id, p.merchant_id, p.title,
  setweight(to_tsvector('english', p.title), 'A') ||
  setweight(to_tsvector('simple', coalesce(s.skus, '')), 'A') ||
  setweight(to_tsvector('simple', p.vendor), 'B') ||
  setweight(to_tsvector('english', coalesce((SELECT string_agg(t, ' ') FROM jsonb_array_elements_text(CASE jsonb_typeof(p.tags) WHEN 'array' THEN p.tags ELSE '[]'::jsonb END) t), '')), 'B') ||
  setweight(to_tsvector('english', regexp_replace(p.description_html, '<[^>]*>', ' ', 'g')), 'C')
FROM products p
LEFT JOIN LATERAL (
  SELECT string_agg(v.sku || ' ' || translate(v.sku, '-_/.', '    '), ' ' ORDER BY v.position, v.sku) AS skus
  FROM variants v WHERE v.merchant_id = p.merchant_id AND v.product_id = p.id
) s ON true
WHERE p.id = $1
ON CONFLICT (product_id) DO UPDATE SET title = EXCLUDED.title, document = EXCLUDED.document`

const indexSQLite = `
INSERT INTO product_search (product_id, merchant_id, title, skus, body)
SELECT p.id, p.merchant_id, p.title,
  coalesce((SELECT group_concat(s, ' ') FROM (
    SELECT v.sku || ' ' || replace(replace(v.sku, '-', ' '), '_', ' ') AS s FROM variants v
    WHERE v.merchant_id = p.merchant_id AND v.product_id = p.id ORDER BY v.position, v.sku)), ''),
  p.vendor || ' ' || coalesce((SELECT group_concat(t.value, ' ') FROM json_each(CASE json_type(p.tags) WHEN 'array' THEN p.tags ELSE '[]' END) t), '') || ' ' || p.description_html
FROM products p WHERE p.id = ?`

// index rewrites a product's search document and, once the transaction commits, retires
// its cached pages. Every catalog write ends with it.
func (s *Service) index(ctx context.Context, tx *ent.Client, productID pulid.ID) error {
	var err error
	if s.dialect == dialect.Postgres {
		_, err = tx.ExecContext(ctx, indexPostgres, productID.String())
	} else {
		if _, err = tx.ExecContext(ctx, `DELETE FROM product_search WHERE product_id = ?`, productID.String()); err == nil {
			_, err = tx.ExecContext(ctx, indexSQLite, productID.String())
		}
	}
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "Updating the search index failed.")
	}
	s.invalidateAfterCommit(ctx, productID)
	return nil
}

// unindex removes a deleted product from search and the cache.
func (s *Service) unindex(ctx context.Context, tx *ent.Client, productID pulid.ID) error {
	query := `DELETE FROM product_search WHERE product_id = $1`
	if s.dialect != dialect.Postgres {
		query = `DELETE FROM product_search WHERE product_id = ?`
	}
	if _, err := tx.ExecContext(ctx, query, productID.String()); err != nil {
		return apperr.Wrap(err, apperr.Internal, "Updating the search index failed.")
	}
	s.invalidateAfterCommit(ctx, productID)
	return nil
}

func (s *Service) invalidateAfterCommit(ctx context.Context, productIDs ...pulid.ID) {
	v, _ := viewer.FromContext(ctx)
	ids := make([]string, len(productIDs))
	for i, id := range productIDs {
		ids[i] = id.String()
	}
	database.AfterCommit(ctx, func() { s.cache.invalidate(context.WithoutCancel(ctx), v.MerchantID, ids...) })
}

// InvalidateProducts retires the cached pages of products whose availability changed;
// the inventory service calls it after committing stock changes.
func (s *Service) InvalidateProducts(ctx context.Context, productIDs ...pulid.ID) {
	s.invalidateAfterCommit(ctx, productIDs...)
}

// Search finds the viewer's products by title, SKU, vendor, tags and description, best
// first. An exact SKU ranks first, then full-text relevance; on PostgreSQL trigram
// similarity on titles also finds misspellings ("hodie" finds "Hoodie"). after is the
// EndCursor of the previous page.
// Errors: invalid (empty query, bad cursor or limit).
func (s *Service) Search(ctx context.Context, query string, limit int, after string) (ProductPage, error) {
	page, err := s.SearchJSON(ctx, query, limit, after)
	if err != nil {
		return ProductPage{}, err
	}
	return page.Decode()
}

// SearchJSON is Search as the API shows it. Results are cached like list pages: any
// catalog write retires them.
// Errors: invalid (empty query, bad cursor or limit).
func (s *Service) SearchJSON(ctx context.Context, query string, limit int, after string) (RenderedPage, error) {
	v, err := merchantOf(ctx)
	if err != nil {
		return RenderedPage{}, err
	}
	query = strings.TrimSpace(query)
	if query == "" || len(query) > 256 {
		return RenderedPage{}, apperr.New(apperr.Invalid, "q must be 1 to 256 characters.").WithField("q", "is required")
	}
	if limit <= 0 {
		limit = paging.DefaultLimit
	}
	cur, err := parseSearchCursor(after)
	if err != nil {
		return RenderedPage{}, err
	}
	key := fmt.Sprintf("search|%d|%s|%s", limit, after, query)
	return s.cache.page(ctx, v.MerchantID, key, func() (RenderedPage, error) {
		return s.search(ctx, v.MerchantID, query, limit, cur)
	})
}

func (s *Service) search(ctx context.Context, merchantID pulid.ID, query string, limit int, cur searchCursor) (RenderedPage, error) {
	var (
		rows []scored
		err  error
	)
	if s.dialect == dialect.Postgres {
		rows, err = s.searchPostgres(ctx, merchantID, query, limit+1, cur)
	} else {
		rows, err = s.searchSQLite(ctx, merchantID, query, limit+1, cur)
	}
	if err != nil {
		return RenderedPage{}, err
	}
	more, end := false, ""
	if len(rows) > limit {
		rows, more = rows[:limit], true
	}
	if len(rows) > 0 {
		last := rows[len(rows)-1]
		end = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatFloat(last.score, 'g', -1, 64) + "|" + last.id))
	}
	ids := make([]pulid.ID, len(rows))
	for i, r := range rows {
		ids[i] = pulid.ID(r.id)
	}
	products, err := s.client.Product.Query().Where(product.IDIn(ids...)).
		WithOptions().WithVariants(func(vq *ent.VariantQuery) { vq.WithInventoryLevels() }).WithImages().All(ctx)
	if err != nil {
		return RenderedPage{}, apperr.From(err)
	}
	byID := map[pulid.ID]*ent.Product{}
	for _, p := range products {
		byID[p.ID] = p
	}
	currency, err := s.currency(ctx, s.client, merchantID)
	if err != nil {
		return RenderedPage{}, err
	}
	found := make([]Product, 0, len(ids))
	for _, id := range ids {
		if p, ok := byID[id]; ok {
			found = append(found, s.productView(p, currency))
		}
	}
	return renderPage(found, more, end)
}

type scored struct {
	id    string
	score float64
}

type searchCursor struct {
	set   bool
	score float64
	id    string
}

func parseSearchCursor(after string) (searchCursor, error) {
	if after == "" {
		return searchCursor{}, nil
	}
	bad := apperr.New(apperr.Invalid, "after is not a cursor this API returned.").WithField("after", "is not a valid cursor")
	raw, err := base64.RawURLEncoding.DecodeString(after)
	if err != nil {
		return searchCursor{}, bad
	}
	scoreText, id, ok := strings.Cut(string(raw), "|")
	score, err := strconv.ParseFloat(scoreText, 64)
	if !ok || err != nil || pulid.ID(id).Prefix() == "" {
		return searchCursor{}, bad
	}
	return searchCursor{set: true, score: score, id: id}, nil
}

// The score puts an exact SKU match above everything, then adds full-text rank and title
// similarity. Candidates come from the GIN indexes: the document match, the trigram
// match on the title (%s: only for word-like queries, see fuzzyQuery), or a SKU starting
// with the query.
const searchPostgresTemplate = `
WITH q AS (SELECT websearch_to_tsquery('english', $2) AS english, websearch_to_tsquery('simple', $2) AS simple),
candidates AS (
  SELECT ps.product_id FROM product_search ps, q
  WHERE ps.merchant_id = $1 AND (ps.document @@ q.english OR ps.document @@ q.simple%s)
  UNION
  SELECT v.product_id FROM variants v WHERE v.merchant_id = $1 AND v.sku >= $3 AND v.sku < $3 || chr(1114111)
),
ranked AS (
  SELECT ps.product_id,
    (CASE WHEN EXISTS (SELECT 1 FROM variants v WHERE v.merchant_id = $1 AND v.product_id = ps.product_id AND v.sku = $3) THEN 10 ELSE 0 END
     + ts_rank(ps.document, q.english) + ts_rank(ps.document, q.simple) + word_similarity($2, ps.title))::float8 AS score
  FROM candidates c JOIN product_search ps ON ps.product_id = c.product_id, q
)
SELECT product_id, score FROM ranked
WHERE NOT $4 OR score < $5 OR (score = $5 AND product_id > $6)
ORDER BY score DESC, product_id
LIMIT $7`

var (
	searchPostgresFuzzy = fmt.Sprintf(searchPostgresTemplate, " OR $2 <% ps.title")
	searchPostgresExact = fmt.Sprintf(searchPostgresTemplate, "")
)

// fuzzyQuery reports whether a query reads as words, whose typos the title trigrams
// can forgive. A query with digits or SKU separators is a code: matching its trigrams
// against every title costs about ten times the rest of the search (measured on 100k
// products) and finds nothing a code's exact or prefix match does not.
func fuzzyQuery(query string) bool {
	return !strings.ContainsAny(query, "0123456789-_/.")
}

func (s *Service) searchPostgres(ctx context.Context, merchantID pulid.ID, query string, limit int, cur searchCursor) ([]scored, error) {
	sql := searchPostgresExact
	if fuzzyQuery(query) {
		sql = searchPostgresFuzzy
	}
	rows, err := s.client.QueryContext(ctx, sql, merchantID.String(), query, query, cur.set, cur.score, cur.id, limit)
	if err != nil {
		return nil, apperr.Wrap(err, apperr.Internal, "Search failed.")
	}
	return scanScored(rows)
}

const searchSQLite = `
WITH matches AS (
  SELECT product_id, -bm25(product_search, 10.0, 10.0, 2.0) AS score FROM product_search
  WHERE product_search MATCH ? AND merchant_id = ?
  UNION ALL
  SELECT v.product_id, 0 FROM variants v WHERE v.merchant_id = ? AND substr(v.sku, 1, length(?)) = ?
),
ranked AS (
  SELECT m.product_id,
    max(m.score) + CASE WHEN EXISTS (SELECT 1 FROM variants v WHERE v.merchant_id = ? AND v.product_id = m.product_id AND v.sku = ?) THEN 10 ELSE 0 END AS score
  FROM matches m GROUP BY m.product_id
)
SELECT product_id, score FROM ranked
WHERE NOT ? OR score < ? OR (score = ? AND product_id > ?)
ORDER BY score DESC, product_id
LIMIT ?`

func (s *Service) searchSQLite(ctx context.Context, merchantID pulid.ID, query string, limit int, cur searchCursor) ([]scored, error) {
	m := merchantID.String()
	rows, err := s.client.QueryContext(ctx, searchSQLite, ftsQuery(query), m, m, query, query, m, query,
		cur.set, cur.score, cur.score, cur.id, limit)
	if err != nil {
		return nil, apperr.Wrap(err, apperr.Internal, "Search failed.")
	}
	return scanScored(rows)
}

// ftsQuery turns free text into an FTS5 query of quoted prefix terms, so user input can
// never be parsed as FTS5 syntax.
func ftsQuery(q string) string {
	terms := strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i, t := range terms {
		terms[i] = `"` + t + `"*`
	}
	if len(terms) == 0 {
		return `""`
	}
	return strings.Join(terms, " OR ")
}

type rowScanner interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}

func scanScored(rows rowScanner) ([]scored, error) {
	defer rows.Close()
	var out []scored
	for rows.Next() {
		var r scored
		if err := rows.Scan(&r.id, &r.score); err != nil {
			return nil, apperr.Wrap(err, apperr.Internal, "Search failed.")
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Wrap(err, apperr.Internal, "Search failed.")
	}
	return out, nil
}
