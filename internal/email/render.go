package email

import (
	"bytes"
	"context"
	"embed"
	htmltemplate "html/template"
	"net/url"
	"strconv"
	"strings"
	texttemplate "text/template"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/emailmessage"
	"github.com/mercantile/mercantile/ent/orderlineitem"
	"github.com/mercantile/mercantile/ent/refund"
	"github.com/mercantile/mercantile/ent/shipmentlineitem"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/postal"
)

// Data is what an email's templates are rendered from. It is also sent to SendGrid as a
// dynamic template's dynamic_template_data, so its JSON names are part of the contract
// with the templates merchants keep there. Amounts are formatted in the order's currency.
type Data struct {
	Kind emailmessage.Kind `json:"kind"`
	// Subject is the rendered subject line, for dynamic templates to show.
	Subject      string        `json:"subject"`
	MerchantName string        `json:"merchant_name"`
	Order        OrderData     `json:"order"`
	Shipment     *ShipmentData `json:"shipment,omitempty"`
	Refund       *RefundData   `json:"refund,omitempty"`
}

// OrderData is the order as the customer sees it.
type OrderData struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	Email           string     `json:"email"`
	Currency        string     `json:"currency"`
	Lines           []LineData `json:"lines"`
	Subtotal        string     `json:"subtotal"`
	Shipping        string     `json:"shipping"`
	Tax             string     `json:"tax"`
	Total           string     `json:"total"`
	ShippingAddress []string   `json:"shipping_address"`
	CancelReason    string     `json:"cancel_reason,omitempty"`
}

// LineData is one order line.
type LineData struct {
	SKU       string `json:"sku"`
	Title     string `json:"title"`
	Quantity  int    `json:"quantity"`
	UnitPrice string `json:"unit_price"`
	Total     string `json:"total"`
}

// ShipmentData is the shipment a shipment_sent email announces.
type ShipmentData struct {
	Carrier        string         `json:"carrier"`
	TrackingNumber string         `json:"tracking_number"`
	TrackingURL    string         `json:"tracking_url"`
	Lines          []ShipmentLine `json:"lines"`
}

// ShipmentLine is what one shipment line holds.
type ShipmentLine struct {
	SKU      string `json:"sku"`
	Title    string `json:"title"`
	Quantity int    `json:"quantity"`
}

// RefundData is the refund a refund_issued email announces.
type RefundData struct {
	Amount        string `json:"amount"`
	Reason        string `json:"reason"`
	TotalRefunded string `json:"total_refunded"`
}

// load reads what the event's email shows, in the caller's transaction so it sees the
// transition's own writes.
func load(ctx context.Context, tx *ent.Client, e Event) (Data, error) {
	o := e.Order
	m, err := tx.Merchant.Get(ctx, o.MerchantID)
	if err != nil {
		return Data{}, apperr.From(err)
	}
	lines := o.Edges.LineItems
	if lines == nil {
		if lines, err = tx.OrderLineItem.Query().Where(orderlineitem.OrderID(o.ID)).Order(ent.Asc(orderlineitem.FieldID)).All(ctx); err != nil {
			return Data{}, apperr.From(err)
		}
	}
	d := Data{Kind: e.Kind, MerchantName: m.Name, Order: OrderData{
		ID: o.ID.String(), Name: orderName(o), Email: o.Email, Currency: o.Currency,
		Lines:    make([]LineData, 0, len(lines)),
		Subtotal: formatMoney(o.Subtotal, o.Currency), Shipping: formatMoney(o.ShippingTotal, o.Currency),
		Tax: formatMoney(o.TaxTotal, o.Currency), Total: formatMoney(o.Total, o.Currency),
		ShippingAddress: addressLines(o.ShippingAddress),
	}}
	titles := map[string]string{}
	for _, li := range lines {
		title := li.Title
		if li.VariantTitle != "" && li.VariantTitle != "Default Title" {
			title += " (" + li.VariantTitle + ")"
		}
		titles[li.ID.String()] = title
		d.Order.Lines = append(d.Order.Lines, LineData{SKU: li.Sku, Title: title, Quantity: li.Quantity,
			UnitPrice: formatMoney(li.UnitPrice, o.Currency), Total: formatMoney(li.Total, o.Currency)})
	}
	switch e.Kind {
	case emailmessage.KindOrderCancelled:
		d.Order.CancelReason = o.CancelReason
	case emailmessage.KindShipmentSent:
		shp := e.Shipment
		shipLines := shp.Edges.LineItems
		if shipLines == nil {
			if shipLines, err = tx.ShipmentLineItem.Query().Where(shipmentlineitem.ShipmentID(shp.ID)).Order(ent.Asc(shipmentlineitem.FieldID)).All(ctx); err != nil {
				return Data{}, apperr.From(err)
			}
		}
		d.Shipment = &ShipmentData{Carrier: shp.Carrier, TrackingNumber: shp.TrackingNumber,
			TrackingURL: trackingURL(shp.Carrier, shp.TrackingNumber, shp.TrackingURL), Lines: make([]ShipmentLine, 0, len(shipLines))}
		for _, li := range shipLines {
			title := titles[li.OrderLineItemID.String()]
			if title == "" {
				title = li.Sku
			}
			d.Shipment.Lines = append(d.Shipment.Lines, ShipmentLine{SKU: li.Sku, Title: title, Quantity: li.Quantity})
		}
	case emailmessage.KindRefundIssued:
		// Summed from the refunds rather than read off the order, which callers may hold
		// from before this refund counted.
		refunds, err := tx.Refund.Query().Where(refund.OrderID(o.ID), refund.StatusEQ(refund.StatusSucceeded)).All(ctx)
		if err != nil {
			return Data{}, apperr.From(err)
		}
		var sum int64
		for _, r := range refunds {
			sum += r.Amount
		}
		d.Refund = &RefundData{Amount: formatMoney(e.Refund.Amount, e.Refund.Currency), Reason: e.Refund.Reason,
			TotalRefunded: formatMoney(max(o.AmountRefunded, sum), o.Currency)}
	}
	return d, nil
}

// orderName is the order's display name; an order being placed may not have it yet.
func orderName(o *ent.Order) string {
	if o.Name != "" {
		return o.Name
	}
	return "#" + strconv.FormatInt(o.Number, 10)
}

func addressLines(a postal.Address) []string {
	var out []string
	for _, l := range []string{a.Name, a.Company, a.Line1, a.Line2,
		strings.TrimSpace(strings.Join(nonEmpty(a.PostalCode, a.City), " ") + " " + a.Region), a.Country} {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func nonEmpty(values ...string) []string {
	var out []string
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// minorUnitDigits lists the ISO 4217 currencies whose minor unit is not a hundredth.
var minorUnitDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// formatMoney writes an amount of minor units as "1,234.56 USD": exact integer
// arithmetic, and the code rather than a symbol, which is ambiguous ($) across
// currencies.
func formatMoney(minor int64, currency string) string {
	digits, ok := minorUnitDigits[currency]
	if !ok {
		digits = 2
	}
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	s := strconv.FormatInt(minor, 10)
	if len(s) <= digits {
		s = strings.Repeat("0", digits-len(s)+1) + s
	}
	whole, frac := s[:len(s)-digits], s[len(s)-digits:]
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if digits > 0 {
		b.WriteString("." + frac)
	}
	return sign + b.String() + " " + currency
}

// carrierTracking are the public tracking pages of carriers merchants commonly name;
// the number is appended, query-escaped.
var carrierTracking = map[string]string{
	"ups":   "https://www.ups.com/track?tracknum=",
	"usps":  "https://tools.usps.com/go/TrackConfirmAction?tLabels=",
	"fedex": "https://www.fedex.com/fedextrack/?trknbr=",
	"dhl":   "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=",
}

// trackingURL is the shipment's own tracking URL, else the carrier's page for the number
// when the carrier is one we know, else "".
func trackingURL(carrier, number, own string) string {
	if own != "" {
		return own
	}
	base, ok := carrierTracking[strings.ToLower(strings.TrimSpace(carrier))]
	if !ok || number == "" {
		return ""
	}
	return base + url.QueryEscape(number)
}

//go:embed templates
var templateFS embed.FS

// rendered is an email ready for the outbox.
type rendered struct{ subject, html, text string }

// subjects are text templates of each kind's subject line.
var subjects = map[emailmessage.Kind]string{
	emailmessage.KindOrderConfirmation: "Order {{.Order.Name}} confirmed",
	emailmessage.KindPaymentFailed:     "Payment for order {{.Order.Name}} failed",
	emailmessage.KindShipmentSent:      "Order {{.Order.Name}} has shipped",
	emailmessage.KindOrderCancelled:    "Order {{.Order.Name}} was cancelled",
	emailmessage.KindRefundIssued:      "Refund of {{.Refund.Amount}} for order {{.Order.Name}}",
}

// The templates: per kind, templates/<kind>.html and .txt, each defining "body" inside
// the shared layout (layout.html, layout.txt) with its order summary.
var (
	htmlTemplates    = map[emailmessage.Kind]*htmltemplate.Template{}
	textTemplates    = map[emailmessage.Kind]*texttemplate.Template{}
	subjectTemplates = map[emailmessage.Kind]*texttemplate.Template{}
)

func init() {
	for kind, subject := range subjects {
		name := string(kind)
		htmlTemplates[kind] = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
		textTemplates[kind] = texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/layout.txt", "templates/"+name+".txt"))
		subjectTemplates[kind] = texttemplate.Must(texttemplate.New(name).Parse(subject))
	}
}

// render renders d's subject (into d.Subject, which the bodies show) and bodies.
func render(d *Data) (rendered, error) {
	var subject, html, text bytes.Buffer
	if err := subjectTemplates[d.Kind].Execute(&subject, d); err != nil {
		return rendered{}, err
	}
	d.Subject = d.MerchantName + ": " + subject.String()
	if err := htmlTemplates[d.Kind].ExecuteTemplate(&html, "layout.html", d); err != nil {
		return rendered{}, err
	}
	if err := textTemplates[d.Kind].ExecuteTemplate(&text, "layout.txt", d); err != nil {
		return rendered{}, err
	}
	return rendered{subject: d.Subject, html: html.String(), text: text.String()}, nil
}
