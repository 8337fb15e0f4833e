// Package orders places orders and moves them through Shopify's three statuses (status,
// financial_status, fulfillment_status) by explicit transitions. Placement validates,
// prices lines from the catalog (never from the client), allocates them to warehouses,
// reserves stock and writes the order, its lines, shipments and payment in one
// transaction: all lines or nothing. It must not change stock except through
// internal/inventory.
package orders

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/emailmessage"
	"github.com/mercantile/mercantile/ent/inventorylevel"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/ent/warehouse"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/email"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/postal"
	"github.com/mercantile/mercantile/internal/pulid"
)

// Limits on an order; larger is a mistake, not a purchase.
const (
	MaxLines        = 100
	MaxLineQuantity = 10_000
	// placementAttempts re-runs an allocation that lost a race for the last units to a
	// concurrent order: its reads are unlocked, the conditional reserve decides.
	placementAttempts = 3
)

// Service places and manages orders.
type Service struct {
	client         *ent.Client
	dialect        string
	inventory      *inventory.Service
	reservationTTL time.Duration
	now            func() time.Time
	// payments takes Stripe payments (UsePayments); nil means manual payments.
	payments PaymentGateway
	log      *slog.Logger
	// refundSubmitDelay is how long after a Stripe refund is written its SubmitRefundArgs
	// job first runs: longer than the synchronous call may take (REQUEST_TIMEOUT), so
	// the job normally finds the refund settled and does nothing.
	refundSubmitDelay time.Duration
}

// NewService returns an orders service.
func NewService(db *database.DB, inv *inventory.Service, reservationTTL time.Duration) *Service {
	return &Service{client: db.Client, dialect: db.Dialect, inventory: inv, reservationTTL: reservationTTL, now: time.Now,
		refundSubmitDelay: DefaultRefundSubmitDelay}
}

// LineInput is one SKU and how many.
type LineInput struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// PlaceInput is an order as a storefront sends it. Prices are not part of it.
type PlaceInput struct {
	Email           string          `json:"email"`
	Currency        string          `json:"currency"`
	ShippingAddress *postal.Address `json:"shipping_address"`
	LineItems       []LineInput     `json:"line_items"`
	Note            string          `json:"note"`
}

var countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)

func (in *PlaceInput) validate(merchantCurrency string) error {
	var v apperr.Validation
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	if addr, err := mail.ParseAddress(in.Email); err != nil || addr.Address != in.Email || !strings.Contains(in.Email[strings.LastIndex(in.Email, "@"):], ".") {
		v.Add("email", "must be a valid email address")
	}
	in.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	if in.Currency != "" && in.Currency != merchantCurrency {
		v.Add("currency", "must be the merchant's currency, %s", merchantCurrency)
	}
	if a := in.ShippingAddress; a == nil {
		v.Add("shipping_address", "is required")
	} else {
		for field, value := range map[string]string{"name": a.Name, "line1": a.Line1, "city": a.City, "postal_code": a.PostalCode} {
			if strings.TrimSpace(value) == "" {
				v.Add("shipping_address."+field, "is required")
			}
		}
		a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
		if !countryPattern.MatchString(a.Country) {
			v.Add("shipping_address.country", "must be an ISO 3166-1 alpha-2 code such as US")
		}
	}
	if len(in.LineItems) == 0 || len(in.LineItems) > MaxLines {
		v.Add("line_items", "must hold 1 to %d lines", MaxLines)
	}
	seen := map[string]bool{}
	for i, l := range in.LineItems {
		field := "line_items[" + strconv.Itoa(i) + "]"
		l.SKU = strings.TrimSpace(l.SKU)
		in.LineItems[i].SKU = l.SKU
		if l.SKU == "" {
			v.Add(field+".sku", "is required")
		} else if seen[l.SKU] {
			v.Add(field+".sku", "SKU %s appears in more than one line", l.SKU)
		}
		seen[l.SKU] = true
		if l.Quantity < 1 || l.Quantity > MaxLineQuantity {
			v.Add(field+".quantity", "must be between 1 and %d", MaxLineQuantity)
		}
	}
	if len(in.Note) > 5000 {
		v.Add("note", "must be at most 5000 characters")
	}
	return v.Err()
}

// Place places an order: prices from the catalog, stock reserved across warehouses,
// everything written in one transaction.
// Errors: invalid (422, naming fields; unknown SKUs), insufficient_inventory (409, naming
// each short SKU with what is available), forbidden.
func (s *Service) Place(ctx context.Context, in PlaceInput) (*ent.Order, error) {
	v, ok := viewer.FromContext(ctx)
	if !ok || v.MerchantID == "" {
		return nil, apperr.New(apperr.Unauthorized, "Credentials are required.")
	}
	// A storefront may place orders, and read back the one it placed.
	ctx = viewer.CheckoutContext(ctx)
	m, err := s.client.Merchant.Get(ctx, v.MerchantID)
	if err != nil {
		return nil, apperr.From(err)
	}
	if err := in.validate(m.Currency); err != nil {
		return nil, err
	}
	var placed *ent.Order
	for attempt := 1; ; attempt++ {
		placed, err = s.place(ctx, m, in)
		if apperr.CodeOf(err) != apperr.InsufficientInventory || attempt == placementAttempts {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	// After the commit: the processor is never called with stock locked.
	s.openPayment(ctx, placed)
	return s.Order(ctx, placed.ID)
}

func (s *Service) place(ctx context.Context, m *ent.Merchant, in PlaceInput) (*ent.Order, error) {
	var order *ent.Order
	err := database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Client) error {
		skus := make([]string, len(in.LineItems))
		for i, l := range in.LineItems {
			skus[i] = l.SKU
		}
		variants, err := tx.Variant.Query().Where(variant.SkuIn(skus...)).WithProduct().All(ctx)
		if err != nil {
			return apperr.From(err)
		}
		bySKU := map[string]*ent.Variant{}
		for _, vr := range variants {
			bySKU[vr.Sku] = vr
		}
		var val apperr.Validation
		for i, l := range in.LineItems {
			if vr := bySKU[l.SKU]; vr == nil || vr.Edges.Product.Status != "active" {
				val.Add("line_items["+strconv.Itoa(i)+"].sku", "no product for sale has SKU %s", l.SKU)
			}
		}
		if err := val.Err(); err != nil {
			return err
		}

		houses, err := s.stockFor(ctx, tx, variants)
		if err != nil {
			return err
		}
		lines := make([]want, len(in.LineItems))
		for i, l := range in.LineItems {
			lines[i] = want{variantID: bySKU[l.SKU].ID, quantity: l.Quantity}
		}
		splits := allocate(lines, houses)
		if splits == nil {
			return shortError(in.LineItems, bySKU, houses)
		}

		var subtotal int64
		for _, l := range in.LineItems {
			subtotal += bySKU[l.SKU].Price * l.Quantity
		}
		tax := (subtotal*int64(m.TaxRateBps) + 5000) / 10000
		total := subtotal + m.ShippingFlatRate + tax
		now := s.now()
		// The number is taken last, so the merchant's counter row is locked only through
		// the commit, not the whole placement: until then the order carries a unique
		// negative placeholder, never visible outside the transaction.
		order, err = tx.Order.Create().
			SetNumber(-placeholderNumber()).SetEmail(in.Email).SetCurrency(m.Currency).
			SetSubtotal(subtotal).SetShippingTotal(m.ShippingFlatRate).SetTaxTotal(tax).SetTotal(total).
			SetShippingAddress(*in.ShippingAddress).SetNote(in.Note).
			SetReservationExpiresAt(now.Add(s.reservationTTL)).
			Save(ctx)
		if err != nil {
			return apperr.From(err)
		}
		if err := s.writeLines(ctx, tx, order, in.LineItems, bySKU, splits); err != nil {
			return err
		}
		if err := tx.Payment.Create().SetOrderID(order.ID).SetProvider(s.paymentProvider()).
			SetAmount(total).SetCurrency(m.Currency).Exec(ctx); err != nil {
			return apperr.From(err)
		}
		if err := s.number(ctx, tx, m.ID, order); err != nil {
			return err
		}
		return email.Queue(ctx, tx, email.Event{Kind: emailmessage.KindOrderConfirmation, Order: order})
	})
	return order, err
}

func placeholderNumber() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:])>>2) + 1
}

// writeLines writes the order's lines, one shipment per warehouse with its lines, and
// reserves the stock.
func (s *Service) writeLines(ctx context.Context, tx *ent.Client, order *ent.Order, items []LineInput, bySKU map[string]*ent.Variant, splits []split) error {
	lineIDs := map[pulid.ID]pulid.ID{}
	creates := make([]*ent.OrderLineItemCreate, len(items))
	for i, l := range items {
		vr := bySKU[l.SKU]
		title := vr.Edges.Product.Title
		id := pulid.New("oli")
		lineIDs[vr.ID] = id
		creates[i] = tx.OrderLineItem.Create().SetID(id).SetOrderID(order.ID).SetVariantID(vr.ID).
			SetSku(vr.Sku).SetTitle(title).SetVariantTitle(vr.Title).SetQuantity(int(l.Quantity)).
			SetUnitPrice(vr.Price).SetTotal(vr.Price * l.Quantity)
	}
	if err := tx.OrderLineItem.CreateBulk(creates...).Exec(ctx); err != nil {
		return apperr.From(err)
	}
	shipmentOf := map[pulid.ID]pulid.ID{}
	var shipments []*ent.ShipmentCreate
	var shipLines []*ent.ShipmentLineItemCreate
	allocs := make([]inventory.Allocation, 0, len(splits))
	skuOf := map[pulid.ID]*ent.Variant{}
	for _, vr := range bySKU {
		skuOf[vr.ID] = vr
	}
	for _, sp := range splits {
		shp, ok := shipmentOf[sp.warehouseID]
		if !ok {
			shp = pulid.New("shp")
			shipmentOf[sp.warehouseID] = shp
			shipments = append(shipments, tx.Shipment.Create().SetID(shp).SetOrderID(order.ID).SetWarehouseID(sp.warehouseID))
		}
		vr := skuOf[sp.variantID]
		shipLines = append(shipLines, tx.ShipmentLineItem.Create().SetShipmentID(shp).SetOrderLineItemID(lineIDs[sp.variantID]).
			SetVariantID(sp.variantID).SetSku(vr.Sku).SetQuantity(int(sp.quantity)))
		allocs = append(allocs, inventory.Allocation{VariantID: sp.variantID, ProductID: vr.ProductID, WarehouseID: sp.warehouseID, SKU: vr.Sku, Quantity: sp.quantity})
	}
	if err := tx.Shipment.CreateBulk(shipments...).Exec(ctx); err != nil {
		return apperr.From(err)
	}
	if err := tx.ShipmentLineItem.CreateBulk(shipLines...).Exec(ctx); err != nil {
		return apperr.From(err)
	}
	return s.inventory.Reserve(ctx, order.ID, allocs)
}

// stockFor reads what each active warehouse has available of the variants. Unlocked:
// Reserve's conditional updates decide, and a lost race re-runs the placement.
func (s *Service) stockFor(ctx context.Context, tx *ent.Client, variants []*ent.Variant) ([]stockAt, error) {
	ids := make([]pulid.ID, len(variants))
	for i, vr := range variants {
		ids[i] = vr.ID
	}
	levels, err := tx.InventoryLevel.Query().
		Where(inventorylevel.VariantIDIn(ids...), inventorylevel.HasWarehouseWith(warehouse.Active(true))).
		WithWarehouse().All(ctx)
	if err != nil {
		return nil, apperr.From(err)
	}
	byHouse := map[pulid.ID]*stockAt{}
	for _, l := range levels {
		h := byHouse[l.WarehouseID]
		if h == nil {
			w := l.Edges.Warehouse
			h = &stockAt{id: w.ID, code: w.Code, priority: w.Priority, available: map[pulid.ID]int64{}}
			byHouse[l.WarehouseID] = h
		}
		h.available[l.VariantID] = l.OnHand - l.Reserved
	}
	out := make([]stockAt, 0, len(byHouse))
	for _, h := range byHouse {
		out = append(out, *h)
	}
	return out, nil
}

// shortError names each SKU the warehouses together cannot supply, with what they have.
func shortError(items []LineInput, bySKU map[string]*ent.Variant, houses []stockAt) error {
	e := apperr.New(apperr.InsufficientInventory, "Not enough stock for this order.")
	var short []string
	for _, l := range items {
		var have int64
		for _, h := range houses {
			have += h.available[bySKU[l.SKU].ID]
		}
		if have < l.Quantity {
			short = append(short, l.SKU)
			e.WithField(l.SKU, "requested "+strconv.FormatInt(l.Quantity, 10)+", available "+strconv.FormatInt(max(have, 0), 10))
		}
	}
	e.Message = "Not enough stock of " + strings.Join(short, ", ") + "."
	return e
}

// number gives the order the merchant's next order number and its display name.
func (s *Service) number(ctx context.Context, tx *ent.Client, merchantID pulid.ID, order *ent.Order) error {
	next := `UPDATE merchants SET last_order_number = last_order_number + 1 WHERE id = ? RETURNING last_order_number`
	set := `UPDATE orders SET number = ?, name = ? WHERE id = ? AND merchant_id = ?`
	if s.dialect == dialect.Postgres {
		next = `UPDATE merchants SET last_order_number = last_order_number + 1 WHERE id = $1 RETURNING last_order_number`
		set = `UPDATE orders SET number = $1, name = $2 WHERE id = $3 AND merchant_id = $4`
	}
	rows, err := tx.QueryContext(ctx, next, merchantID.String())
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "Numbering the order failed.")
	}
	var n int64
	if rows.Next() {
		err = rows.Scan(&n)
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil || n == 0 {
		return apperr.Wrap(err, apperr.Internal, "Numbering the order failed.")
	}
	if _, err := tx.ExecContext(ctx, set, n, "#"+strconv.FormatInt(n, 10), order.ID.String(), merchantID.String()); err != nil {
		return apperr.Wrap(err, apperr.Internal, "Numbering the order failed.")
	}
	order.Number, order.Name = n, "#"+strconv.FormatInt(n, 10)
	return nil
}
