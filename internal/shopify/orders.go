package shopify

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/inventorylevel"
	"github.com/mercantile/mercantile/ent/order"
	"github.com/mercantile/mercantile/ent/orderlineitem"
	"github.com/mercantile/mercantile/ent/shipment"
	"github.com/mercantile/mercantile/ent/shipmentlineitem"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/ent/warehouse"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/orders"
	"github.com/mercantile/mercantile/internal/postal"
	"github.com/mercantile/mercantile/internal/pulid"
)

type moneySet struct {
	ShopMoney struct {
		Amount string `json:"amount"`
	} `json:"shop_money"`
}

type addressPayload struct {
	Name         string  `json:"name"`
	Company      *string `json:"company"`
	Address1     string  `json:"address1"`
	Address2     *string `json:"address2"`
	City         string  `json:"city"`
	ProvinceCode *string `json:"province_code"`
	Zip          string  `json:"zip"`
	CountryCode  *string `json:"country_code"`
	Phone        *string `json:"phone"`
}

// orderPayload is what is read of Shopify's order webhook body.
type orderPayload struct {
	ID                    int64           `json:"id"`
	Name                  string          `json:"name"`
	Email                 *string         `json:"email"`
	ContactEmail          *string         `json:"contact_email"`
	Currency              string          `json:"currency"`
	FinancialStatus       *string         `json:"financial_status"`
	FulfillmentStatus     *string         `json:"fulfillment_status"`
	CancelledAt           *time.Time      `json:"cancelled_at"`
	CancelReason          *string         `json:"cancel_reason"`
	ClosedAt              *time.Time      `json:"closed_at"`
	ProcessedAt           *time.Time      `json:"processed_at"`
	UpdatedAt             *time.Time      `json:"updated_at"`
	Note                  *string         `json:"note"`
	LocationID            *int64          `json:"location_id"`
	SubtotalPrice         string          `json:"subtotal_price"`
	TotalTax              string          `json:"total_tax"`
	TotalPrice            string          `json:"total_price"`
	TotalShippingPriceSet *moneySet       `json:"total_shipping_price_set"`
	ShippingAddress       *addressPayload `json:"shipping_address"`
	LineItems             []struct {
		ID           int64   `json:"id"`
		SKU          *string `json:"sku"`
		Title        string  `json:"title"`
		VariantTitle *string `json:"variant_title"`
		Quantity     int     `json:"quantity"`
		// CurrentQuantity is the quantity after order edits and removals; quantity
		// stays what was first ordered. Absent before API version 2023-01.
		CurrentQuantity *int   `json:"current_quantity"`
		Price           string `json:"price"`
	} `json:"line_items"`
}

// heldLine is a line the order still holds: after order edits and removals, with its
// price in minor units.
type heldLine struct {
	shopifyID           int64
	sku                 string
	title, variantTitle string
	quantity            int
	price               int64
}

// heldLines returns the payload's lines whose current quantity is above zero.
func (p orderPayload) heldLines() ([]heldLine, error) {
	var out []heldLine
	for _, li := range p.LineItems {
		quantity := li.Quantity
		if li.CurrentQuantity != nil {
			quantity = *li.CurrentQuantity
		}
		if quantity <= 0 {
			continue
		}
		price, err := parseMoney(li.Price)
		if err != nil {
			return nil, malformed("order line", err)
		}
		out = append(out, heldLine{shopifyID: li.ID, sku: truncate(strings.TrimSpace(deref(li.SKU)), 64), title: li.Title,
			variantTitle: deref(li.VariantTitle), quantity: quantity, price: price})
	}
	return out, nil
}

// stockState is what an order holds of our stock.
type stockState int

const (
	stockNone      stockState = iota // nothing held: not yet placed, or cancelled
	stockReserved                    // open and unfulfilled: reserved
	stockCommitted                   // fulfilled: gone from on_hand
)

// wanted is the stock state the order's statuses call for.
func (p orderPayload) wanted() stockState {
	switch {
	case p.CancelledAt != nil:
		return stockNone
	case deref(p.FulfillmentStatus) == "fulfilled":
		return stockCommitted
	}
	return stockReserved
}

// upsertOrder records a Shopify order (source shopify), once per Shopify id, and moves
// its stock to what its statuses call for through the inventory service: open and
// unfulfilled reserves, fulfilled commits, cancelled releases. Lines whose SKU we do not
// know are recorded without a stock effect. An order edited in Shopify gets its new lines
// and reservations until a shipment has gone out (applyEdit). A payload not newer than
// the one applied changes nothing. Its stock changes are not pushed back to Shopify, which made them.
func (s *Service) upsertOrder(ctx context.Context, tx *ent.Client, m *ent.Merchant, payload []byte) (bool, error) {
	var p orderPayload
	if err := decode(payload, &p); err != nil {
		return false, malformed("order", err)
	}
	if p.ID == 0 {
		return false, malformed("order", errors.New("no id"))
	}
	amounts, err := p.amounts()
	if err != nil {
		return false, malformed("order", err)
	}
	lines, err := p.heldLines()
	if err != nil {
		return false, err
	}
	ctx = inventory.SyncedContext(ctx)
	existing, err := tx.Order.Query().Where(order.ShopifyID(p.ID)).WithShipments(func(q *ent.ShipmentQuery) { q.WithLineItems() }).
		WithLineItems().Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return false, apperr.From(err)
	}
	if existing != nil && existing.ShopifyUpdatedAt != nil && (p.UpdatedAt == nil || !p.UpdatedAt.After(*existing.ShopifyUpdatedAt)) {
		return false, nil
	}
	status, financial, fulfillment := p.statuses()
	email := strings.TrimSpace(deref(p.Email))
	if email == "" {
		email = strings.TrimSpace(deref(p.ContactEmail))
	}
	currency := strings.ToUpper(strings.TrimSpace(p.Currency))
	if len(currency) != 3 {
		currency = m.Currency
	}
	if existing != nil && linesEdited(existing.Edges.LineItems, lines) {
		if err := s.applyEdit(ctx, tx, existing, p, lines); err != nil {
			return false, err
		}
	}
	if existing == nil {
		number, err := s.nextNumber(ctx, tx, m.ID)
		if err != nil {
			return false, err
		}
		name := p.Name
		if name == "" {
			name = "#" + strconv.FormatInt(number, 10)
		}
		create := tx.Order.Create().SetNumber(number).SetName(name).SetSource(order.SourceShopify).SetShopifyID(p.ID).
			SetEmail(truncate(email, 254)).SetCurrency(currency).SetNote(truncate(deref(p.Note), 5000)).
			SetNillableProcessedAt(p.ProcessedAt)
		if a := p.ShippingAddress; a != nil {
			create.SetShippingAddress(postal.Address{Name: a.Name, Company: deref(a.Company), Line1: a.Address1, Line2: deref(a.Address2),
				City: a.City, Region: deref(a.ProvinceCode), PostalCode: a.Zip, Country: deref(a.CountryCode), Phone: deref(a.Phone)})
		}
		if existing, err = create.Save(ctx); err != nil {
			return false, apperr.From(err)
		}
		if err := s.writeOrderLines(ctx, tx, existing, lines); err != nil {
			return false, err
		}
	}
	upd := existing.Update().SetStatus(status).SetFinancialStatus(financial).SetFulfillmentStatus(fulfillment).
		SetSubtotal(amounts[0]).SetShippingTotal(amounts[1]).SetTaxTotal(amounts[2]).SetTotal(amounts[3]).
		SetEmail(truncate(email, 254)).SetNillableShopifyUpdatedAt(p.UpdatedAt).SetNillableCancelledAt(p.CancelledAt).
		SetNillableClosedAt(p.ClosedAt).SetCancelReason(deref(p.CancelReason))
	if financial == order.FinancialStatusPaid && existing.PaidAt == nil {
		upd.SetPaidAt(s.now())
	}
	if err := upd.Exec(ctx); err != nil {
		return false, apperr.From(err)
	}
	return true, s.moveStock(ctx, tx, existing.ID, p)
}

// statuses maps Shopify's statuses onto ours; ones we do not model read as pending.
func (p orderPayload) statuses() (order.Status, order.FinancialStatus, order.FulfillmentStatus) {
	status := order.StatusOpen
	switch {
	case p.CancelledAt != nil:
		status = order.StatusCancelled
	case p.ClosedAt != nil:
		status = order.StatusClosed
	}
	financial := order.FinancialStatusPending
	if f := order.FinancialStatus(deref(p.FinancialStatus)); order.FinancialStatusValidator(f) == nil {
		financial = f
	}
	fulfillment := order.FulfillmentStatusUnfulfilled
	if f := order.FulfillmentStatus(deref(p.FulfillmentStatus)); order.FulfillmentStatusValidator(f) == nil {
		fulfillment = f
	}
	return status, financial, fulfillment
}

// amounts are subtotal, shipping, tax and total in minor units.
func (p orderPayload) amounts() ([4]int64, error) {
	shipping := ""
	if p.TotalShippingPriceSet != nil {
		shipping = p.TotalShippingPriceSet.ShopMoney.Amount
	}
	var out [4]int64
	for i, s := range []string{p.SubtotalPrice, shipping, p.TotalTax, p.TotalPrice} {
		n, err := parseMoney(s)
		if err != nil {
			return out, err
		}
		out[i] = n
	}
	return out, nil
}

// writeOrderLines writes the order's lines, linked to our variants by SKU.
func (s *Service) writeOrderLines(ctx context.Context, tx *ent.Client, o *ent.Order, lines []heldLine) error {
	var skus []string
	for _, l := range lines {
		if l.sku != "" {
			skus = append(skus, l.sku)
		}
	}
	variants, err := tx.Variant.Query().Where(variant.SkuIn(skus...)).All(ctx)
	if err != nil {
		return apperr.From(err)
	}
	bySKU := map[string]*ent.Variant{}
	for _, v := range variants {
		bySKU[v.Sku] = v
	}
	creates := make([]*ent.OrderLineItemCreate, 0, len(lines))
	for _, l := range lines {
		c := tx.OrderLineItem.Create().SetOrderID(o.ID).SetSku(l.sku).SetTitle(l.title).
			SetVariantTitle(l.variantTitle).SetQuantity(l.quantity).SetUnitPrice(l.price).
			SetTotal(l.price * int64(l.quantity)).SetShopifyLineItemID(l.shopifyID)
		if v := bySKU[l.sku]; v != nil {
			c.SetVariantID(v.ID)
		}
		creates = append(creates, c)
	}
	return apperr.Translate(tx.OrderLineItem.CreateBulk(creates...).Exec(ctx))
}

// lineKey is what an order edit can change of a line.
type lineKey struct {
	shopifyID int64
	sku       string
	quantity  int
	price     int64
}

// linesEdited says whether the payload's lines differ from the recorded ones: lines added
// or removed, or their quantities or prices changed by an order edit in Shopify.
func linesEdited(recorded []*ent.OrderLineItem, lines []heldLine) bool {
	count := map[lineKey]int{}
	for _, li := range recorded {
		k := lineKey{sku: li.Sku, quantity: li.Quantity, price: li.UnitPrice}
		if li.ShopifyLineItemID != nil {
			k.shopifyID = *li.ShopifyLineItemID
		}
		count[k]++
	}
	for _, l := range lines {
		k := lineKey{shopifyID: l.shopifyID, sku: l.sku, quantity: l.quantity, price: l.price}
		if count[k] == 0 {
			return true
		}
		count[k]--
	}
	for _, n := range count {
		if n > 0 {
			return true
		}
	}
	return false
}

// applyEdit rewrites the lines of an order edited in Shopify while none of its stock has
// left: the pending shipments' reservations are released and the shipments removed, so
// that moveStock places and reserves the new lines. Once a shipment has gone out, its
// lines are what was sent, so the edit's lines are not applied (the statuses and totals
// still are) and a warning says so: re-planning what has shipped is the merchant's call.
func (s *Service) applyEdit(ctx context.Context, tx *ent.Client, o *ent.Order, p orderPayload, lines []heldLine) error {
	var removable []pulid.ID
	for _, shp := range o.Edges.Shipments {
		switch shp.Status {
		case shipment.StatusShipped, shipment.StatusDelivered:
			s.log.WarnContext(ctx, "shopify: an order edited after a shipment went out keeps its recorded lines",
				"order", o.ID, "shopify_id", p.ID)
			return nil
		}
		removable = append(removable, shp.ID)
	}
	products, err := productsOf(ctx, tx, o)
	if err != nil {
		return err
	}
	for _, shp := range o.Edges.Shipments {
		if shp.Status != shipment.StatusPending {
			continue
		}
		if err := s.inventory.Release(ctx, o.ID, orders.ShipmentAllocations(shp, products)); err != nil {
			return err
		}
	}
	if _, err := tx.ShipmentLineItem.Delete().Where(shipmentlineitem.ShipmentIDIn(removable...)).Exec(ctx); err != nil {
		return apperr.From(err)
	}
	if _, err := tx.Shipment.Delete().Where(shipment.IDIn(removable...)).Exec(ctx); err != nil {
		return apperr.From(err)
	}
	if _, err := tx.OrderLineItem.Delete().Where(orderlineitem.OrderID(o.ID)).Exec(ctx); err != nil {
		return apperr.From(err)
	}
	return s.writeOrderLines(ctx, tx, o, lines)
}

// moveStock takes the order's stock from the state its shipments show to the state its
// statuses call for. The first time it reserves, each line goes to one warehouse that
// can fill it (the order's Shopify location first, then by priority), with the order's
// shipments recording where; a line no warehouse can fill has no stock effect. Shipped
// and cancelled shipments are final: a fulfilled order is never released.
func (s *Service) moveStock(ctx context.Context, tx *ent.Client, orderID pulid.ID, p orderPayload) error {
	o, err := tx.Order.Query().Where(order.ID(orderID)).WithLineItems().
		WithShipments(func(q *ent.ShipmentQuery) { q.WithLineItems() }).Only(ctx)
	if err != nil {
		return apperr.From(err)
	}
	want := p.wanted()
	if len(o.Edges.Shipments) == 0 {
		if want == stockNone {
			return nil
		}
		if err := s.reserve(ctx, tx, o, p.LocationID); err != nil {
			return err
		}
		if o, err = tx.Order.Query().Where(order.ID(orderID)).
			WithShipments(func(q *ent.ShipmentQuery) { q.WithLineItems() }).Only(ctx); err != nil {
			return apperr.From(err)
		}
	}
	products, err := productsOf(ctx, tx, o)
	if err != nil {
		return err
	}
	for _, shp := range o.Edges.Shipments {
		if shp.Status != shipment.StatusPending {
			continue
		}
		allocs := orders.ShipmentAllocations(shp, products)
		switch want {
		case stockCommitted:
			if err := s.inventory.Commit(ctx, o.ID, allocs); err != nil {
				return err
			}
			err = tx.Shipment.UpdateOneID(shp.ID).SetStatus(shipment.StatusShipped).SetShippedAt(s.now()).Exec(ctx)
		case stockNone:
			if err := s.inventory.Release(ctx, o.ID, allocs); err != nil {
				return err
			}
			err = tx.Shipment.UpdateOneID(shp.ID).SetStatus(shipment.StatusCancelled).Exec(ctx)
		}
		if err != nil {
			return apperr.From(err)
		}
	}
	return nil
}

// reserve places the order's known lines in warehouses and reserves them.
func (s *Service) reserve(ctx context.Context, tx *ent.Client, o *ent.Order, locationID *int64) error {
	houses, err := tx.Warehouse.Query().Where(warehouse.Active(true)).
		Order(ent.Asc(warehouse.FieldPriority), ent.Asc(warehouse.FieldCode)).All(ctx)
	if err != nil {
		return apperr.From(err)
	}
	if locationID != nil {
		for i, h := range houses {
			if h.ShopifyLocationID != nil && *h.ShopifyLocationID == *locationID {
				houses = append([]*ent.Warehouse{h}, append(houses[:i:i], houses[i+1:]...)...)
				break
			}
		}
	}
	var allocs []inventory.Allocation
	shipmentOf := map[pulid.ID]pulid.ID{}
	for _, li := range o.Edges.LineItems {
		if li.VariantID == nil {
			continue
		}
		levels, err := tx.InventoryLevel.Query().Where(inventorylevel.VariantID(*li.VariantID)).All(ctx)
		if err != nil {
			return apperr.From(err)
		}
		available := map[pulid.ID]int64{}
		for _, l := range levels {
			available[l.WarehouseID] = l.OnHand - l.Reserved
		}
		var house *ent.Warehouse
		for _, h := range houses {
			if available[h.ID] >= int64(li.Quantity) {
				house = h
				break
			}
		}
		if house == nil {
			s.log.WarnContext(ctx, "shopify: no warehouse can fill an order line; recorded without reserving",
				"order_id", o.ID, "sku", li.Sku, "quantity", li.Quantity)
			continue
		}
		shp, ok := shipmentOf[house.ID]
		if !ok {
			created, err := tx.Shipment.Create().SetOrderID(o.ID).SetWarehouseID(house.ID).Save(ctx)
			if err != nil {
				return apperr.From(err)
			}
			shp, shipmentOf[house.ID] = created.ID, created.ID
		}
		vr, err := tx.Variant.Get(ctx, *li.VariantID)
		if err != nil {
			return apperr.From(err)
		}
		if err := tx.ShipmentLineItem.Create().SetShipmentID(shp).SetOrderLineItemID(li.ID).SetVariantID(vr.ID).
			SetSku(vr.Sku).SetQuantity(li.Quantity).Exec(ctx); err != nil {
			return apperr.From(err)
		}
		allocs = append(allocs, inventory.Allocation{VariantID: vr.ID, ProductID: vr.ProductID, WarehouseID: house.ID, SKU: vr.Sku,
			Quantity: int64(li.Quantity)})
	}
	if len(allocs) == 0 {
		return nil
	}
	return s.inventory.Reserve(ctx, o.ID, allocs)
}

// productsOf maps the variants of the order's shipments to their products.
func productsOf(ctx context.Context, tx *ent.Client, o *ent.Order) (map[pulid.ID]pulid.ID, error) {
	var ids []pulid.ID
	for _, shp := range o.Edges.Shipments {
		for _, li := range shp.Edges.LineItems {
			if li.VariantID != nil {
				ids = append(ids, *li.VariantID)
			}
		}
	}
	return orders.VariantProducts(ctx, tx, ids)
}

// nextNumber takes the merchant's next order number, as placement does: Shopify's own
// numbers could collide with ours, so its name ("#1234") is kept in name instead.
func (s *Service) nextNumber(ctx context.Context, tx *ent.Client, merchantID pulid.ID) (int64, error) {
	next := `UPDATE merchants SET last_order_number = last_order_number + 1 WHERE id = ? RETURNING last_order_number`
	if s.dialect == dialect.Postgres {
		next = `UPDATE merchants SET last_order_number = last_order_number + 1 WHERE id = $1 RETURNING last_order_number`
	}
	rows, err := tx.QueryContext(ctx, next, merchantID.String())
	if err != nil {
		return 0, apperr.Wrap(err, apperr.Internal, "Numbering the order failed.")
	}
	var n int64
	if rows.Next() {
		err = rows.Scan(&n)
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil || n == 0 {
		return 0, apperr.Wrap(err, apperr.Internal, "Numbering the order failed.")
	}
	return n, nil
}
