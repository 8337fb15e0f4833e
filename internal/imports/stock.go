package imports

import (
	"context"
	"slices"
	"strconv"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/ent/warehouse"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/inventory"
)

// InventoryImporter imports stock files with the columns sku, warehouse_code and
// on_hand: each row sets on_hand of a SKU in a warehouse through the inventory ledger
// (reason import). Unknown SKUs and warehouses, and figures below the stock reserved for
// open orders, are rejected per row; a figure already in place is skipped.
type InventoryImporter struct {
	inventory *inventory.Service
}

// NewInventoryImporter returns the importer of kind inventory.
func NewInventoryImporter(inv *inventory.Service) *InventoryImporter {
	return &InventoryImporter{inventory: inv}
}

type stockSession struct {
	imp               *InventoryImporter
	job               *ent.ImportJob
	header            []string
	sku, code, onHand int
}

// Open implements Importer.
func (i *InventoryImporter) Open(_ context.Context, job *ent.ImportJob, header []string) (Session, error) {
	cols := NewColumns(header)
	s := &stockSession{imp: i, job: job, header: header,
		sku: cols.Index("sku"), code: cols.Index("warehouse_code"), onHand: cols.Index("on_hand")}
	var missing []string
	for name, idx := range map[string]int{"sku": s.sku, "warehouse_code": s.code, "on_hand": s.onHand} {
		if idx < 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fileErrorf("row 1: an inventory file needs the columns sku, warehouse_code and on_hand; missing: %v", missing)
	}
	return s, nil
}

// Key implements Session: every row is a record of its own.
func (s *stockSession) Key([]string) string { return "" }

// Commit implements Session.
func (s *stockSession) Commit(ctx context.Context, tx *ent.Client, records []Record, out *Outcomes) error {
	type line struct {
		row    Row
		sku    string
		code   string
		onHand int64
	}
	lines := make([]line, 0, len(records))
	skus := map[string]bool{}
	codes := map[string]bool{}
	for _, rec := range records {
		r := rec.Rows[0]
		l := line{row: r, sku: Cell(r.Cells, s.sku), code: Cell(r.Cells, s.code)}
		n, err := strconv.ParseInt(Cell(r.Cells, s.onHand), 10, 64)
		switch {
		case l.sku == "":
			out.Reject(r, "sku", "is required")
		case l.code == "":
			out.Reject(r, "warehouse_code", "is required")
		case err != nil || n < 0 || n > inventory.MaxQuantity:
			out.Reject(r, "on_hand", "must be a whole number from 0 to %d", inventory.MaxQuantity)
		default:
			l.onHand = n
			lines = append(lines, l)
			skus[l.sku], codes[l.code] = true, true
		}
	}
	variants := map[string]*ent.Variant{}
	for part := range slices.Chunk(mapKeys(skus), 500) {
		found, err := tx.Variant.Query().Where(variant.SkuIn(part...)).All(ctx)
		if err != nil {
			return apperr.From(err)
		}
		for _, v := range found {
			variants[v.Sku] = v
		}
	}
	warehouses := map[string]*ent.Warehouse{}
	found, err := tx.Warehouse.Query().Where(warehouse.CodeIn(mapKeys(codes)...)).All(ctx)
	if err != nil {
		return apperr.From(err)
	}
	for _, w := range found {
		warehouses[w.Code] = w
	}
	var (
		levels []inventory.ImportLevel
		rows   []Row
	)
	for _, l := range lines {
		v, w := variants[l.sku], warehouses[l.code]
		switch {
		case v == nil:
			out.Reject(l.row, "sku", "no variant has SKU %q", l.sku)
		case w == nil:
			out.Reject(l.row, "warehouse_code", "no warehouse has code %q", l.code)
		default:
			levels = append(levels, inventory.ImportLevel{VariantID: v.ID, ProductID: v.ProductID,
				WarehouseID: w.ID, SKU: v.Sku, OnHand: l.onHand})
			rows = append(rows, l.row)
		}
	}
	results, err := s.imp.inventory.SetImported(ctx, tx, levels, "import "+s.job.ID.String())
	if err != nil {
		return err
	}
	for i, res := range results {
		switch res {
		case inventory.ImportChanged:
			out.Imported(rows[i])
		case inventory.ImportUnchanged:
			out.Skipped(rows[i])
		case inventory.ImportBelowReserved:
			out.Reject(rows[i], "on_hand", "%d is below the stock of %s reserved for open orders", levels[i].OnHand, levels[i].SKU)
		}
	}
	return nil
}

func mapKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
