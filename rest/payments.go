package rest

import (
	"io"
	"net/http"

	"github.com/mercantile/mercantile/internal/apperr"
)

// stripeSignatureHeader carries Stripe's signature of a webhook delivery.
const stripeSignatureHeader = "Stripe-Signature"

// webhookReceipt acknowledges a webhook delivery; Stripe reads only the status.
type webhookReceipt struct {
	Received bool   `json:"received"`
	Outcome  string `json:"outcome"`
}

func (a *api) ensurePaymentIntent(w http.ResponseWriter, r *http.Request) {
	o, err := a.orders.EnsurePaymentIntent(r.Context(), idParam(r))
	a.orderResponse(w, r, http.StatusOK, o, err)
}

// stripeWebhook reads the raw body, which the signature covers byte for byte, before
// anything decodes it. The router bounds it by MAX_BODY_BYTES.
func (a *api) stripeWebhook(w http.ResponseWriter, r *http.Request) {
	if a.stripe == nil {
		writeError(w, r, a.log, apperr.New(apperr.Unavailable, "Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET)."))
		return
	}
	payload, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, r, a.log, decodeError(err))
		return
	}
	outcome, err := a.stripe.Handle(r.Context(), payload, r.Header.Get(stripeSignatureHeader))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, webhookReceipt{Received: true, Outcome: string(outcome)})
}

// paymentRoutes are Stripe's: the intent an order is paid through, and Stripe's events.
func (a *api) paymentRoutes() []route {
	return []route{
		// Storefront keys too: the SPA that placed the order is the one paying it, and the
		// order id it was given is the only way to name the order. Only open, unpaid
		// Stripe orders answer, so nothing else can be read this way.
		{"POST", "/api/v1/orders/{id}/payment-intent", storefront, a.ensurePaymentIntent, operation{
			ID: "ensureOrderPaymentIntent", Tag: "Orders", Summary: "Make sure an open, unpaid Stripe order has its PaymentIntent and return the order with " +
				"payment.client_secret: placement answers without one when Stripe could not be reached. Safe to repeat: the intent is created once " +
				"(its Stripe idempotency key is derived from the order), later calls return it (publishable keys allowed).",
			Response: "Order", Conflict: "The order is not paid through Stripe, is paid already, or is cancelled (invalid_state_transition).",
			BadGateway: "Stripe could not be reached or refused the server's key (unavailable); retry later."}},
		{"POST", "/webhooks/stripe", public, a.stripeWebhook, operation{
			ID: "stripeWebhook", Tag: "Webhooks", Summary: "Receive a Stripe event, verified by its Stripe-Signature (300 s tolerance). Each event " +
				"applies once, in any order: payment_intent.succeeded / payment_failed / canceled, charge.refunded, refund.* and " +
				"charge.refund.updated. Other types, and events for unknown orders, are acknowledged and ignored.",
			Request: "StripeEvent", Response: "WebhookReceipt",
			BadRequest: "The Stripe-Signature is missing, does not match the raw body, or is older than 300 s, or the body is not an event (invalid); nothing is applied."}},
	}
}
