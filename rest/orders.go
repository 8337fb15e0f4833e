package rest

import (
	"net/http"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/internal/orders"
	"github.com/mercantile/mercantile/internal/postal"
	"github.com/mercantile/mercantile/internal/pulid"
)

type orderLineJSON struct {
	ID           string `json:"id"`
	SKU          string `json:"sku"`
	Title        string `json:"title"`
	VariantTitle string `json:"variant_title"`
	Quantity     int    `json:"quantity"`
	UnitPrice    int64  `json:"unit_price"`
	Total        int64  `json:"total"`
}

type shipmentLineJSON struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

type shipmentJSON struct {
	ID             string             `json:"id"`
	WarehouseCode  string             `json:"warehouse_code"`
	Status         string             `json:"status"`
	Carrier        string             `json:"carrier"`
	TrackingNumber string             `json:"tracking_number"`
	ShippedAt      *string            `json:"shipped_at"`
	DeliveredAt    *string            `json:"delivered_at"`
	LineItems      []shipmentLineJSON `json:"line_items"`
}

type paymentJSON struct {
	Provider     string  `json:"provider"`
	Status       string  `json:"status"`
	ClientSecret *string `json:"client_secret"`
}

type refundJSON struct {
	ID             string `json:"id"`
	Amount         int64  `json:"amount"`
	Currency       string `json:"currency"`
	Status         string `json:"status"`
	Reason         string `json:"reason"`
	FailureMessage string `json:"failure_message"`
	CreatedAt      string `json:"created_at"`
}

type orderJSON struct {
	ID                   string          `json:"id"`
	Number               int64           `json:"number"`
	Name                 string          `json:"name"`
	Status               string          `json:"status"`
	FinancialStatus      string          `json:"financial_status"`
	FulfillmentStatus    string          `json:"fulfillment_status"`
	Email                string          `json:"email"`
	Currency             string          `json:"currency"`
	Subtotal             int64           `json:"subtotal"`
	ShippingTotal        int64           `json:"shipping_total"`
	TaxTotal             int64           `json:"tax_total"`
	Total                int64           `json:"total"`
	AmountRefunded       int64           `json:"amount_refunded"`
	ShippingAddress      *postal.Address `json:"shipping_address"`
	Note                 string          `json:"note"`
	LineItems            []orderLineJSON `json:"line_items"`
	Shipments            []shipmentJSON  `json:"shipments"`
	Payment              *paymentJSON    `json:"payment"`
	Refunds              []refundJSON    `json:"refunds"`
	CancelReason         string          `json:"cancel_reason"`
	ReservationExpiresAt *string         `json:"reservation_expires_at"`
	PaidAt               *string         `json:"paid_at"`
	CancelledAt          *string         `json:"cancelled_at"`
	ClosedAt             *string         `json:"closed_at"`
	CreatedAt            string          `json:"created_at"`
	UpdatedAt            string          `json:"updated_at"`
}

// toOrderJSON renders an order loaded with its lines, shipments (with their lines and
// warehouse) and payments, as the orders service returns it.
func toOrderJSON(o *ent.Order) orderJSON {
	out := orderJSON{
		ID: o.ID.String(), Number: o.Number, Name: o.Name, Status: string(o.Status),
		FinancialStatus: string(o.FinancialStatus), FulfillmentStatus: string(o.FulfillmentStatus),
		Email: o.Email, Currency: o.Currency, Subtotal: o.Subtotal, ShippingTotal: o.ShippingTotal, TaxTotal: o.TaxTotal,
		Total: o.Total, AmountRefunded: o.AmountRefunded, Note: o.Note, CancelReason: o.CancelReason,
		LineItems: make([]orderLineJSON, 0, len(o.Edges.LineItems)), Shipments: make([]shipmentJSON, 0, len(o.Edges.Shipments)),
		ReservationExpiresAt: timeJSONPtr(o.ReservationExpiresAt), PaidAt: timeJSONPtr(o.PaidAt),
		CancelledAt: timeJSONPtr(o.CancelledAt), ClosedAt: timeJSONPtr(o.ClosedAt),
		CreatedAt: timeJSON(o.CreatedAt), UpdatedAt: timeJSON(o.UpdatedAt), Refunds: make([]refundJSON, 0, len(o.Edges.Refunds)),
	}
	if o.ShippingAddress != (postal.Address{}) {
		out.ShippingAddress = &o.ShippingAddress
	}
	for _, li := range o.Edges.LineItems {
		out.LineItems = append(out.LineItems, orderLineJSON{ID: li.ID.String(), SKU: li.Sku, Title: li.Title,
			VariantTitle: li.VariantTitle, Quantity: li.Quantity, UnitPrice: li.UnitPrice, Total: li.Total})
	}
	for _, shp := range o.Edges.Shipments {
		s := shipmentJSON{ID: shp.ID.String(), Status: string(shp.Status), Carrier: shp.Carrier, TrackingNumber: shp.TrackingNumber,
			ShippedAt: timeJSONPtr(shp.ShippedAt), DeliveredAt: timeJSONPtr(shp.DeliveredAt),
			LineItems: make([]shipmentLineJSON, 0, len(shp.Edges.LineItems))}
		if wh := shp.Edges.Warehouse; wh != nil {
			s.WarehouseCode = wh.Code
		}
		for _, li := range shp.Edges.LineItems {
			s.LineItems = append(s.LineItems, shipmentLineJSON{SKU: li.Sku, Quantity: li.Quantity})
		}
		out.Shipments = append(out.Shipments, s)
	}
	// Placement gives an order its one payment; imported orders may have none.
	if len(o.Edges.Payments) > 0 {
		p := o.Edges.Payments[0]
		out.Payment = &paymentJSON{Provider: string(p.Provider), Status: string(p.Status), ClientSecret: orders.ClientSecret(o, p)}
	}
	for _, rf := range o.Edges.Refunds {
		out.Refunds = append(out.Refunds, refundJSON{ID: rf.ID.String(), Amount: rf.Amount, Currency: rf.Currency, Status: string(rf.Status),
			Reason: rf.Reason, FailureMessage: rf.FailureMessage, CreatedAt: timeJSON(rf.CreatedAt)})
	}
	return out
}

// orderResponse writes the order a service returned, or its error.
func (a *api) orderResponse(w http.ResponseWriter, r *http.Request, status int, o *ent.Order, err error) {
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, status, toOrderJSON(o))
}

func (a *api) placeOrder(w http.ResponseWriter, r *http.Request) {
	var in orders.PlaceInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	o, err := a.orders.Place(r.Context(), in)
	a.orderResponse(w, r, http.StatusCreated, o, err)
}

func (a *api) listOrders(w http.ResponseWriter, r *http.Request) {
	page, err := pageFrom(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	q := r.URL.Query()
	rows, more, err := a.orders.List(r.Context(), orders.ListFilter{
		Status: q.Get("status"), FinancialStatus: q.Get("financial_status"), FulfillmentStatus: q.Get("fulfillment_status"),
		CreatedAfter: q.Get("created_after"), Email: q.Get("email"),
	}, page)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(rows, more, func(o *ent.Order) pulid.ID { return o.ID }, toOrderJSON))
}

func (a *api) getOrder(w http.ResponseWriter, r *http.Request) {
	o, err := a.orders.Order(r.Context(), idParam(r))
	a.orderResponse(w, r, http.StatusOK, o, err)
}

type cancelOrderRequest struct {
	Reason string `json:"reason"`
}

// decodeOptionalJSON is decodeJSON for actions whose body may be left out entirely.
func decodeOptionalJSON(r *http.Request, dst any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return decodeJSON(r, dst)
}

func (a *api) cancelOrder(w http.ResponseWriter, r *http.Request) {
	var req cancelOrderRequest
	if err := decodeOptionalJSON(r, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	o, err := a.orders.Cancel(r.Context(), idParam(r), req.Reason)
	a.orderResponse(w, r, http.StatusOK, o, err)
}

func (a *api) markOrderPaid(w http.ResponseWriter, r *http.Request) {
	o, err := a.orders.MarkPaid(r.Context(), idParam(r))
	a.orderResponse(w, r, http.StatusOK, o, err)
}

type refundRequest struct {
	Amount *int64 `json:"amount"`
	Reason string `json:"reason"`
}

func (a *api) refundOrder(w http.ResponseWriter, r *http.Request) {
	var req refundRequest
	if err := decodeOptionalJSON(r, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	o, err := a.orders.Refund(r.Context(), idParam(r), req.Amount, req.Reason)
	a.orderResponse(w, r, http.StatusCreated, o, err)
}

func (a *api) shipShipment(w http.ResponseWriter, r *http.Request) {
	var in orders.ShipInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	o, err := a.orders.Ship(r.Context(), idParam(r), in)
	a.orderResponse(w, r, http.StatusOK, o, err)
}

func (a *api) deliverShipment(w http.ResponseWriter, r *http.Request) {
	o, err := a.orders.Deliver(r.Context(), idParam(r))
	a.orderResponse(w, r, http.StatusOK, o, err)
}

// illegalTransition is when order and shipment actions answer 409.
const illegalTransition = "The order or shipment is not in a state that allows this (invalid_state_transition)."

// orderRoutes are the order and shipment endpoints. Storefronts may place orders and
// nothing else here.
func (a *api) orderRoutes() []route {
	id := "/api/v1/orders/{id}"
	filters := []param{
		{Name: "status", Description: "open, closed or cancelled.", Schema: enum("open", "closed", "cancelled")},
		{Name: "financial_status", Description: "pending, paid, partially_refunded, refunded or voided.",
			Schema: enum("pending", "paid", "partially_refunded", "refunded", "voided")},
		{Name: "fulfillment_status", Description: "unfulfilled, partial or fulfilled.", Schema: enum("unfulfilled", "partial", "fulfilled")},
		{Name: "created_after", Description: "Orders placed after this RFC 3339 time.", Schema: dateTime},
		{Name: "email", Description: "The customer's email address (case-insensitive)."},
	}
	return []route{
		{"POST", "/api/v1/orders", storefront, a.placeOrder, operation{
			ID: "placeOrder", Tag: "Orders", Summary: "Place an order: prices come from the catalog, stock is reserved across warehouses for every line or none, " +
				"and the order is split into one shipment per warehouse (publishable keys allowed).",
			Request: "OrderCreate", Response: "Order", Status: http.StatusCreated, Idempotent: true,
			Conflict: "Not enough stock (insufficient_inventory); errors name each short SKU with what is available."}},
		{"GET", "/api/v1/orders", private, a.listOrders, operation{
			ID: "listOrders", Tag: "Orders", Summary: "The merchant's orders in placement order.", Response: "OrderList", Paged: true, Params: filters}},
		{"GET", id, private, a.getOrder, operation{
			ID: "getOrder", Tag: "Orders", Summary: "An order with its lines, shipments and payment.", Response: "Order"}},
		{"POST", id + "/cancel", private, a.cancelOrder, operation{
			ID: "cancelOrder", Tag: "Orders", Summary: "Cancel an open order: unshipped shipments are cancelled and their stock released; an unpaid payment is voided.",
			Request: "OrderCancel", OptionalBody: true, Response: "Order", Conflict: illegalTransition}},
		{"POST", id + "/mark-paid", private, a.markOrderPaid, operation{
			ID: "markOrderPaid", Tag: "Orders", Summary: "Record the manual payment of an open, pending order; its stock stays reserved until it ships.",
			Response: "Order", Conflict: illegalTransition}},
		{"POST", id + "/refunds", private, a.refundOrder, operation{
			ID: "refundOrder", Tag: "Orders", Summary: "Refund a paid order, of amount (default: all that is paid and not refunded or being refunded). " +
				"A manual payment's refund is recorded at once; a Stripe payment's is sent to Stripe and listed in refunds as pending until Stripe " +
				"confirms it. When Stripe cannot be reached or fails, the refund may have gone through: it is answered listed as pending, its amount " +
				"held so no retry can refund it twice, and a background job asks Stripe again under the same idempotency key until it succeeds or " +
				"fails. financial_status becomes partially_refunded or refunded once the refund succeeded.",
			Request: "RefundCreate", OptionalBody: true, Response: "Order", Status: http.StatusCreated, Idempotent: true,
			Conflict: illegalTransition + " Stripe refused the refund, e.g. already refunded (conflict); the refund is listed as failed."}},
		{"POST", "/api/v1/shipments/{id}/ship", private, a.shipShipment, operation{
			ID: "shipShipment", Tag: "Orders", Summary: "Ship a pending shipment of a paid order: its stock leaves on_hand and reserved; the order's fulfillment_status follows.",
			Request: "ShipmentShip", Response: "Order", Conflict: illegalTransition}},
		{"POST", "/api/v1/shipments/{id}/deliver", private, a.deliverShipment, operation{
			ID: "deliverShipment", Tag: "Orders", Summary: "Mark a shipped shipment delivered; once every shipment is delivered the order closes.",
			Response: "Order", Conflict: illegalTransition}},
	}
}
