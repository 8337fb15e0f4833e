package orders

import (
	"context"
	"strings"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/emailmessage"
	"github.com/mercantile/mercantile/ent/order"
	"github.com/mercantile/mercantile/ent/payment"
	"github.com/mercantile/mercantile/ent/shipment"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/email"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/pulid"
)

// Order returns an order with its lines, shipments (and their lines and warehouse),
// payments and refunds.
// Errors: not_found, forbidden (storefront keys outside checkout).
func (s *Service) Order(ctx context.Context, id pulid.ID) (*ent.Order, error) {
	return loadOrder(ctx, s.client, id)
}

func loadOrder(ctx context.Context, client *ent.Client, id pulid.ID) (*ent.Order, error) {
	q := client.Order.Query().Where(order.ID(id)).
		WithLineItems().
		WithShipments(func(sq *ent.ShipmentQuery) { sq.WithLineItems().WithWarehouse() }).
		WithPayments().WithRefunds()
	o, err := q.Only(ctx)
	return o, apperr.Translate(err)
}

func invalidTransition(format string, args ...any) error {
	return apperr.New(apperr.InvalidStateTransition, format, args...)
}

// transition runs change on the locked order inside a transaction and returns the order
// as it is afterwards.
func (s *Service) transition(ctx context.Context, id pulid.ID, change func(ctx context.Context, tx *ent.Client, o *ent.Order) error) (*ent.Order, error) {
	if v, ok := viewer.FromContext(ctx); !ok || !v.CanWrite() || !v.MayReadPrivate() {
		return nil, apperr.New(apperr.Forbidden, "These credentials may not change orders.")
	}
	err := database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Client) error {
		o, err := s.lockedOrder(ctx, tx, id)
		if err != nil {
			return err
		}
		return change(ctx, tx, o)
	})
	if err != nil {
		return nil, err
	}
	return s.Order(ctx, id)
}

// lockedOrder reads the order for a transition; on PostgreSQL its row stays locked until
// the transaction ends, so two transitions of one order apply one after the other.
func (s *Service) lockedOrder(ctx context.Context, tx *ent.Client, id pulid.ID) (*ent.Order, error) {
	if s.dialect == "postgres" {
		if _, err := tx.Order.Query().Where(order.ID(id)).ForUpdate().OnlyID(ctx); err != nil {
			return nil, apperr.From(err)
		}
	}
	return loadOrder(ctx, tx, id)
}

// ShipmentAllocations returns what a shipment holds in stock terms; productOf maps its
// variants to their products (VariantProducts).
func ShipmentAllocations(shp *ent.Shipment, productOf map[pulid.ID]pulid.ID) []inventory.Allocation {
	out := make([]inventory.Allocation, 0, len(shp.Edges.LineItems))
	for _, li := range shp.Edges.LineItems {
		if li.VariantID == nil {
			continue
		}
		out = append(out, inventory.Allocation{VariantID: *li.VariantID, ProductID: productOf[*li.VariantID],
			WarehouseID: shp.WarehouseID, SKU: li.Sku, Quantity: int64(li.Quantity)})
	}
	return out
}

// productsOf maps the order's variants to their products, for cache invalidation.
func productsOf(ctx context.Context, tx *ent.Client, o *ent.Order) (map[pulid.ID]pulid.ID, error) {
	var ids []pulid.ID
	for _, li := range o.Edges.LineItems {
		if li.VariantID != nil {
			ids = append(ids, *li.VariantID)
		}
	}
	return VariantProducts(ctx, tx, ids)
}

// VariantProducts maps variants to their products.
func VariantProducts(ctx context.Context, tx *ent.Client, ids []pulid.ID) (map[pulid.ID]pulid.ID, error) {
	out := map[pulid.ID]pulid.ID{}
	if len(ids) == 0 {
		return out, nil
	}
	vs, err := tx.Variant.Query().Where(variant.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, apperr.From(err)
	}
	for _, v := range vs {
		out[v.ID] = v.ProductID
	}
	return out, nil
}

// Cancel cancels an open order: its unshipped shipments are cancelled and their stock
// released; an unpaid order's payment is voided. A paid order keeps financial_status
// paid until it is refunded.
// Errors: not_found, invalid_state_transition (cancelled, closed or fully shipped).
func (s *Service) Cancel(ctx context.Context, id pulid.ID, reason string) (*ent.Order, error) {
	return s.transition(ctx, id, func(ctx context.Context, tx *ent.Client, o *ent.Order) error {
		return s.cancel(ctx, tx, o, reason)
	})
}

func (s *Service) cancel(ctx context.Context, tx *ent.Client, o *ent.Order, reason string) error {
	if o.Status != order.StatusOpen {
		return invalidTransition("Order %s is %s; only open orders can be cancelled.", o.Name, o.Status)
	}
	if o.FulfillmentStatus == order.FulfillmentStatusFulfilled {
		return invalidTransition("Order %s has shipped in full; it cannot be cancelled.", o.Name)
	}
	products, err := productsOf(ctx, tx, o)
	if err != nil {
		return err
	}
	for _, shp := range o.Edges.Shipments {
		if shp.Status != shipment.StatusPending {
			continue
		}
		if err := s.inventory.Release(ctx, o.ID, ShipmentAllocations(shp, products)); err != nil {
			return err
		}
		if err := tx.Shipment.UpdateOneID(shp.ID).SetStatus(shipment.StatusCancelled).Exec(ctx); err != nil {
			return apperr.From(err)
		}
	}
	upd := tx.Order.UpdateOneID(o.ID).SetStatus(order.StatusCancelled).SetCancelledAt(s.now()).
		SetCancelReason(strings.TrimSpace(reason)).ClearReservationExpiresAt()
	if o.FinancialStatus == order.FinancialStatusPending {
		upd.SetFinancialStatus(order.FinancialStatusVoided)
		if _, err := tx.Payment.Update().Where(payment.OrderID(o.ID), payment.StatusEQ(payment.StatusPending)).
			SetStatus(payment.StatusCanceled).Save(ctx); err != nil {
			return apperr.From(err)
		}
	}
	if err := s.cancelIntentLater(ctx, o); err != nil {
		return err
	}
	cancelled, err := upd.Save(ctx)
	if err != nil {
		return apperr.From(err)
	}
	cancelled.Edges.LineItems = o.Edges.LineItems
	return email.Queue(ctx, tx, email.Event{Kind: emailmessage.KindOrderCancelled, Order: cancelled})
}

// MarkPaid records a manual payment of an open, unpaid order; its reservation no longer
// expires.
// Errors: not_found, invalid_state_transition (not pending, not open, or paid by Stripe).
func (s *Service) MarkPaid(ctx context.Context, id pulid.ID) (*ent.Order, error) {
	return s.transition(ctx, id, func(ctx context.Context, tx *ent.Client, o *ent.Order) error {
		if o.Status != order.StatusOpen || o.FinancialStatus != order.FinancialStatusPending {
			return invalidTransition("Order %s is %s and %s; only open, pending orders can be marked paid.", o.Name, o.Status, o.FinancialStatus)
		}
		for _, p := range o.Edges.Payments {
			if p.Provider != payment.ProviderManual {
				return invalidTransition("Order %s is paid through %s, not manually.", o.Name, p.Provider)
			}
		}
		now := s.now()
		if _, err := tx.Payment.Update().Where(payment.OrderID(o.ID)).SetStatus(payment.StatusSucceeded).Save(ctx); err != nil {
			return apperr.From(err)
		}
		return apperr.Translate(tx.Order.UpdateOneID(o.ID).SetFinancialStatus(order.FinancialStatusPaid).
			SetPaidAt(now).ClearReservationExpiresAt().Exec(ctx))
	})
}

// ShipInput is how a shipment left the warehouse.
type ShipInput struct {
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
}

// Ship marks a pending shipment of a paid order shipped and commits its stock (on_hand
// and reserved both drop). The order's fulfillment_status follows its shipments.
// Errors: not_found, invalid (carrier), invalid_state_transition (not pending, order not
// open or not paid).
func (s *Service) Ship(ctx context.Context, shipmentID pulid.ID, in ShipInput) (*ent.Order, error) {
	if strings.TrimSpace(in.Carrier) == "" {
		return nil, apperr.New(apperr.Invalid, "carrier is required.").WithField("carrier", "is required")
	}
	orderID, err := s.orderOfShipment(ctx, shipmentID)
	if err != nil {
		return nil, err
	}
	return s.transition(ctx, orderID, func(ctx context.Context, tx *ent.Client, o *ent.Order) error {
		shp := findShipment(o, shipmentID)
		switch {
		case o.Status != order.StatusOpen:
			return invalidTransition("Order %s is %s.", o.Name, o.Status)
		case o.FinancialStatus != order.FinancialStatusPaid && o.FinancialStatus != order.FinancialStatusPartiallyRefunded:
			return invalidTransition("Order %s is %s; ship it once it is paid.", o.Name, o.FinancialStatus)
		case shp.Status != shipment.StatusPending:
			return invalidTransition("Shipment is %s; only pending shipments ship.", shp.Status)
		}
		products, err := productsOf(ctx, tx, o)
		if err != nil {
			return err
		}
		if err := s.inventory.Commit(ctx, o.ID, ShipmentAllocations(shp, products)); err != nil {
			return err
		}
		shipped, err := tx.Shipment.UpdateOneID(shp.ID).SetStatus(shipment.StatusShipped).SetShippedAt(s.now()).
			SetCarrier(strings.TrimSpace(in.Carrier)).SetTrackingNumber(strings.TrimSpace(in.TrackingNumber)).Save(ctx)
		if err != nil {
			return apperr.From(err)
		}
		shp.Status = shipment.StatusShipped
		if err := s.followShipments(ctx, tx, o); err != nil {
			return err
		}
		shipped.Edges.LineItems = shp.Edges.LineItems
		return email.Queue(ctx, tx, email.Event{Kind: emailmessage.KindShipmentSent, Order: o, Shipment: shipped})
	})
}

// Deliver marks a shipped shipment delivered; when every shipment is delivered the
// order closes.
// Errors: not_found, invalid_state_transition (not shipped).
func (s *Service) Deliver(ctx context.Context, shipmentID pulid.ID) (*ent.Order, error) {
	orderID, err := s.orderOfShipment(ctx, shipmentID)
	if err != nil {
		return nil, err
	}
	return s.transition(ctx, orderID, func(ctx context.Context, tx *ent.Client, o *ent.Order) error {
		shp := findShipment(o, shipmentID)
		if shp.Status != shipment.StatusShipped {
			return invalidTransition("Shipment is %s; only shipped shipments can be delivered.", shp.Status)
		}
		if err := tx.Shipment.UpdateOneID(shp.ID).SetStatus(shipment.StatusDelivered).SetDeliveredAt(s.now()).Exec(ctx); err != nil {
			return apperr.From(err)
		}
		shp.Status = shipment.StatusDelivered
		return s.followShipments(ctx, tx, o)
	})
}

// followShipments derives fulfillment_status (and closing) from the shipments.
func (s *Service) followShipments(ctx context.Context, tx *ent.Client, o *ent.Order) error {
	live, sent, delivered := 0, 0, 0
	for _, shp := range o.Edges.Shipments {
		switch shp.Status {
		case shipment.StatusCancelled:
			continue
		case shipment.StatusShipped:
			sent++
		case shipment.StatusDelivered:
			sent++
			delivered++
		}
		live++
	}
	status := order.FulfillmentStatusUnfulfilled
	switch {
	case live > 0 && sent == live:
		status = order.FulfillmentStatusFulfilled
	case sent > 0:
		status = order.FulfillmentStatusPartial
	}
	upd := tx.Order.UpdateOneID(o.ID).SetFulfillmentStatus(status)
	if live > 0 && delivered == live {
		upd.SetStatus(order.StatusClosed).SetClosedAt(s.now())
	}
	return apperr.Translate(upd.Exec(ctx))
}

func findShipment(o *ent.Order, id pulid.ID) *ent.Shipment {
	for _, shp := range o.Edges.Shipments {
		if shp.ID == id {
			return shp
		}
	}
	return nil
}

func (s *Service) orderOfShipment(ctx context.Context, id pulid.ID) (pulid.ID, error) {
	shp, err := s.client.Shipment.Get(ctx, id)
	if err != nil {
		return "", apperr.From(err)
	}
	return shp.OrderID, nil
}

// RecordRefund records a refund of a paid order (the Stripe issue sends it through
// Stripe); financial_status becomes partially_refunded or refunded.
// Errors: not_found, invalid (amount), invalid_state_transition (nothing paid to refund).
func (s *Service) RecordRefund(ctx context.Context, id pulid.ID, amount *int64, reason string) (*ent.Order, error) {
	return s.transition(ctx, id, func(ctx context.Context, tx *ent.Client, o *ent.Order) error {
		if o.FinancialStatus != order.FinancialStatusPaid && o.FinancialStatus != order.FinancialStatusPartiallyRefunded {
			return invalidTransition("Order %s is %s; only paid orders can be refunded.", o.Name, o.FinancialStatus)
		}
		refundable := o.Total - o.AmountRefunded
		amt := refundable
		if amount != nil {
			amt = *amount
		}
		if amt <= 0 || amt > refundable {
			return apperr.New(apperr.Invalid, "amount must be between 1 and %d.", refundable).WithField("amount", "more than what was paid and not yet refunded")
		}
		pay := o.Edges.Payments[0]
		r, err := tx.Refund.Create().SetOrderID(o.ID).SetPaymentID(pay.ID).SetAmount(amt).SetCurrency(o.Currency).
			SetReason(reason).SetStatus("succeeded").Save(ctx)
		if err != nil {
			return apperr.From(err)
		}
		if err := tx.Payment.UpdateOneID(pay.ID).AddAmountRefunded(amt).Exec(ctx); err != nil {
			return apperr.From(err)
		}
		status := order.FinancialStatusPartiallyRefunded
		if o.AmountRefunded+amt == o.Total {
			status = order.FinancialStatusRefunded
		}
		if err := tx.Order.UpdateOneID(o.ID).AddAmountRefunded(amt).SetFinancialStatus(status).Exec(ctx); err != nil {
			return apperr.From(err)
		}
		return email.Queue(ctx, tx, email.Event{Kind: emailmessage.KindRefundIssued, Order: o, Refund: r})
	})
}

// ExpireReservations cancels open, unpaid orders of every merchant whose reservation
// has lapsed, releasing their stock, and returns how many it cancelled. The periodic job
// calls it; each order is cancelled as the system acting for its own merchant, so the
// ledger and tenant rules apply as for any other write.
func (s *Service) ExpireReservations(ctx context.Context, limit int) (int, error) {
	due, err := s.client.Order.Query().
		Where(order.StatusEQ(order.StatusOpen), order.FinancialStatusEQ(order.FinancialStatusPending),
			order.ReservationExpiresAtLT(s.now())).
		Limit(limit).Select(order.FieldID, order.FieldMerchantID).All(viewer.SystemContext(ctx))
	if err != nil {
		return 0, apperr.From(err)
	}
	n := 0
	for _, o := range due {
		_, err := s.transition(viewer.MerchantSystemContext(ctx, o.MerchantID), o.ID, func(ctx context.Context, tx *ent.Client, o *ent.Order) error {
			// Paid or cancelled since the query: nothing to expire.
			if o.Status != order.StatusOpen || o.FinancialStatus != order.FinancialStatusPending {
				return nil
			}
			return s.cancel(ctx, tx, o, "reservation expired")
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
