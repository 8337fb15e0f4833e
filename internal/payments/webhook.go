package payments

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/orders"
	"github.com/mercantile/mercantile/internal/pulid"
)

// Tolerance is how old a Stripe-Signature may be (Stripe's own default): a captured
// delivery cannot be replayed later.
const Tolerance = 300 * time.Second

// Webhooks verifies Stripe's events and applies them through the orders service.
type Webhooks struct {
	secret string
	orders *orders.Service
	now    func() time.Time
}

// NewWebhooks returns the receiver of events signed with the endpoint secret (whsec_...).
// An empty secret refuses every event.
func NewWebhooks(secret string, svc *orders.Service) *Webhooks {
	return &Webhooks{secret: secret, orders: svc, now: time.Now}
}

// SetClock replaces the clock the signature's age is measured with (tests).
func (w *Webhooks) SetClock(now func() time.Time) { w.now = now }

// Handle verifies an event delivery and applies it. Deliveries may repeat and come in any
// order; each event applies once.
// Errors: invalid (400: missing, wrong or stale signature, not an event), unavailable
// (no webhook secret configured), internal (Stripe delivers again later).
func (w *Webhooks) Handle(ctx context.Context, payload []byte, signature string) (orders.EventOutcome, error) {
	e, err := w.Verify(payload, signature)
	if err != nil {
		return "", err
	}
	ev, err := toPaymentEvent(e, payload)
	if err != nil {
		return "", err
	}
	return w.orders.ApplyPaymentEvent(ctx, ev)
}

// Verify checks the Stripe-Signature header against the raw payload with stripe-go, and
// that the signature is at most Tolerance old by this receiver's clock. Events of any API
// version are accepted: only the few fields toPaymentEvent reads matter, and they are
// the same in all of them.
// Errors: invalid (400), unavailable (no secret).
func (w *Webhooks) Verify(payload []byte, signature string) (stripe.Event, error) {
	if w.secret == "" {
		return stripe.Event{}, apperr.New(apperr.Unavailable, "Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET).")
	}
	e, err := webhook.ConstructEventWithOptions(payload, signature, w.secret, webhook.ConstructEventOptions{
		// stripe-go measures age with the wall clock; the age is checked below instead.
		IgnoreTolerance:          true,
		IgnoreAPIVersionMismatch: true,
	})
	switch {
	case errors.Is(err, webhook.ErrNotSigned):
		return stripe.Event{}, apperr.Malformed("The Stripe-Signature header is missing.")
	case errors.Is(err, webhook.ErrInvalidHeader) || errors.Is(err, webhook.ErrNoValidSignature):
		return stripe.Event{}, apperr.Malformed("The Stripe-Signature does not match the body.")
	case err != nil:
		return stripe.Event{}, apperr.Malformed("The body is not a Stripe event.")
	}
	signed, ok := signedAt(signature)
	if !ok || w.now().Sub(signed) > Tolerance {
		return stripe.Event{}, apperr.Malformed("The Stripe-Signature is older than %d seconds.", int(Tolerance.Seconds()))
	}
	if e.ID == "" || e.Type == "" || e.Data == nil {
		return stripe.Event{}, apperr.Malformed("The body is not a Stripe event.")
	}
	return e, nil
}

// signedAt reads the t= timestamp of a Stripe-Signature header.
func signedAt(header string) (time.Time, bool) {
	for _, part := range strings.Split(header, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
			t, err := strconv.ParseInt(v, 10, 64)
			return time.Unix(t, 0), err == nil
		}
	}
	return time.Time{}, false
}

// toPaymentEvent reduces a Stripe event to what orders act on. Types orders do not act
// on keep an empty Kind, and still carry their metadata so they are recorded.
func toPaymentEvent(e stripe.Event, payload []byte) (orders.PaymentEvent, error) {
	ev := orders.PaymentEvent{ID: e.ID, Type: string(e.Type), Created: time.Unix(e.Created, 0).UTC(), Payload: payload}
	if md, ok := e.Data.Object["metadata"].(map[string]any); ok {
		str := func(k string) pulid.ID { s, _ := md[k].(string); return pulid.ID(s) }
		ev.MerchantID, ev.OrderID, ev.RefundID = str(MetadataMerchantID), str(MetadataOrderID), str(MetadataRefundID)
	}
	var err error
	switch e.Type {
	case "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled":
		var pi stripe.PaymentIntent
		if err = json.Unmarshal(e.Data.Raw, &pi); err != nil {
			break
		}
		ev.Kind = map[stripe.EventType]orders.PaymentEventKind{
			"payment_intent.succeeded": orders.PaymentSucceeded, "payment_intent.payment_failed": orders.PaymentFailed,
			"payment_intent.canceled": orders.PaymentCanceled,
		}[e.Type]
		ev.IntentID, ev.Amount, ev.Currency = pi.ID, pi.Amount, string(pi.Currency)
		if pe := pi.LastPaymentError; pe != nil {
			ev.FailureMessage = pe.Msg
			if ev.FailureMessage == "" {
				ev.FailureMessage = string(pe.Code)
			}
		}
	case "charge.refunded":
		var ch stripe.Charge
		if err = json.Unmarshal(e.Data.Raw, &ch); err != nil {
			break
		}
		ev.Kind, ev.AmountRefunded = orders.ChargeRefunded, ch.AmountRefunded
		if ch.PaymentIntent != nil {
			ev.IntentID = ch.PaymentIntent.ID
		}
	case "refund.created", "refund.updated", "refund.failed", "charge.refund.updated":
		var r stripe.Refund
		if err = json.Unmarshal(e.Data.Raw, &r); err != nil {
			break
		}
		ev.Kind, ev.RefundAmount = orders.RefundChanged, r.Amount
		ev.Refund = &orders.RefundResult{ID: r.ID, Status: string(r.Status), FailureReason: string(r.FailureReason)}
		if r.PaymentIntent != nil {
			ev.IntentID = r.PaymentIntent.ID
		}
	}
	if err != nil {
		return orders.PaymentEvent{}, apperr.Malformed("The object of the %s event cannot be read.", e.Type)
	}
	return ev, nil
}
