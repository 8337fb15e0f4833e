package imports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/inventorylevel"
	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/ent/productimage"
	"github.com/mercantile/mercantile/ent/productoption"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/ent/warehouse"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/media"
	"github.com/mercantile/mercantile/internal/pulid"
	"github.com/mercantile/mercantile/internal/shopifycsv"
)

// ProductImporter imports Shopify product CSVs, in the legacy header dialect (Handle,
// Body (HTML), Variant SKU, ...) and the 2025 one (URL handle, Description, SKU, ...).
// Products are matched by handle and variants by option combination (then SKU) within
// their product: what is unchanged is skipped, what differs is updated, the rest is
// created. Images are recorded by URL, not downloaded; a variant's Variant Image names
// the product image it shows by that URL (added as the last image when the product has
// no image with it). Stock columns set on_hand in the job's warehouse through the
// inventory ledger (reason import).
type ProductImporter struct {
	client    *ent.Client
	catalog   *catalog.Service
	inventory *inventory.Service
}

// NewProductImporter returns the importer of kind shopify_products, reading with client.
func NewProductImporter(client *ent.Client, cat *catalog.Service, inv *inventory.Service) *ProductImporter {
	return &ProductImporter{client: client, catalog: cat, inventory: inv}
}

// productColumns are the positions of the columns the importer reads (-1 when absent).
type productColumns struct {
	header                                              []string
	handle, title, body, vendor, ptype, tags, published int
	status, sku, price, compare, grams, barcode, qty    int
	imgSrc, imgPos, imgAlt, varImg                      int
	optName, optValue                                   [3]int
}

// name is the header's name of column i, for row errors.
func (c *productColumns) name(i int) string {
	if i < 0 || i >= len(c.header) {
		return ""
	}
	return strings.TrimSpace(c.header[i])
}

func findProductColumns(header []string) (*productColumns, error) {
	cols := NewColumns(header)
	c := &productColumns{
		header:    header,
		handle:    cols.Index("Handle", "URL handle"),
		title:     cols.Index("Title"),
		body:      cols.Index("Body (HTML)", "Description"),
		vendor:    cols.Index("Vendor"),
		ptype:     cols.Index("Type"),
		tags:      cols.Index("Tags"),
		published: cols.Index("Published", "Published on online store"),
		status:    cols.Index("Status"),
		sku:       cols.Index("Variant SKU", "SKU"),
		price:     cols.Index("Variant Price", "Price"),
		compare:   cols.Index("Variant Compare At Price", "Compare-at price"),
		grams:     cols.Index("Variant Grams", "Weight value (grams)"),
		barcode:   cols.Index("Variant Barcode", "Barcode"),
		qty:       cols.Index("Variant Inventory Qty", "Inventory quantity"),
		imgSrc:    cols.Index("Image Src", "Product image URL"),
		imgPos:    cols.Index("Image Position", "Image position"),
		imgAlt:    cols.Index("Image Alt Text", "Image alt text"),
		varImg:    cols.Index("Variant Image", "Variant image URL"),
	}
	for i := range 3 {
		n := strconv.Itoa(i + 1)
		c.optName[i] = cols.Index("Option" + n + " Name")
		c.optValue[i] = cols.Index("Option" + n + " Value")
	}
	var missing []string
	if c.handle < 0 {
		missing = append(missing, `"Handle" (or "URL handle" in the 2025 template)`)
	}
	if c.title < 0 {
		missing = append(missing, `"Title"`)
	}
	if c.price < 0 {
		missing = append(missing, `"Variant Price" (or "Price" in the 2025 template)`)
	}
	if len(missing) > 0 {
		return nil, fileErrorf("row 1: this is not a Shopify product CSV: the header lacks the required column%s %s",
			plural(len(missing)), strings.Join(missing, ", "))
	}
	return c, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// GrownTables implements Grower: the tables whose rows later batches look up by handle,
// SKU, product or variant.
func (p *ProductImporter) GrownTables() []string {
	return []string{product.Table, productoption.Table, productimage.Table, variant.Table, inventorylevel.Table}
}

// Open implements Importer.
func (p *ProductImporter) Open(ctx context.Context, job *ent.ImportJob, header []string) (Session, error) {
	cols, err := findProductColumns(header)
	if err != nil {
		return nil, err
	}
	v, _ := viewer.FromContext(ctx)
	client := p.client
	m, err := client.Merchant.Get(ctx, v.MerchantID)
	if err != nil {
		return nil, apperr.From(err)
	}
	s := &productSession{imp: p, job: job, cols: cols, currency: m.Currency}
	if cols.qty >= 0 && job.WarehouseCode != "" {
		wh, err := client.Warehouse.Query().Where(warehouse.Code(job.WarehouseCode)).Only(ctx)
		if ent.IsNotFound(err) {
			return nil, fileErrorf("the warehouse %q, chosen for the file's stock column, does not exist", job.WarehouseCode)
		}
		if err != nil {
			return nil, apperr.From(err)
		}
		s.warehouseID = wh.ID
	}
	return s, nil
}

type productSession struct {
	imp         *ProductImporter
	job         *ent.ImportJob
	cols        *productColumns
	currency    string
	warehouseID pulid.ID
}

// Key implements Session: rows sharing a handle are one product.
func (s *productSession) Key(cells []string) string { return Cell(cells, s.cols.handle) }

// variantLine is one valid variant row.
type variantLine struct {
	row     Row
	cols    [3]string
	sku     string
	price   int64
	compare *int64
	barcode string
	grams   int
	qty     *int64
	// image is the Variant Image URL: one of the product's images, by source URL.
	image string
}

// imageLine is an image named by a row (an image-only row or a variant row).
type imageLine struct {
	row      Row
	src, alt string
	position int
}

// productPlan is a product record parsed and checked without the database.
type productPlan struct {
	handle    string
	rows      []Row
	hasFields bool
	title     string
	body      string
	vendor    string
	ptype     string
	tags      []string
	status    product.Status
	// optNames are the option names the first row declares (nil for Title / Default
	// Title or no options).
	optNames []string
	variants []*variantLine
	images   []*imageLine
}

// rejectAll rejects every row of the plan not yet rejected, the first with the reason.
func rejectAll(out *Outcomes, rows []Row, column, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	for i, r := range rows {
		if i == 0 {
			out.Reject(r, column, "%s", msg)
			continue
		}
		out.Reject(r, "", "the product of row %d was rejected: %s", rows[0].Num, msg)
	}
}

// parse checks a record's rows on their own; rejected rows are marked in out. It returns
// nil when the whole record is rejected.
func (s *productSession) parse(rec Record, out *Outcomes, skus map[string]int) *productPlan {
	c := s.cols
	first := rec.Rows[0]
	pl := &productPlan{handle: rec.Key, rows: rec.Rows}
	if pl.handle == "" {
		for _, r := range rec.Rows {
			out.Reject(r, c.name(c.handle), "is required: every row names its product's handle")
		}
		return nil
	}
	if !catalog.ValidImportedHandle(pl.handle) {
		rejectAll(out, rec.Rows, c.name(c.handle), "%q is not a handle: use lower-case letters, digits and dashes", pl.handle)
		return nil
	}
	pl.title = Cell(first.Cells, c.title)
	pl.hasFields = pl.title != ""
	if pl.hasFields {
		if msg, col := s.parseFields(pl, first); msg != "" {
			rejectAll(out, rec.Rows, col, "%s", msg)
			return nil
		}
	}
	defaultTitle := false
	for i := range 3 {
		name := Cell(first.Cells, c.optName[i])
		if name == "" {
			break
		}
		pl.optNames = append(pl.optNames, name)
	}
	if len(pl.optNames) == 1 && strings.EqualFold(pl.optNames[0], "Title") {
		defaultTitle = true
		for _, r := range rec.Rows {
			if v := Cell(r.Cells, c.optValue[0]); v != "" && v != "Default Title" {
				defaultTitle = false
			}
		}
		if defaultTitle {
			pl.optNames = nil
		}
	}
	seen := map[[3]string]int{}
	srcs := map[string]bool{}
	for _, r := range rec.Rows {
		var vals [3]string
		isVariant := false
		for i := range 3 {
			vals[i] = Cell(r.Cells, c.optValue[i])
			isVariant = isVariant || vals[i] != ""
		}
		isVariant = isVariant || Cell(r.Cells, c.sku) != "" || Cell(r.Cells, c.price) != ""
		img, ok := s.parseImage(r, out)
		if !ok {
			continue
		}
		// The same image listed again adds nothing: its row is skipped.
		if img != nil && !srcs[img.src] {
			srcs[img.src] = true
			pl.images = append(pl.images, img)
		}
		if !isVariant {
			if img == nil {
				out.Reject(r, "", "the row has no variant columns (option value, SKU or price) and no image URL")
			}
			continue
		}
		if defaultTitle {
			vals[0] = ""
		}
		if vl := s.parseVariant(pl, r, vals, out, seen, skus); vl != nil {
			pl.variants = append(pl.variants, vl)
		}
	}
	return pl
}

// parseFields reads the product-level columns of a record's first row; it returns a
// message and column when they are invalid.
func (s *productSession) parseFields(pl *productPlan, first Row) (string, string) {
	c := s.cols
	if len(pl.title) > catalog.MaxTitleLength {
		return fmt.Sprintf("must be at most %d characters", catalog.MaxTitleLength), c.name(c.title)
	}
	pl.vendor = Cell(first.Cells, c.vendor)
	if len(pl.vendor) > catalog.MaxTitleLength {
		return fmt.Sprintf("must be at most %d characters", catalog.MaxTitleLength), c.name(c.vendor)
	}
	pl.ptype = Cell(first.Cells, c.ptype)
	if len(pl.ptype) > catalog.MaxTitleLength {
		return fmt.Sprintf("must be at most %d characters", catalog.MaxTitleLength), c.name(c.ptype)
	}
	if c.body >= 0 && c.body < len(first.Cells) {
		pl.body = catalog.SanitizeHTML(first.Cells[c.body])
	}
	var err error
	if raw := Cell(first.Cells, c.tags); raw != "" {
		if pl.tags, err = catalog.CheckTags(strings.Split(raw, ",")); err != nil {
			return fmt.Sprintf("at most %d tags of at most %d characters each", catalog.MaxTags, catalog.MaxTitleLength), c.name(c.tags)
		}
	}
	status := strings.ToLower(Cell(first.Cells, c.status))
	switch status {
	case "active", "draft", "archived":
		pl.status = product.Status(status)
	case "":
		switch strings.ToLower(Cell(first.Cells, c.published)) {
		case "", "true":
			pl.status = product.StatusActive
		case "false":
			pl.status = product.StatusDraft
		default:
			return "must be TRUE or FALSE", c.name(c.published)
		}
	default:
		return "must be active, draft or archived", c.name(c.status)
	}
	return "", ""
}

// parseImage reads a row's image columns; ok is false when the row was rejected.
func (s *productSession) parseImage(r Row, out *Outcomes) (*imageLine, bool) {
	c := s.cols
	src := Cell(r.Cells, c.imgSrc)
	if src == "" {
		return nil, true
	}
	if !validImageURL(src) {
		out.Reject(r, c.name(c.imgSrc), imageURLRule)
		return nil, false
	}
	img := &imageLine{row: r, src: src, alt: Cell(r.Cells, c.imgAlt)}
	if len(img.alt) > 512 {
		out.Reject(r, c.name(c.imgAlt), "must be at most 512 characters")
		return nil, false
	}
	if p := Cell(r.Cells, c.imgPos); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 10_000 {
			out.Reject(r, c.name(c.imgPos), "must be a whole number from 1 to 10000")
			return nil, false
		}
		img.position = n
	}
	return img, true
}

// imageURLRule is what validImageURL asks of an image column.
const imageURLRule = "must be an http or https URL of at most 2048 characters"

// validImageURL reports whether src is an image address an import may record: it is
// kept, not downloaded, and later shown to clients as the image's URL.
func validImageURL(src string) bool {
	u, err := url.Parse(src)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && len(src) <= 2048
}

// parseVariant checks a variant row; nil when rejected.
func (s *productSession) parseVariant(pl *productPlan, r Row, vals [3]string, out *Outcomes, seen map[[3]string]int, skus map[string]int) *variantLine {
	c := s.cols
	vl := &variantLine{row: r}
	for i := range 3 {
		col := c.name(c.optValue[i])
		if col == "" {
			col = "Option" + strconv.Itoa(i+1) + " Value"
		}
		switch {
		case pl.hasFields && i < len(pl.optNames) && vals[i] == "":
			out.Reject(r, col, "is required: the product has option %q", pl.optNames[i])
			return nil
		case pl.hasFields && i >= len(pl.optNames) && vals[i] != "":
			out.Reject(r, col, "the product declares no option %d (Option%d Name on its first row)", i+1, i+1)
			return nil
		case len(vals[i]) > catalog.MaxTitleLength:
			out.Reject(r, col, "must be at most %d characters", catalog.MaxTitleLength)
			return nil
		}
		vl.cols[i] = vals[i]
	}
	if prev, dup := seen[vl.cols]; dup {
		out.Reject(r, c.name(c.optValue[0]), "the option combination %q is already on row %d", catalog.VariantTitle(vl.cols), prev)
		return nil
	}
	priceCell := Cell(r.Cells, c.price)
	if priceCell == "" {
		out.Reject(r, c.name(c.price), "is required on a variant row")
		return nil
	}
	price, err := shopifycsv.ParseMoney(priceCell, s.currency)
	if err != nil {
		out.Reject(r, c.name(c.price), "%q %v", priceCell, err)
		return nil
	}
	vl.price = price
	if cell := Cell(r.Cells, c.compare); cell != "" {
		cmp, err := shopifycsv.ParseMoney(cell, s.currency)
		if err != nil {
			out.Reject(r, c.name(c.compare), "%q %v", cell, err)
			return nil
		}
		vl.compare = &cmp
	}
	if cell := Cell(r.Cells, c.grams); cell != "" {
		g, err := strconv.ParseFloat(cell, 64)
		if err != nil || math.IsNaN(g) || g < 0 || g > 1e9 {
			out.Reject(r, c.name(c.grams), "must be a weight in grams from 0 to 1000000000")
			return nil
		}
		vl.grams = int(math.Round(g))
	}
	vl.barcode = Cell(r.Cells, c.barcode)
	if len(vl.barcode) > catalog.MaxSKULength {
		out.Reject(r, c.name(c.barcode), "must be at most %d characters", catalog.MaxSKULength)
		return nil
	}
	vl.sku = Cell(r.Cells, c.sku)
	if vl.sku == "" {
		vl.sku = derivedSKU(pl.handle, vl.cols)
	} else if !catalog.ValidSKU(vl.sku) {
		out.Reject(r, c.name(c.sku), "must be 1 to %d characters without spaces", catalog.MaxSKULength)
		return nil
	}
	if prev, dup := skus[vl.sku]; dup {
		out.Reject(r, c.name(c.sku), "SKU %q is already used on row %d", vl.sku, prev)
		return nil
	}
	vl.image = Cell(r.Cells, c.varImg)
	if vl.image != "" && !validImageURL(vl.image) {
		out.Reject(r, c.name(c.varImg), imageURLRule)
		return nil
	}
	if cell := Cell(r.Cells, c.qty); cell != "" {
		q, err := strconv.ParseInt(cell, 10, 64)
		if err != nil || q < 0 || q > inventory.MaxQuantity {
			out.Reject(r, c.name(c.qty), "must be a whole number from 0 to %d", inventory.MaxQuantity)
			return nil
		}
		vl.qty = &q
	}
	seen[vl.cols] = r.Num
	skus[vl.sku] = r.Num
	return vl
}

// derivedSKU names a variant the file gives no SKU (Shopify allows that; the catalog
// does not): the handle and its option values, shortened with a hash past 64 bytes. The
// same row always gets the same SKU, so a re-import finds it.
func derivedSKU(handle string, cols [3]string) string {
	parts := []string{handle}
	for _, v := range cols {
		if v != "" {
			parts = append(parts, strings.Join(strings.Fields(v), "-"))
		}
	}
	sku := strings.Join(parts, "-")
	if len(sku) <= catalog.MaxSKULength && catalog.ValidSKU(sku) {
		return sku
	}
	sum := sha256.Sum256([]byte(sku))
	var cut []byte
	for _, r := range sku {
		if len(cut)+utf8.RuneLen(r) > catalog.MaxSKULength-11 {
			break
		}
		if r > ' ' {
			cut = utf8.AppendRune(cut, r)
		}
	}
	return string(cut) + "-" + hex.EncodeToString(sum[:])[:10]
}

// productWrites collects a batch's writes.
type productWrites struct {
	newProducts []*ent.ProductCreate
	newOptions  []*ent.ProductOptionCreate
	newVariants []*ent.VariantCreate
	newImages   []*ent.ProductImageCreate
	updates     []func(context.Context) error
	reindex     []pulid.ID
	levels      []inventory.ImportLevel
	levelRows   []Row
	changed     map[int]bool
	// warehouseID is where this batch's stock columns go when the job names no
	// warehouse: found or created in the batch's transaction, so it is not kept past it
	// (a dry run rolls a created one back).
	warehouseID pulid.ID
}

// Commit implements Session.
func (s *productSession) Commit(ctx context.Context, tx *ent.Client, records []Record, out *Outcomes) error {
	skus := map[string]int{}
	plans := make([]*productPlan, 0, len(records))
	handles := make([]string, 0, len(records))
	for _, rec := range records {
		if pl := s.parse(rec, out, skus); pl != nil {
			plans = append(plans, pl)
			handles = append(handles, pl.handle)
		}
	}
	existing := map[string]*ent.Product{}
	for part := range slices.Chunk(handles, 500) {
		found, err := tx.Product.Query().Where(product.HandleIn(part...)).
			WithOptions(func(q *ent.ProductOptionQuery) { q.Order(ent.Asc(productoption.FieldPosition)) }).
			WithVariants().WithImages().All(ctx)
		if err != nil {
			return apperr.From(err)
		}
		for _, p := range found {
			existing[p.Handle] = p
		}
	}
	skuList := make([]string, 0, len(skus))
	for sku := range skus {
		skuList = append(skuList, sku)
	}
	owners := map[string]*ent.Variant{}
	for part := range slices.Chunk(skuList, 500) {
		found, err := tx.Variant.Query().Where(variant.SkuIn(part...)).All(ctx)
		if err != nil {
			return apperr.From(err)
		}
		for _, v := range found {
			owners[v.Sku] = v
		}
	}
	w := &productWrites{changed: map[int]bool{}}
	for _, pl := range plans {
		if err := s.plan(ctx, tx, pl, existing[pl.handle], owners, w, out); err != nil {
			return err
		}
	}
	if err := s.write(ctx, tx, w, out); err != nil {
		return err
	}
	for _, rec := range records {
		for _, r := range rec.Rows {
			if w.changed[r.Num] {
				out.Imported(r)
			} else {
				out.Skipped(r)
			}
		}
	}
	return nil
}

// plan compares one product with what the database holds and queues its writes.
func (s *productSession) plan(ctx context.Context, tx *ent.Client, pl *productPlan, p *ent.Product, owners map[string]*ent.Variant, w *productWrites, out *Outcomes) error {
	c := s.cols
	first := pl.rows[0]
	if p == nil && !pl.hasFields {
		rejectAll(out, pl.rows, c.name(c.title), "is required on the first row of a new product")
		return nil
	}
	// Options: the file's when it declares product fields, else the product's own.
	var names []string
	var existingOpts []*ent.ProductOption
	if p != nil {
		existingOpts = p.Edges.Options
	}
	if pl.hasFields {
		names = pl.optNames
		if p != nil && len(p.Edges.Variants) > 0 && !sameNames(names, existingOpts) {
			for _, vl := range pl.variants {
				out.Reject(vl.row, c.name(c.optName[0]), "the product exists with options %s; an import cannot change them", optionNames(existingOpts))
			}
			pl.variants = nil
		}
	} else {
		for _, o := range existingOpts {
			names = append(names, o.Name)
		}
		kept := pl.variants[:0]
		for _, vl := range pl.variants {
			ok := true
			for i := range 3 {
				if (i < len(names)) != (vl.cols[i] != "") {
					ok = false
				}
			}
			if !ok {
				out.Reject(vl.row, c.name(c.optValue[0]), "the option values do not match the product's options %s", optionNames(existingOpts))
				continue
			}
			kept = append(kept, vl)
		}
		pl.variants = kept
	}

	productID := pulid.New("prd")
	byCols := map[[3]string]*ent.Variant{}
	bySKU := map[string]*ent.Variant{}
	position := 0
	if p != nil {
		productID = p.ID
		for _, v := range p.Edges.Variants {
			byCols[[3]string{v.Option1, v.Option2, v.Option3}] = v
			bySKU[v.Sku] = v
			position = max(position, v.Position)
		}
	}
	type variantChange struct {
		line  *variantLine
		match *ent.Variant
	}
	var accepted []variantChange
	usedCols := map[[3]string]bool{}
	count := len(byCols)
	for _, vl := range pl.variants {
		match := byCols[vl.cols]
		if match == nil {
			if m := bySKU[vl.sku]; m != nil && !usedCols[[3]string{m.Option1, m.Option2, m.Option3}] {
				match = m
			}
		}
		if owner := owners[vl.sku]; owner != nil && (match == nil || owner.ID != match.ID) {
			if owner.ProductID == productID {
				out.Reject(vl.row, c.name(c.sku), "SKU %q belongs to another variant of this product", vl.sku)
			} else {
				out.Reject(vl.row, c.name(c.sku), "SKU %q belongs to another product", vl.sku)
			}
			continue
		}
		if match == nil {
			if count >= catalog.MaxVariants {
				out.Reject(vl.row, "", "a product has at most %d variants", catalog.MaxVariants)
				continue
			}
			count++
		} else {
			usedCols[[3]string{match.Option1, match.Option2, match.Option3}] = true
		}
		accepted = append(accepted, variantChange{line: vl, match: match})
	}
	if p == nil && len(accepted) == 0 {
		for _, r := range pl.rows {
			if !out.Rejected(r) {
				out.Reject(r, "", "the product of row %d was not created: none of its variant rows is valid", first.Num)
			}
		}
		return nil
	}

	// Options: the declared names with the existing values first, then new ones.
	opts := make([]catalog.OptionInput, len(names))
	for i, n := range names {
		opts[i].Name = n
		if i < len(existingOpts) {
			opts[i].Values = append(opts[i].Values, existingOpts[i].Values...)
		}
		for _, ch := range accepted {
			if !slices.Contains(opts[i].Values, ch.line.cols[i]) {
				opts[i].Values = append(opts[i].Values, ch.line.cols[i])
			}
		}
	}
	opts, err := catalog.CheckOptions(opts)
	if err != nil {
		rejectAll(out, pl.rows, c.name(c.optName[0]), "the options are not valid: %v", err)
		return nil
	}
	touched := false
	if p == nil {
		create := tx.Product.Create().SetID(productID).SetHandle(pl.handle).SetTitle(pl.title).
			SetDescriptionHTML(pl.body).SetVendor(pl.vendor).SetProductType(pl.ptype).
			SetTags(append([]string{}, pl.tags...)).SetStatus(pl.status)
		w.newProducts = append(w.newProducts, create)
		for i, o := range opts {
			w.newOptions = append(w.newOptions, tx.ProductOption.Create().SetProductID(productID).
				SetName(o.Name).SetPosition(i+1).SetValues(o.Values))
		}
		w.changed[first.Num] = true
		touched = true
	} else {
		if pl.hasFields && (p.Title != pl.title || p.DescriptionHTML != pl.body || p.Vendor != pl.vendor ||
			p.ProductType != pl.ptype || !slices.Equal(p.Tags, pl.tags) || p.Status != pl.status) {
			upd := tx.Product.UpdateOneID(p.ID).SetTitle(pl.title).SetDescriptionHTML(pl.body).
				SetVendor(pl.vendor).SetProductType(pl.ptype).SetTags(append([]string{}, pl.tags...)).SetStatus(pl.status)
			w.updates = append(w.updates, func(ctx context.Context) error { return upd.Exec(ctx) })
			w.changed[first.Num] = true
			touched = true
		}
		if !sameOptions(opts, existingOpts) {
			id := p.ID
			w.updates = append(w.updates, func(ctx context.Context) error {
				if _, err := tx.ProductOption.Delete().Where(productoption.ProductID(id)).Exec(ctx); err != nil {
					return err
				}
				builders := make([]*ent.ProductOptionCreate, len(opts))
				for i, o := range opts {
					builders[i] = tx.ProductOption.Create().SetProductID(id).SetName(o.Name).SetPosition(i + 1).SetValues(o.Values)
				}
				return tx.ProductOption.CreateBulk(builders...).Exec(ctx)
			})
			w.changed[first.Num] = true
			touched = true
		}
	}

	// Images, by URL: existing ones are kept (their alt text updated), new ones added.
	// They are planned before the variants, which name them by URL (Variant Image).
	byURL := map[string]*ent.ProductImage{}
	imageIDs := map[string]pulid.ID{}
	nextPos := 0
	if p != nil {
		for _, img := range p.Edges.Images {
			if img.SourceURL != "" {
				byURL[img.SourceURL] = img
				imageIDs[img.SourceURL] = img.ID
			}
			nextPos = max(nextPos, img.Position)
		}
	}
	v, _ := viewer.FromContext(ctx)
	addImage := func(src, alt string, pos int) {
		id := pulid.New("img")
		name := path.Base(strings.SplitN(src, "?", 2)[0])
		w.newImages = append(w.newImages, tx.ProductImage.Create().SetID(id).SetProductID(productID).
			SetStorageKey(media.ObjectKey(v.MerchantID.String(), productID.String(), id.String(), name)).
			SetSourceURL(src).SetContentType(imageType(name)).SetPosition(pos).SetAlt(alt))
		imageIDs[src] = id
		touched = true
	}
	for _, il := range pl.images {
		if out.Rejected(il.row) {
			continue
		}
		if img := byURL[il.src]; img != nil {
			if il.alt != "" && img.Alt != il.alt {
				upd := tx.ProductImage.UpdateOneID(img.ID).SetAlt(il.alt)
				w.updates = append(w.updates, func(ctx context.Context) error { return upd.Exec(ctx) })
				w.changed[il.row.Num] = true
				touched = true
			}
			continue
		}
		pos := il.position
		if pos == 0 {
			pos = nextPos + 1
		}
		nextPos = max(nextPos, pos)
		addImage(il.src, il.alt, pos)
		w.changed[il.row.Num] = true
	}
	// A Variant Image that is none of the product's images becomes its last image, as
	// Shopify adds it.
	for _, ch := range accepted {
		if src := ch.line.image; src != "" && imageIDs[src] == "" {
			nextPos++
			addImage(src, "", nextPos)
			w.changed[ch.line.row.Num] = true
		}
	}

	for _, ch := range accepted {
		vl := ch.line
		var imageID *pulid.ID
		if id, ok := imageIDs[vl.image]; ok {
			imageID = &id
		}
		variantID := pulid.ID("")
		if ch.match == nil {
			position++
			variantID = pulid.New("var")
			w.newVariants = append(w.newVariants, tx.Variant.Create().SetID(variantID).SetProductID(productID).
				SetSku(vl.sku).SetTitle(catalog.VariantTitle(vl.cols)).
				SetOption1(vl.cols[0]).SetOption2(vl.cols[1]).SetOption3(vl.cols[2]).
				SetPrice(vl.price).SetNillableCompareAtPrice(vl.compare).SetBarcode(vl.barcode).
				SetWeightGrams(vl.grams).SetPosition(position).SetNillableImageID(imageID))
			w.changed[vl.row.Num] = true
			touched = true
		} else {
			m := ch.match
			variantID = m.ID
			// Without a Variant Image column the file says nothing about the variant's
			// image, so it stays; with one, an empty cell unlinks it.
			imageChanged := c.varImg >= 0 && !sameID(m.ImageID, imageID)
			if m.Sku != vl.sku || m.Price != vl.price || !sameInt64(m.CompareAtPrice, vl.compare) ||
				m.Barcode != vl.barcode || m.WeightGrams != vl.grams ||
				[3]string{m.Option1, m.Option2, m.Option3} != vl.cols || imageChanged {
				upd := tx.Variant.UpdateOneID(m.ID).SetSku(vl.sku).SetTitle(catalog.VariantTitle(vl.cols)).
					SetOption1(vl.cols[0]).SetOption2(vl.cols[1]).SetOption3(vl.cols[2]).
					SetPrice(vl.price).SetBarcode(vl.barcode).SetWeightGrams(vl.grams)
				if vl.compare != nil {
					upd.SetCompareAtPrice(*vl.compare)
				} else {
					upd.ClearCompareAtPrice()
				}
				if imageChanged {
					if imageID != nil {
						upd.SetImageID(*imageID)
					} else {
						upd.ClearImageID()
					}
				}
				w.updates = append(w.updates, func(ctx context.Context) error { return upd.Exec(ctx) })
				w.changed[vl.row.Num] = true
				touched = true
			}
		}
		if vl.qty != nil {
			whID, err := s.warehouse(ctx, tx, w)
			if err != nil {
				return err
			}
			w.levels = append(w.levels, inventory.ImportLevel{VariantID: variantID, ProductID: productID,
				WarehouseID: whID, SKU: vl.sku, OnHand: *vl.qty})
			w.levelRows = append(w.levelRows, vl.row)
		}
	}

	if touched {
		w.reindex = append(w.reindex, productID)
	}
	return nil
}

// write runs the queued writes in dependency order, then sets the stock.
func (s *productSession) write(ctx context.Context, tx *ent.Client, w *productWrites, out *Outcomes) error {
	for part := range slices.Chunk(w.newProducts, 1000) {
		if err := tx.Product.CreateBulk(part...).Exec(ctx); err != nil {
			return apperr.From(err)
		}
	}
	for part := range slices.Chunk(w.newOptions, 1000) {
		if err := tx.ProductOption.CreateBulk(part...).Exec(ctx); err != nil {
			return apperr.From(err)
		}
	}
	// Images before the variants and variant updates that point at them.
	for part := range slices.Chunk(w.newImages, 1000) {
		if err := tx.ProductImage.CreateBulk(part...).Exec(ctx); err != nil {
			return apperr.From(err)
		}
	}
	for _, u := range w.updates {
		if err := u(ctx); err != nil {
			return apperr.From(err)
		}
	}
	for part := range slices.Chunk(w.newVariants, 1000) {
		if err := tx.Variant.CreateBulk(part...).Exec(ctx); err != nil {
			return apperr.From(err)
		}
	}
	if err := s.imp.catalog.Reindex(ctx, tx, w.reindex...); err != nil {
		return err
	}
	results, err := s.imp.inventory.SetImported(ctx, tx, w.levels, "import "+s.job.ID.String())
	if err != nil {
		return err
	}
	for i, res := range results {
		switch res {
		case inventory.ImportChanged:
			w.changed[w.levelRows[i].Num] = true
		case inventory.ImportBelowReserved:
			out.Reject(w.levelRows[i], s.cols.name(s.cols.qty), "%d is below the stock reserved for open orders; on hand was left as it is (the rest of the row was imported)", w.levels[i].OnHand)
		}
	}
	return nil
}

// warehouse returns where stock columns go: the job's warehouse, else the merchant's
// first by priority, created when the merchant has none.
func (s *productSession) warehouse(ctx context.Context, tx *ent.Client, w *productWrites) (pulid.ID, error) {
	if s.warehouseID != "" {
		return s.warehouseID, nil
	}
	if w.warehouseID != "" {
		return w.warehouseID, nil
	}
	wh, err := tx.Warehouse.Query().Order(ent.Asc(warehouse.FieldPriority), ent.Asc(warehouse.FieldCode)).First(ctx)
	if ent.IsNotFound(err) {
		wh, err = tx.Warehouse.Create().SetCode("default").SetName("Default").Save(ctx)
	}
	if err != nil {
		return "", apperr.From(err)
	}
	w.warehouseID = wh.ID
	return wh.ID, nil
}

func sameNames(names []string, opts []*ent.ProductOption) bool {
	if len(names) != len(opts) {
		return false
	}
	for i, o := range opts {
		if !strings.EqualFold(o.Name, names[i]) {
			return false
		}
	}
	return true
}

func sameOptions(opts []catalog.OptionInput, existing []*ent.ProductOption) bool {
	if len(opts) != len(existing) {
		return false
	}
	for i, o := range existing {
		if o.Name != opts[i].Name || !slices.Equal(o.Values, opts[i].Values) {
			return false
		}
	}
	return true
}

func optionNames(opts []*ent.ProductOption) string {
	if len(opts) == 0 {
		return "(none)"
	}
	names := make([]string, len(opts))
	for i, o := range opts {
		names[i] = strconv.Quote(o.Name)
	}
	return strings.Join(names, ", ")
}

func sameInt64(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func sameID(a, b *pulid.ID) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// imageType guesses an imported image's content type from its file name.
func imageType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".png":
		return "image/png"
	case ".webp":
		return "image/webp"
	case ".gif":
		return "image/gif"
	case ".avif":
		return "image/avif"
	default:
		return "image/jpeg"
	}
}
