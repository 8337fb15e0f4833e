package rest

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mercantile/mercantile/ent/emailmessage"
	"github.com/mercantile/mercantile/ent/order"
	"github.com/mercantile/mercantile/ent/payment"
	"github.com/mercantile/mercantile/ent/refund"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/jobs"
	"github.com/mercantile/mercantile/internal/payments"
	"github.com/mercantile/mercantile/internal/payments/stripetest"
	"github.com/mercantile/mercantile/internal/pulid"
)

const testWebhookSecret = "whsec_rest_test"

// newStripeHarness is newHarness with orders paid through Stripe at apiURL and
// /webhooks/stripe verifying testWebhookSecret.
func newStripeHarness(t *testing.T, apiURL string) *harness {
	t.Helper()
	h := newHarness(t)
	h.deps.Orders.UsePayments(payments.NewClient(payments.Config{SecretKey: stripetest.SecretKey, APIURL: apiURL}), slog.New(slog.DiscardHandler))
	deps := h.deps
	deps.Stripe = payments.NewWebhooks(testWebhookSecret, deps.Orders)
	deps.Registry = prometheus.NewRegistry()
	srv := httptest.NewServer(NewRouter(deps))
	t.Cleanup(srv.Close)
	h.server = srv
	return h
}

// stripeOrder is an order as REST shows it, with the payment's client secret and refunds.
type stripeOrder struct {
	orderOut
	Payment struct {
		Provider     string  `json:"provider"`
		Status       string  `json:"status"`
		ClientSecret *string `json:"client_secret"`
	} `json:"payment"`
	Refunds []struct {
		ID             string `json:"id"`
		Amount         int64  `json:"amount"`
		Status         string `json:"status"`
		FailureMessage string `json:"failure_message"`
	} `json:"refunds"`
}

func (s shop) stripeOrder(id string) stripeOrder {
	s.t.Helper()
	var o stripeOrder
	s.secret("GET", "/api/v1/orders/"+id, nil).decode(s.t, http.StatusOK, &o)
	return o
}

// intentOf reads the order's PaymentIntent id, which REST does not show.
func (s shop) intentOf(id string) string {
	s.t.Helper()
	p := s.h.client.Payment.Query().Where(payment.OrderID(pulid.ID(id))).OnlyX(viewer.MerchantSystemContext(context.Background(), s.Merchant.ID))
	if p.StripePaymentIntentID == nil {
		s.t.Fatalf("order %s's payment %+v has no intent", id, p)
	}
	return *p.StripePaymentIntentID
}

// webhook delivers a Stripe event signed with secret.
func (s shop) webhook(secret, id, typ string, object map[string]any) reply {
	s.t.Helper()
	payload := stripetest.Event(id, typ, time.Now(), object)
	return s.h.do(request{method: "POST", path: "/webhooks/stripe", body: string(payload),
		header: map[string]string{"Stripe-Signature": stripetest.Sign(payload, secret, time.Now())}})
}

// paid delivers payment_intent.succeeded for the order.
func (s shop) paid(o stripeOrder) {
	s.t.Helper()
	r := s.webhook(testWebhookSecret, "evt_paid_"+o.ID, "payment_intent.succeeded", map[string]any{
		"id": s.intentOf(o.ID), "object": "payment_intent", "amount": o.Total, "currency": "usd", "status": "succeeded",
		"metadata": map[string]any{"merchant_id": s.Merchant.ID.String(), "order_id": o.ID},
	})
	if r.status != http.StatusOK || r.json(s.t)["outcome"] != "processed" {
		s.t.Fatalf("payment_intent.succeeded: %d %s", r.status, r.body)
	}
}

func TestStripePlacement(t *testing.T) {
	t.Parallel()
	mock := stripetest.Start(t)
	h := newStripeHarness(t, mock.URL)
	s := newShop(t, h, "stripe-place")
	s.setStock("TEE-S", "W1", 5)

	placed := s.storefront("POST", "/api/v1/orders", orderBody("TEE-S", 2))
	var o stripeOrder
	placed.decode(t, http.StatusCreated, &o)
	if o.Payment.Provider != "stripe" || o.Payment.Status != "pending" || o.Payment.ClientSecret == nil || !strings.Contains(*o.Payment.ClientSecret, "_secret_") {
		t.Fatalf("payment %+v", o.Payment)
	}
	var doc any
	json.Unmarshal(placed.body, &doc)
	if problems := conform(doc, schemas["Order"], "$"); len(problems) > 0 {
		t.Fatalf("placed order does not match its schema: %v", problems)
	}
	reqs := mock.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests to Stripe, want 1", len(reqs))
	}
	form := reqs[0].Form
	if reqs[0].Path != "/v1/payment_intents" || reqs[0].IdempotencyKey != "order-"+o.ID+"-intent" || form.Get("amount") != strconv.FormatInt(o.Total, 10) ||
		form.Get("currency") != "usd" || form.Get("metadata[order_id]") != o.ID || form.Get("metadata[merchant_id]") != s.Merchant.ID.String() ||
		form.Get("metadata[order_number]") != strconv.FormatInt(o.Number, 10) || form.Get("automatic_payment_methods[enabled]") != "true" {
		t.Fatalf("PaymentIntent request %+v", reqs[0])
	}

	t.Run("the intent is made once", func(t *testing.T) {
		var again stripeOrder
		s.storefront("POST", "/api/v1/orders/"+o.ID+"/payment-intent", nil).decode(t, http.StatusOK, &again)
		if again.Payment.ClientSecret == nil || *again.Payment.ClientSecret != *o.Payment.ClientSecret || len(mock.Requests()) != 1 {
			t.Fatalf("payment %+v after %d requests", again.Payment, len(mock.Requests()))
		}
	})
	t.Run("paid through the webhook", func(t *testing.T) {
		s.paid(o)
		got := s.stripeOrder(o.ID)
		if got.FinancialStatus != "paid" || got.Payment.Status != "succeeded" || got.Payment.ClientSecret != nil {
			t.Fatalf("order %s, payment %+v", got.FinancialStatus, got.Payment)
		}
		s.storefront("POST", "/api/v1/orders/"+o.ID+"/payment-intent", nil).expectProblem(t, http.StatusConflict, "invalid_state_transition")
		s.secret("POST", "/api/v1/orders/"+o.ID+"/mark-paid", nil).expectProblem(t, http.StatusConflict, "invalid_state_transition")
	})
}

func TestStripeUnreachableAtPlacement(t *testing.T) {
	t.Parallel()
	h := newStripeHarness(t, stripetest.ClosedURL(t))
	s := newShop(t, h, "stripe-down")
	s.setStock("TEE-S", "W1", 5)

	first := s.h.do(request{method: "POST", path: "/api/v1/orders", key: s.PublishableKey, body: orderBody("TEE-S", 2),
		header: map[string]string{"Idempotency-Key": "checkout-1"}})
	var o stripeOrder
	first.decode(t, http.StatusCreated, &o)
	if o.Status != "open" || o.FinancialStatus != "pending" || o.Payment.Provider != "stripe" || o.Payment.Status != "pending" || o.Payment.ClientSecret != nil {
		t.Fatalf("order %s/%s payment %+v", o.Status, o.FinancialStatus, o.Payment)
	}
	s.expectStock("TEE-S", 5, 2)

	retry := s.h.do(request{method: "POST", path: "/api/v1/orders", key: s.PublishableKey, body: orderBody("TEE-S", 2),
		header: map[string]string{"Idempotency-Key": "checkout-1"}})
	var again stripeOrder
	retry.decode(t, http.StatusCreated, &again)
	if again.ID != o.ID || retry.header.Get(replayedHeader) != "true" {
		t.Fatalf("the retried placement is order %s (replayed %q), want %s", again.ID, retry.header.Get(replayedHeader), o.ID)
	}
	if n := h.client.Order.Query().CountX(viewer.SystemContext(context.Background())); n != 1 {
		t.Fatalf("%d orders after a retried placement", n)
	}
	s.expectStock("TEE-S", 5, 2)
	s.storefront("POST", "/api/v1/orders/"+o.ID+"/payment-intent", nil).expectProblem(t, http.StatusBadGateway, "unavailable")

	t.Run("the retry endpoint creates exactly one intent", func(t *testing.T) {
		mock := stripetest.Start(t)
		h.deps.Orders.UsePayments(payments.NewClient(payments.Config{SecretKey: stripetest.SecretKey, APIURL: mock.URL}), slog.New(slog.DiscardHandler))
		// Stripe failing again: stripe-go retries twice, all with the order's key.
		mock.FailNext(3)
		s.storefront("POST", "/api/v1/orders/"+o.ID+"/payment-intent", nil).expectProblem(t, http.StatusBadGateway, "unavailable")
		var paying stripeOrder
		s.storefront("POST", "/api/v1/orders/"+o.ID+"/payment-intent", nil).decode(t, http.StatusOK, &paying)
		if paying.Payment.ClientSecret == nil || paying.FinancialStatus != "pending" {
			t.Fatalf("payment %+v", paying.Payment)
		}
		s.storefront("POST", "/api/v1/orders/"+o.ID+"/payment-intent", nil).decode(t, http.StatusOK, &paying)
		reqs := mock.Requests()
		if len(reqs) != 4 {
			t.Fatalf("%d requests to Stripe, want 3 failed attempts and 1 that created the intent: %+v", len(reqs), reqs)
		}
		for _, r := range reqs {
			if r.Path != "/v1/payment_intents" || r.IdempotencyKey != "order-"+o.ID+"-intent" {
				t.Fatalf("request %s with key %q, want the order's key", r.Path, r.IdempotencyKey)
			}
		}
	})
}

func TestStripeRefunds(t *testing.T) {
	t.Parallel()
	mock := stripetest.Start(t)
	h := newStripeHarness(t, mock.URL)
	s := newShop(t, h, "stripe-refunds")
	s.setStock("TEE-S", "W1", 5)
	var o stripeOrder
	s.storefront("POST", "/api/v1/orders", orderBody("TEE-S", 2)).decode(t, http.StatusCreated, &o)
	s.secret("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": 100}).expectProblem(t, http.StatusConflict, "invalid_state_transition")
	s.paid(o)
	refunds := func() int {
		return h.client.Refund.Query().CountX(viewer.MerchantSystemContext(context.Background(), s.Merchant.ID))
	}

	var partial stripeOrder
	s.secret("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": 500, "reason": "scuffed"}).decode(t, http.StatusCreated, &partial)
	if partial.FinancialStatus != "partially_refunded" || partial.AmountRefunded != 500 || len(partial.Refunds) != 1 || partial.Refunds[0].Status != "succeeded" {
		t.Fatalf("after a partial refund: %s %d %+v", partial.FinancialStatus, partial.AmountRefunded, partial.Refunds)
	}
	last := mock.Requests()[len(mock.Requests())-1]
	if last.Path != "/v1/refunds" || last.IdempotencyKey != "refund-"+partial.Refunds[0].ID || last.Form.Get("amount") != "500" ||
		last.Form.Get("payment_intent") != s.intentOf(o.ID) || last.Form.Get("metadata[refund_id]") != partial.Refunds[0].ID {
		t.Fatalf("refund request %+v", last)
	}

	t.Run("webhooks of the same refund count once", func(t *testing.T) {
		r := s.webhook(testWebhookSecret, "evt_refund_updated", "refund.updated", map[string]any{
			"id": "re_elsewhere", "object": "refund", "amount": 500, "currency": "usd", "status": "succeeded", "payment_intent": s.intentOf(o.ID),
			"metadata": map[string]any{"merchant_id": s.Merchant.ID.String(), "order_id": o.ID, "refund_id": partial.Refunds[0].ID},
		})
		if r.status != 200 || r.json(t)["outcome"] != "ignored" {
			t.Fatalf("refund.updated: %d %s", r.status, r.body)
		}
		r = s.webhook(testWebhookSecret, "evt_charge_refunded", "charge.refunded", map[string]any{
			"id": "ch_1", "object": "charge", "amount": o.Total, "amount_refunded": 500, "payment_intent": s.intentOf(o.ID), "metadata": map[string]any{},
		})
		if r.status != 200 || r.json(t)["outcome"] != "ignored" {
			t.Fatalf("charge.refunded: %d %s", r.status, r.body)
		}
		if got := s.stripeOrder(o.ID); got.AmountRefunded != 500 || got.FinancialStatus != "partially_refunded" {
			t.Fatalf("refunded %d (%s), want 500 counted once", got.AmountRefunded, got.FinancialStatus)
		}
	})
	t.Run("over-refunding writes nothing", func(t *testing.T) {
		sent := len(mock.Requests())
		p := s.secret("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": o.Total}).expectProblem(t, http.StatusUnprocessableEntity, "invalid")
		expectField(t, p, "amount")
		if refunds() != 1 || len(mock.Requests()) != sent {
			t.Fatalf("%d refunds and %d more requests to Stripe after a rejected refund", refunds(), len(mock.Requests())-sent)
		}
	})
	t.Run("Stripe refusing fails the refund and frees its amount", func(t *testing.T) {
		mock.ErrorNext(1, http.StatusBadRequest, "invalid_request_error", "charge_already_refunded")
		s.secret("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": o.Total - 500}).expectProblem(t, http.StatusConflict, "conflict")
		got := s.stripeOrder(o.ID)
		failed := got.Refunds[len(got.Refunds)-1]
		if failed.Status != "failed" || failed.FailureMessage == "" || got.AmountRefunded != 500 || got.FinancialStatus != "partially_refunded" {
			t.Fatalf("refunds %+v, refunded %d (%s)", got.Refunds, got.AmountRefunded, got.FinancialStatus)
		}
		// The failed refund holds nothing: all that is left can be asked for again (the
		// next subtest does, in part).
		sent := len(mock.Requests())
		s.secret("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": o.Total - 500 + 1}).expectProblem(t, http.StatusUnprocessableEntity, "invalid")
		if len(mock.Requests()) != sent {
			t.Fatal("an over-refund reached Stripe")
		}
	})
	t.Run("Stripe failing leaves the refund pending", func(t *testing.T) {
		mock.ErrorNext(1, http.StatusInternalServerError, "api_error", "")
		var got stripeOrder
		s.secret("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": 200}).decode(t, http.StatusCreated, &got)
		lost := got.Refunds[len(got.Refunds)-1]
		if lost.Status != "pending" || lost.Amount != 200 || got.AmountRefunded != 500 || got.FinancialStatus != "partially_refunded" {
			t.Fatalf("refunds %+v, refunded %d (%s)", got.Refunds, got.AmountRefunded, got.FinancialStatus)
		}
		// Stripe did refund it: its event settles it before the job comes.
		s.webhook(testWebhookSecret, "evt_late_refund", "refund.updated", map[string]any{
			"id": "re_late", "object": "refund", "amount": 200, "currency": "usd", "status": "succeeded", "payment_intent": s.intentOf(o.ID),
			"metadata": map[string]any{"merchant_id": s.Merchant.ID.String(), "order_id": o.ID, "refund_id": lost.ID},
		})
		if got := s.stripeOrder(o.ID); got.AmountRefunded != 700 {
			t.Fatalf("refunded %d after Stripe confirmed the lost refund, want 700", got.AmountRefunded)
		}
	})
	t.Run("refund the rest", func(t *testing.T) {
		var full stripeOrder
		s.secret("POST", "/api/v1/orders/"+o.ID+"/refunds", nil).decode(t, http.StatusCreated, &full)
		if full.FinancialStatus != "refunded" || full.AmountRefunded != o.Total {
			t.Fatalf("after refunding the rest: %s %d of %d", full.FinancialStatus, full.AmountRefunded, o.Total)
		}
		s.secret("POST", "/api/v1/orders/"+o.ID+"/refunds", nil).expectProblem(t, http.StatusConflict, "invalid_state_transition")
		succeeded := h.client.Refund.Query().Where(refund.StatusEQ(refund.StatusSucceeded)).
			CountX(viewer.MerchantSystemContext(context.Background(), s.Merchant.ID))
		emails := h.client.EmailMessage.Query().Where(emailmessage.KindEQ(emailmessage.KindRefundIssued)).
			CountX(viewer.MerchantSystemContext(context.Background(), s.Merchant.ID))
		if succeeded != 3 || emails != 3 {
			t.Fatalf("%d succeeded refunds and %d refund_issued emails, want 3 of each", succeeded, emails)
		}
	})
}

// startRefundJobs works the harness's refund jobs on a real River queue until the test
// ends.
func startRefundJobs(t *testing.T, h *harness) {
	t.Helper()
	q, err := jobs.New(h.db, slog.New(slog.DiscardHandler), jobs.Options{FetchPollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Register(q, h.deps.Orders.SubmitRefundWorker()); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := q.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
}

// TestStripeRefundOutcomeUnknown: a refund Stripe answered 500 for may exist at Stripe.
// It is answered pending and holds its amount, so no retry can refund it twice, until
// its job asks Stripe again under the same idempotency key (retrying while Stripe fails)
// and applies the answer.
func TestStripeRefundOutcomeUnknown(t *testing.T) {
	t.Parallel()
	mock := stripetest.Start(t)
	h := newStripeHarness(t, mock.URL)
	h.deps.Orders.SetRefundSubmitDelay(0)
	s := newShop(t, h, "stripe-refund-unknown")
	s.setStock("TEE-S", "W1", 5)
	var o stripeOrder
	s.storefront("POST", "/api/v1/orders", orderBody("TEE-S", 2)).decode(t, http.StatusCreated, &o)
	s.paid(o)

	// The refund call, then the job's first attempt.
	mock.ErrorNext(2, http.StatusInternalServerError, "api_error", "")
	var pending stripeOrder
	s.secret("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"reason": "never arrived"}).decode(t, http.StatusCreated, &pending)
	if pending.FinancialStatus != "paid" || pending.AmountRefunded != 0 || len(pending.Refunds) != 1 ||
		pending.Refunds[0].Status != "pending" || pending.Refunds[0].Amount != o.Total {
		t.Fatalf("after a 500: %s, refunded %d, refunds %+v", pending.FinancialStatus, pending.AmountRefunded, pending.Refunds)
	}
	refundID := pending.Refunds[0].ID

	sent := len(mock.Requests())
	p := s.secret("POST", "/api/v1/orders/"+o.ID+"/refunds", nil).expectProblem(t, http.StatusUnprocessableEntity, "invalid")
	expectField(t, p, "amount")
	s.secret("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": 1}).expectProblem(t, http.StatusUnprocessableEntity, "invalid")
	if got := s.stripeOrder(o.ID); len(mock.Requests()) != sent || len(got.Refunds) != 1 || got.FinancialStatus != "paid" {
		t.Fatalf("refusing to refund beyond the pending one sent %d requests to Stripe; refunds %+v (%s)",
			len(mock.Requests())-sent, got.Refunds, got.FinancialStatus)
	}

	startRefundJobs(t, h)
	deadline := time.Now().Add(30 * time.Second)
	got := s.stripeOrder(o.ID)
	for got.Refunds[0].Status == "pending" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		got = s.stripeOrder(o.ID)
	}
	// Read again: the order and its refunds are read one after the other, and the first
	// read may have straddled the job's commit.
	got = s.stripeOrder(o.ID)
	if got.FinancialStatus != "refunded" || got.AmountRefunded != o.Total || len(got.Refunds) != 1 || got.Refunds[0].Status != "succeeded" {
		t.Fatalf("after the job: %s, refunded %d, refunds %+v", got.FinancialStatus, got.AmountRefunded, got.Refunds)
	}
	var calls []stripetest.Request
	for _, r := range mock.Requests() {
		if r.Path == "/v1/refunds" {
			calls = append(calls, r)
		}
	}
	// Refund's call, the job's failed attempt and its retry.
	if len(calls) != 3 {
		t.Fatalf("%d refund calls, want 3: %+v", len(calls), calls)
	}
	for _, c := range calls {
		if c.IdempotencyKey != "refund-"+refundID || c.Form.Get("amount") != strconv.FormatInt(o.Total, 10) {
			t.Fatalf("refund call with key %q for %s, want key refund-%s for %d", c.IdempotencyKey, c.Form.Get("amount"), refundID, o.Total)
		}
	}
	succeeded := h.client.Refund.Query().Where(refund.StatusEQ(refund.StatusSucceeded)).
		CountX(viewer.MerchantSystemContext(context.Background(), s.Merchant.ID))
	if succeeded != 1 {
		t.Fatalf("%d succeeded refunds, want 1", succeeded)
	}
}

func TestStripeWebhookEndpoint(t *testing.T) {
	t.Parallel()
	mock := stripetest.Start(t)
	h := newStripeHarness(t, mock.URL)
	s := newShop(t, h, "stripe-hooks")
	s.setStock("TEE-S", "W1", 5)
	var o stripeOrder
	s.storefront("POST", "/api/v1/orders", orderBody("TEE-S", 1)).decode(t, http.StatusCreated, &o)
	succeeded := map[string]any{"id": s.intentOf(o.ID), "object": "payment_intent", "amount": o.Total, "currency": "usd", "status": "succeeded",
		"metadata": map[string]any{"merchant_id": s.Merchant.ID.String(), "order_id": o.ID}}

	s.webhook("whsec_forged", "evt_1", "payment_intent.succeeded", succeeded).expectProblem(t, http.StatusBadRequest, "invalid")
	payload := stripetest.Event("evt_1", "payment_intent.succeeded", time.Now(), succeeded)
	h.do(request{method: "POST", path: "/webhooks/stripe", body: string(payload)}).expectProblem(t, http.StatusBadRequest, "invalid")
	stale := time.Now().Add(-301 * time.Second)
	h.do(request{method: "POST", path: "/webhooks/stripe", body: string(payload),
		header: map[string]string{"Stripe-Signature": stripetest.Sign(payload, testWebhookSecret, stale)}}).expectProblem(t, http.StatusBadRequest, "invalid")
	if got := s.stripeOrder(o.ID); got.FinancialStatus != "pending" || h.client.WebhookEvent.Query().CountX(viewer.SystemContext(context.Background())) != 0 {
		t.Fatalf("rejected deliveries changed the order (%s) or were recorded", got.FinancialStatus)
	}

	for i, want := range []string{"processed", "duplicate", "duplicate"} {
		r := s.webhook(testWebhookSecret, "evt_1", "payment_intent.succeeded", succeeded)
		var receipt webhookReceipt
		r.decode(t, http.StatusOK, &receipt)
		if !receipt.Received || receipt.Outcome != want {
			t.Fatalf("delivery %d: %+v, want %s", i+1, receipt, want)
		}
	}
	if got := s.stripeOrder(o.ID); got.FinancialStatus != string(order.FinancialStatusPaid) {
		t.Fatalf("order %s after payment_intent.succeeded", got.FinancialStatus)
	}
	r := s.webhook(testWebhookSecret, "evt_2", "invoice.paid", map[string]any{"id": "in_1", "object": "invoice", "metadata": map[string]any{}})
	if r.status != 200 || r.json(t)["outcome"] != "unrouted" {
		t.Fatalf("unknown event: %d %s", r.status, r.body)
	}

	t.Run("unconfigured", func(t *testing.T) {
		plain := newHarness(t)
		plain.do(request{method: "POST", path: "/webhooks/stripe", body: string(payload),
			header: map[string]string{"Stripe-Signature": stripetest.Sign(payload, testWebhookSecret, time.Now())}}).
			expectProblem(t, http.StatusServiceUnavailable, "unavailable")
	})
}

func TestManualRefundsStillWork(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := newShop(t, h, "manual-refunds")
	s.setStock("TEE-S", "W1", 5)
	var o stripeOrder
	s.storefront("POST", "/api/v1/orders", orderBody("TEE-S", 1)).decode(t, http.StatusCreated, &o)
	if o.Payment.Provider != "manual" || o.Payment.ClientSecret != nil {
		t.Fatalf("payment %+v without Stripe", o.Payment)
	}
	s.storefront("POST", "/api/v1/orders/"+o.ID+"/payment-intent", nil).expectProblem(t, http.StatusConflict, "invalid_state_transition")
	s.act("/api/v1/orders/"+o.ID+"/mark-paid", nil, http.StatusOK)
	var refunded stripeOrder
	s.secret("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": 100}).decode(t, http.StatusCreated, &refunded)
	if refunded.FinancialStatus != "partially_refunded" || refunded.AmountRefunded != 100 || len(refunded.Refunds) != 1 || refunded.Refunds[0].Status != "succeeded" {
		t.Fatalf("manual refund: %s %d %+v", refunded.FinancialStatus, refunded.AmountRefunded, refunded.Refunds)
	}
	if pulid.ID(refunded.Refunds[0].ID).Prefix() != "ref" {
		t.Fatalf("refund id %q", refunded.Refunds[0].ID)
	}
}

// gqlPaidOrder is an order as GraphQL shows it with its payment's client secret.
type gqlPaidOrder struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	FinancialStatus string `json:"financialStatus"`
	Payments        []struct {
		ID           string  `json:"id"`
		Provider     string  `json:"provider"`
		Status       string  `json:"status"`
		ClientSecret *string `json:"clientSecret"`
	} `json:"payments"`
}

// secret is the order's one payment's client secret, "" for null.
func (o gqlPaidOrder) secret(t *testing.T) string {
	t.Helper()
	if len(o.Payments) != 1 || o.Payments[0].Provider != "stripe" {
		t.Fatalf("payments %+v, want one through Stripe", o.Payments)
	}
	if o.Payments[0].ClientSecret == nil {
		return ""
	}
	return *o.Payments[0].ClientSecret
}

const (
	paidOrderFields          = `id status financialStatus payments { id provider status clientSecret }`
	placePaidOrderMutation   = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { ` + paidOrderFields + ` } }`
	createPaymentIntentQuery = `mutation($id: ID!) { createPaymentIntent(orderId: $id) { ` + paidOrderFields + ` } }`
	paidOrderQuery           = `query($id: ID!) { node(id: $id) { ... on Order { ` + paidOrderFields + ` } } }`
)

// TestGraphQLStripePayments: GraphQL shows the client secret REST shows, by the same
// rule, and creates a missing PaymentIntent as REST's /payment-intent does, for the
// storefront that placed the order and no one else.
func TestGraphQLStripePayments(t *testing.T) {
	t.Parallel()
	mock := stripetest.Start(t)
	h := newStripeHarness(t, mock.URL)
	s := newShop(t, h, "graphql-stripe")
	other := newShop(t, h, "graphql-stripe-other")
	s.setStock("TEE-S", "W1", 5)

	var placed struct{ PlaceOrder gqlPaidOrder }
	s.data(s.PublishableKey, placePaidOrderMutation, placeOrderInput("TEE-S", 1), &placed)
	o := placed.PlaceOrder
	secret := o.secret(t)
	if rest := s.stripeOrder(o.ID).Payment.ClientSecret; secret == "" || rest == nil || *rest != secret {
		t.Fatalf("placeOrder's client secret %q, REST's %v", secret, rest)
	}

	t.Run("createPaymentIntent after Stripe failed at placement", func(t *testing.T) {
		mock.FailNext(3)
		var unpaid struct{ PlaceOrder gqlPaidOrder }
		s.data(s.PublishableKey, placePaidOrderMutation, placeOrderInput("TEE-S", 1), &unpaid)
		id := unpaid.PlaceOrder.ID
		if got := unpaid.PlaceOrder.secret(t); got != "" {
			t.Fatalf("client secret %q with Stripe down", got)
		}
		sent := len(mock.Requests())
		var paying struct{ CreatePaymentIntent gqlPaidOrder }
		s.data(s.PublishableKey, createPaymentIntentQuery, map[string]any{"id": id}, &paying)
		secret := paying.CreatePaymentIntent.secret(t)
		if rest := s.stripeOrder(id).Payment.ClientSecret; secret == "" || rest == nil || *rest != secret {
			t.Fatalf("createPaymentIntent's client secret %q, REST's %v", secret, rest)
		}
		s.data(s.PublishableKey, createPaymentIntentQuery, map[string]any{"id": id}, &paying)
		reqs := mock.Requests()[sent:]
		if paying.CreatePaymentIntent.secret(t) != secret || len(reqs) != 1 || reqs[0].Path != "/v1/payment_intents" || reqs[0].IdempotencyKey != "order-"+id+"-intent" {
			t.Fatalf("a second createPaymentIntent: secret %q, requests %+v", paying.CreatePaymentIntent.secret(t), reqs)
		}
	})
	t.Run("no one else reads the secret", func(t *testing.T) {
		id := map[string]any{"id": o.ID}
		other.expectCode(other.PublishableKey, createPaymentIntentQuery, id, "not_found")
		other.expectCode(other.SecretKey, paidOrderQuery, id, "not_found")
		other.expectCode(other.SecretKey, `query($id: ID!) { node(id: $id) { ... on Payment { clientSecret } } }`,
			map[string]any{"id": o.Payments[0].ID}, "not_found")
		// The storefront's allowance is its checkout's answers, not reads.
		s.expectCode(s.PublishableKey, paidOrderQuery, id, "forbidden")
		s.expectCode(s.PublishableKey, `query($id: ID!) { node(id: $id) { ... on Payment { clientSecret } } }`,
			map[string]any{"id": o.Payments[0].ID}, "forbidden")
	})
	t.Run("hidden once paid", func(t *testing.T) {
		var read struct{ Node gqlPaidOrder }
		s.data(s.SecretKey, paidOrderQuery, map[string]any{"id": o.ID}, &read)
		if read.Node.secret(t) != secret {
			t.Fatalf("the secret key reads client secret %q, want %q", read.Node.secret(t), secret)
		}
		s.paid(s.stripeOrder(o.ID))
		s.data(s.SecretKey, paidOrderQuery, map[string]any{"id": o.ID}, &read)
		if got, rest := read.Node.secret(t), s.stripeOrder(o.ID).Payment.ClientSecret; read.Node.FinancialStatus != "paid" || got != "" || rest != nil {
			t.Fatalf("paid order (%s): GraphQL client secret %q, REST's %v", read.Node.FinancialStatus, got, rest)
		}
		s.expectCode(s.PublishableKey, createPaymentIntentQuery, map[string]any{"id": o.ID}, "invalid_state_transition")
	})
}
