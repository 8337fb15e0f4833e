package payments

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/emailmessage"
	"github.com/mercantile/mercantile/ent/order"
	"github.com/mercantile/mercantile/ent/payment"
	"github.com/mercantile/mercantile/ent/refund"
	"github.com/mercantile/mercantile/ent/webhookevent"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/jobs"
	"github.com/mercantile/mercantile/internal/orders"
	"github.com/mercantile/mercantile/internal/payments/stripetest"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/postal"
	"github.com/mercantile/mercantile/internal/pulid"
)

// The known answer of the shared fixtures (testdata/README.md).
const (
	knownSecret    = "whsec_test_secret"
	knownTimestamp = 1748441985
	knownSignature = "b4b6375709ad7d8eb96cc3b762ae68246794a806d48c007be98ffa9c7bb01743"
	testSecret     = "whsec_mercantile_test"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyKnownAnswer(t *testing.T) {
	t.Parallel()
	payload := fixture(t, "payment_intent.succeeded.json")
	signedAt := time.Unix(knownTimestamp, 0)
	header := "t=1748441985,v1=" + knownSignature
	if got := stripetest.Sign(payload, knownSecret, signedAt); got != header {
		t.Fatalf("stripetest.Sign = %s, want %s", got, header)
	}
	w := NewWebhooks(knownSecret, nil)
	at := func(d time.Duration) { w.SetClock(func() time.Time { return signedAt.Add(d) }) }

	t.Run("accepted when signed", func(t *testing.T) {
		for _, d := range []time.Duration{0, 300 * time.Second} {
			at(d)
			e, err := w.Verify(payload, header)
			if err != nil {
				t.Fatalf("%s after signing: %v", d, err)
			}
			if e.ID != "evt_3RTkpYQ8iJWBZFaM1G1JtOIT" || e.Type != "payment_intent.succeeded" {
				t.Fatalf("event %s %s", e.ID, e.Type)
			}
		}
	})
	t.Run("rejected 301 s later", func(t *testing.T) {
		at(301 * time.Second)
		expectInvalid(t, w, payload, header)
	})
	t.Run("rejected when anything differs", func(t *testing.T) {
		at(0)
		tampered := []byte(strings.Replace(string(payload), `"amount": 4620`, `"amount": 1`, 1))
		if string(tampered) == string(payload) {
			t.Fatal("the tampering changed nothing")
		}
		expectInvalid(t, w, tampered, header)
		expectInvalid(t, w, payload, "")
		expectInvalid(t, w, payload, "t=1748441985,v1="+strings.Repeat("0", 64))
		expectInvalid(t, w, payload, "t=1748441986,v1="+knownSignature)
		expectInvalid(t, w, payload, stripetest.Sign(payload, "whsec_other", signedAt))
		// Any one matching v1 is enough (secret rotation); other schemes are ignored.
		if _, err := w.Verify(payload, "t=1748441985,v0=abc,v1="+strings.Repeat("0", 64)+",v1="+knownSignature); err != nil {
			t.Fatalf("second v1 signature refused: %v", err)
		}
	})
	t.Run("no secret, no events", func(t *testing.T) {
		_, err := NewWebhooks("", nil).Verify(payload, header)
		if apperr.CodeOf(err) != apperr.Unavailable {
			t.Fatalf("error %v, want unavailable", err)
		}
	})
}

func expectInvalid(t *testing.T, w *Webhooks, payload []byte, header string) {
	t.Helper()
	_, err := w.Verify(payload, header)
	if e := apperr.From(err); err == nil || e.Code != apperr.Invalid || e.HTTPStatus() != http.StatusBadRequest {
		t.Fatalf("Verify(%q) = %v, want a 400 invalid", header, err)
	}
}

// TestFixtureEventsParse reads real events of two API versions into what orders act on.
func TestFixtureEventsParse(t *testing.T) {
	t.Parallel()
	w := NewWebhooks(testSecret, nil)
	tests := []struct {
		file string
		want orders.PaymentEvent
	}{
		{"payment_intent.succeeded.json", orders.PaymentEvent{Kind: orders.PaymentSucceeded, IntentID: "pi_3RTkpYQ8iJWBZFaM1LBHNo0J", Amount: 4620, Currency: "eur"}},
		{"payment_intent.succeeded.api-2020-08-27.json", orders.PaymentEvent{Kind: orders.PaymentSucceeded, IntentID: "pi_3R3dvoQ8iJWBZFaM0uu1G1rx", Amount: 3897, Currency: "usd"}},
		{"payment_intent.payment_failed.json", orders.PaymentEvent{Kind: orders.PaymentFailed, IntentID: "pi_3SVvxMQ8iJWBZFaM1Lao8ehu", Amount: 11880, Currency: "usd",
			FailureMessage: "This payment required an authentication action to complete"}},
		{"charge.refund.updated.json", orders.PaymentEvent{Kind: orders.RefundChanged, IntentID: "pi_3RWYCFQ8iJWBZFaM1p1gEVdI", OrderID: "6735", RefundAmount: 100,
			Refund: &orders.RefundResult{ID: "re_3RWYCFQ8iJWBZFaM191ZqGD9", Status: "succeeded"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			payload := fixture(t, tt.file)
			e, err := w.Verify(payload, stripetest.Sign(payload, testSecret, time.Now()))
			if err != nil {
				t.Fatal(err)
			}
			ev, err := toPaymentEvent(e, payload)
			if err != nil {
				t.Fatal(err)
			}
			got, want := ev, tt.want
			if got.Kind != want.Kind || got.IntentID != want.IntentID || got.Amount != want.Amount || got.Currency != want.Currency ||
				got.OrderID != want.OrderID || got.MerchantID != "" || got.RefundAmount != want.RefundAmount ||
				!strings.HasPrefix(got.FailureMessage, want.FailureMessage) || (want.Refund != nil && *got.Refund != *want.Refund) {
				t.Fatalf("parsed %+v (refund %+v), want %+v", got, got.Refund, want)
			}
			if ev.ID != e.ID || ev.Created.Unix() != e.Created || string(ev.Payload) != string(payload) {
				t.Fatalf("envelope %s %s", ev.ID, ev.Created)
			}
		})
	}
}

func TestClientAgainstStripeMock(t *testing.T) {
	t.Parallel()
	mock := stripetest.Start(t)
	c := NewClient(Config{SecretKey: stripetest.SecretKey, APIURL: mock.URL})
	ctx := context.Background()
	intent, err := c.CreateIntent(ctx, orders.IntentRequest{MerchantID: "mer_1", OrderID: "ord_1", OrderNumber: 1001, Amount: 1999, Currency: "USD", IdempotencyKey: "order-ord_1-intent"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(intent.ID, "pi_") || !strings.Contains(intent.ClientSecret, "_secret_") || intent.Status == "" {
		t.Fatalf("intent %+v", intent)
	}
	if _, err := c.CreateRefund(ctx, orders.RefundRequest{MerchantID: "mer_1", OrderID: "ord_1", RefundID: "ref_1", IntentID: intent.ID, Amount: 500,
		Reason: "damaged", IdempotencyKey: "refund-ref_1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.CancelIntent(ctx, intent.ID, "cancel-"+intent.ID); err != nil {
		t.Fatal(err)
	}
	reqs := mock.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests: %+v", len(reqs), reqs)
	}
	create, refund, cancel := reqs[0], reqs[1], reqs[2]
	for k, want := range map[string]string{
		"amount": "1999", "currency": "usd", "automatic_payment_methods[enabled]": "true", "description": "Order #1001",
		"metadata[order_id]": "ord_1", "metadata[merchant_id]": "mer_1", "metadata[order_number]": "1001",
	} {
		if got := create.Form.Get(k); got != want {
			t.Errorf("intent %s = %q, want %q", k, got, want)
		}
	}
	if create.Path != "/v1/payment_intents" || create.IdempotencyKey != "order-ord_1-intent" {
		t.Errorf("intent request %+v", create)
	}
	if refund.Path != "/v1/refunds" || refund.IdempotencyKey != "refund-ref_1" || refund.Form.Get("payment_intent") != intent.ID ||
		refund.Form.Get("amount") != "500" || refund.Form.Get("metadata[refund_id]") != "ref_1" || refund.Form.Get("metadata[reason]") != "damaged" {
		t.Errorf("refund request %+v", refund)
	}
	if cancel.Path != "/v1/payment_intents/"+intent.ID+"/cancel" || cancel.IdempotencyKey != "cancel-"+intent.ID {
		t.Errorf("cancel request %+v", cancel)
	}

	t.Run("unreachable is a 502", func(t *testing.T) {
		_, err := NewClient(Config{SecretKey: stripetest.SecretKey, APIURL: stripetest.ClosedURL(t)}).
			CreateIntent(ctx, orders.IntentRequest{Amount: 100, Currency: "usd", IdempotencyKey: "k"})
		if e := apperr.From(err); e.Code != apperr.Unavailable || e.HTTPStatus() != http.StatusBadGateway {
			t.Fatalf("error %v (%d), want unavailable 502", err, e.HTTPStatus())
		}
	})
}

// shop is a merchant selling SKU "A" at 1000 (5 in stock) with orders paid through
// stripe-mock, and a receiver of events signed with testSecret.
type shop struct {
	t        *testing.T
	db       *database.DB
	orders   *orders.Service
	inv      *inventory.Service
	hooks    *Webhooks
	mock     *stripetest.Server
	merchant pulid.ID
	ctx      context.Context
	shopper  context.Context
}

func newShop(t *testing.T) *shop {
	t.Helper()
	db := dbtest.Postgres(t)
	mock := stripetest.Start(t)
	sys := viewer.SystemContext(context.Background())
	m := db.Client.Merchant.Create().SetName("Shop").SetHandle("shop").SaveX(sys)
	ctx := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: m.ID, ActorID: "key_t", Role: viewer.RoleOwner})
	inv := inventory.NewService(db, kv.NewMemory(), nil, nil)
	svc := orders.NewService(db, inv, 30*time.Minute)
	svc.UsePayments(NewClient(Config{SecretKey: stripetest.SecretKey, APIURL: mock.URL}), slog.New(slog.DiscardHandler))
	p := db.Client.Product.Create().SetTitle("Thing").SetHandle("thing").SaveX(ctx)
	db.Client.Variant.Create().SetProductID(p.ID).SetSku("A").SetOption1("A").SetPrice(1000).ExecX(ctx)
	db.Client.Warehouse.Create().SetCode("W1").SetName("One").SetPriority(1).ExecX(ctx)
	if _, err := inv.Set(ctx, "A", "W1", 5, "test stock"); err != nil {
		t.Fatal(err)
	}
	return &shop{t: t, db: db, orders: svc, inv: inv, hooks: NewWebhooks(testSecret, svc), mock: mock, merchant: m.ID, ctx: ctx,
		shopper: viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindPublishableKey, MerchantID: m.ID, ActorID: "key_p"})}
}

// place places an order of n A and returns it with its Stripe payment.
func (s *shop) place(n int64) (*ent.Order, *ent.Payment) {
	s.t.Helper()
	o, err := s.orders.Place(s.shopper, orders.PlaceInput{
		Email:           "buyer@example.com",
		ShippingAddress: &postal.Address{Name: "Ada", Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"},
		LineItems:       []orders.LineInput{{SKU: "A", Quantity: n}},
	})
	if err != nil {
		s.t.Fatal(err)
	}
	pay := o.Edges.Payments[0]
	if pay.Provider != payment.ProviderStripe || pay.StripePaymentIntentID == nil || pay.StripeClientSecret == nil {
		s.t.Fatalf("placed without an intent: %+v", pay)
	}
	return o, pay
}

// reload reads the order and its payment as they are now.
func (s *shop) reload(id pulid.ID) (*ent.Order, *ent.Payment) {
	s.t.Helper()
	o, err := s.orders.Order(s.ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return o, o.Edges.Payments[0]
}

// event signs and delivers an event about object, created at offset from now.
func (s *shop) event(id, typ string, offset time.Duration, object map[string]any) orders.EventOutcome {
	s.t.Helper()
	outcome, err := s.deliver(id, typ, offset, object)
	if err != nil {
		s.t.Fatalf("%s %s: %v", typ, id, err)
	}
	return outcome
}

func (s *shop) deliver(id, typ string, offset time.Duration, object map[string]any) (orders.EventOutcome, error) {
	now := time.Now()
	payload := stripetest.Event(id, typ, now.Add(offset), object)
	return s.hooks.Handle(context.Background(), payload, stripetest.Sign(payload, testSecret, now))
}

// intent is a PaymentIntent object of the order's, as Stripe sends it in events.
func (s *shop) intent(o *ent.Order, pay *ent.Payment, status string) map[string]any {
	obj := map[string]any{
		"id": *pay.StripePaymentIntentID, "object": "payment_intent", "amount": pay.Amount, "amount_received": pay.Amount,
		"currency": strings.ToLower(pay.Currency), "status": status,
		"metadata": map[string]any{"merchant_id": s.merchant.String(), "order_id": o.ID.String(), "order_number": "1001"},
	}
	if status == "requires_payment_method" {
		obj["last_payment_error"] = map[string]any{"type": "card_error", "code": "card_declined", "message": "Your card was declined."}
	}
	return obj
}

// charge is a Charge of the order's intent with amount_refunded.
func (s *shop) charge(pay *ent.Payment, refunded int64) map[string]any {
	return map[string]any{"id": "ch_1", "object": "charge", "amount": pay.Amount, "amount_refunded": refunded, "refunded": refunded == pay.Amount,
		"currency": strings.ToLower(pay.Currency), "payment_intent": *pay.StripePaymentIntentID, "status": "succeeded", "metadata": map[string]any{}}
}

func (s *shop) count(q interface {
	Count(context.Context) (int, error)
}) int {
	s.t.Helper()
	n, err := q.Count(viewer.SystemContext(context.Background()))
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

func (s *shop) expectStatus(id pulid.ID, financial order.FinancialStatus, pay payment.Status, refunded int64) {
	s.t.Helper()
	o, p := s.reload(id)
	if o.FinancialStatus != financial || p.Status != pay || o.AmountRefunded != refunded || p.AmountRefunded != refunded {
		s.t.Fatalf("order %s/%s refunded %d (payment %d), want %s/%s refunded %d",
			o.FinancialStatus, p.Status, o.AmountRefunded, p.AmountRefunded, financial, pay, refunded)
	}
}

func TestWebhookReplayAppliesOnce(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	o, pay := s.place(2)

	t.Run("succeeded, delivered 5 times at once", func(t *testing.T) {
		outcomes := make(chan orders.EventOutcome, 5)
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				out, err := s.deliver("evt_paid", "payment_intent.succeeded", 0, s.intent(o, pay, "succeeded"))
				if err != nil {
					t.Error(err)
				}
				outcomes <- out
			})
		}
		wg.Wait()
		close(outcomes)
		counts := map[orders.EventOutcome]int{}
		for out := range outcomes {
			counts[out]++
		}
		if counts[orders.EventProcessed] != 1 || counts[orders.EventDuplicate] != 4 {
			t.Fatalf("outcomes %v, want 1 processed and 4 duplicates", counts)
		}
		if n := s.count(s.db.Client.WebhookEvent.Query()); n != 1 {
			t.Fatalf("%d webhook events recorded, want 1", n)
		}
		s.expectStatus(o.ID, order.FinancialStatusPaid, payment.StatusSucceeded, 0)
		paid, _ := s.reload(o.ID)
		if paid.ReservationExpiresAt != nil || paid.PaidAt == nil {
			t.Fatalf("paid order still expires (%v) or has no paid_at", paid.ReservationExpiresAt)
		}
		if st, _ := s.inv.Stock(s.ctx, "A"); st.Reserved != 2 {
			t.Fatalf("stock %+v, want 2 still reserved until shipping", st)
		}
	})

	t.Run("payment_failed, delivered 5 times, emails once", func(t *testing.T) {
		o, pay := s.place(1)
		for i := range 5 {
			want := orders.EventDuplicate
			if i == 0 {
				want = orders.EventProcessed
			}
			if got := s.event("evt_declined", "payment_intent.payment_failed", 0, s.intent(o, pay, "requires_payment_method")); got != want {
				t.Fatalf("delivery %d: %s, want %s", i+1, got, want)
			}
		}
		_, p := s.reload(o.ID)
		if p.Status != payment.StatusFailed || p.FailureMessage != "Your card was declined." {
			t.Fatalf("payment %s %q", p.Status, p.FailureMessage)
		}
		s.expectStatus(o.ID, order.FinancialStatusPending, payment.StatusFailed, 0)
		failed, _ := s.reload(o.ID)
		if failed.ReservationExpiresAt == nil {
			t.Fatal("a failed payment stopped the reservation from expiring")
		}
		emails := s.count(s.db.Client.EmailMessage.Query().Where(emailmessage.KindEQ(emailmessage.KindPaymentFailed)))
		if emails != 1 {
			t.Fatalf("%d payment_failed emails, want 1", emails)
		}
	})
}

func TestWebhookEventsOutOfOrder(t *testing.T) {
	t.Parallel()
	s := newShop(t)

	t.Run("failure after success is ignored", func(t *testing.T) {
		o, pay := s.place(1)
		s.event("evt_a1", "payment_intent.succeeded", 0, s.intent(o, pay, "succeeded"))
		if got := s.event("evt_a2", "payment_intent.payment_failed", -time.Minute, s.intent(o, pay, "requires_payment_method")); got != orders.EventIgnored {
			t.Fatalf("late failure %s, want ignored", got)
		}
		if got := s.event("evt_a3", "payment_intent.canceled", time.Minute, s.intent(o, pay, "canceled")); got != orders.EventIgnored {
			t.Fatalf("cancel after success %s, want ignored", got)
		}
		s.expectStatus(o.ID, order.FinancialStatusPaid, payment.StatusSucceeded, 0)
	})
	t.Run("an older failure after a newer one is ignored", func(t *testing.T) {
		o, pay := s.place(1)
		s.event("evt_b1", "payment_intent.payment_failed", 0, s.intent(o, pay, "requires_payment_method"))
		if got := s.event("evt_b2", "payment_intent.payment_failed", -time.Minute, s.intent(o, pay, "requires_payment_method")); got != orders.EventIgnored {
			t.Fatalf("stale failure %s, want ignored", got)
		}
		s.event("evt_b3", "payment_intent.succeeded", time.Minute, s.intent(o, pay, "succeeded"))
		s.expectStatus(o.ID, order.FinancialStatusPaid, payment.StatusSucceeded, 0)
	})
	t.Run("refund before success", func(t *testing.T) {
		o, pay := s.place(1)
		s.event("evt_c1", "charge.refunded", time.Minute, s.charge(pay, 300))
		s.expectStatus(o.ID, order.FinancialStatusPartiallyRefunded, payment.StatusSucceeded, 300)
		if got := s.event("evt_c2", "payment_intent.succeeded", 0, s.intent(o, pay, "succeeded")); got != orders.EventIgnored {
			t.Fatalf("success after its refund %s, want ignored", got)
		}
		s.expectStatus(o.ID, order.FinancialStatusPartiallyRefunded, payment.StatusSucceeded, 300)
	})
	t.Run("refunds only grow", func(t *testing.T) {
		o, pay := s.place(1)
		s.event("evt_d1", "payment_intent.succeeded", 0, s.intent(o, pay, "succeeded"))
		s.event("evt_d3", "charge.refunded", 2*time.Minute, s.charge(pay, pay.Amount))
		if got := s.event("evt_d2", "charge.refunded", time.Minute, s.charge(pay, 400)); got != orders.EventIgnored {
			t.Fatalf("smaller refunded amount %s, want ignored", got)
		}
		s.expectStatus(o.ID, order.FinancialStatusRefunded, payment.StatusSucceeded, pay.Amount)
	})
}

func TestWebhookCanceledReleasesStock(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	o, pay := s.place(3)
	if st, _ := s.inv.Stock(s.ctx, "A"); st.Reserved != 3 {
		t.Fatalf("stock %+v", st)
	}
	s.event("evt_cancel", "payment_intent.canceled", 0, s.intent(o, pay, "canceled"))
	got, p := s.reload(o.ID)
	if got.Status != order.StatusCancelled || got.FinancialStatus != order.FinancialStatusVoided || p.Status != payment.StatusCanceled {
		t.Fatalf("order %s/%s, payment %s", got.Status, got.FinancialStatus, p.Status)
	}
	if st, _ := s.inv.Stock(s.ctx, "A"); st.Reserved != 0 || st.OnHand != 5 {
		t.Fatalf("stock %+v, want 5 on hand and none reserved", st)
	}
	if n := cancelJobs(t, s.db); n != 0 {
		t.Fatalf("%d cancel jobs for an intent Stripe cancelled itself", n)
	}
}

func cancelJobs(t *testing.T, db *database.DB) int {
	t.Helper()
	var n int
	if err := db.SQL.QueryRow(`SELECT count(*) FROM river_job WHERE kind = $1`, orders.CancelIntentArgs{}.Kind()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCancelledOrderCancelsIntent: cancelling (or expiring) an order enqueues, in its
// transaction, the job that cancels its intent at Stripe.
func TestCancelledOrderCancelsIntent(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	o, pay := s.place(1)
	if _, err := s.orders.Cancel(s.ctx, o.ID, "changed my mind"); err != nil {
		t.Fatal(err)
	}
	if n := cancelJobs(t, s.db); n != 1 {
		t.Fatalf("%d cancel jobs, want 1", n)
	}
	before := len(s.mock.Requests())
	job := &river.Job[orders.CancelIntentArgs]{Args: orders.CancelIntentArgs{MerchantID: s.merchant, OrderID: o.ID, IntentID: *pay.StripePaymentIntentID}}
	if err := s.orders.CancelIntentWorker().Work(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	reqs := s.mock.Requests()[before:]
	if len(reqs) != 1 || reqs[0].Path != "/v1/payment_intents/"+*pay.StripePaymentIntentID+"/cancel" || reqs[0].IdempotencyKey != "cancel-"+*pay.StripePaymentIntentID {
		t.Fatalf("requests %+v", reqs)
	}
	// Paid orders keep their intent.
	paid, paidPay := s.place(1)
	s.event("evt_paid_then_cancelled", "payment_intent.succeeded", 0, s.intent(paid, paidPay, "succeeded"))
	if _, err := s.orders.Cancel(s.ctx, paid.ID, ""); err != nil {
		t.Fatal(err)
	}
	if n := cancelJobs(t, s.db); n != 1 {
		t.Fatalf("%d cancel jobs after cancelling a paid order, want still 1", n)
	}
}

func TestWebhookUnknowns(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	o, pay := s.place(1)
	ours := map[string]any{"id": "cus_1", "object": "customer", "metadata": map[string]any{"merchant_id": s.merchant.String()}}
	if got := s.event("evt_u1", "customer.created", 0, ours); got != orders.EventIgnored {
		t.Fatalf("unhandled type: %s", got)
	}
	stray := s.intent(o, pay, "succeeded")
	stray["id"], stray["metadata"] = "pi_elsewhere", map[string]any{"merchant_id": s.merchant.String(), "order_id": "ord_01HZZZZZZZZZZZZZZZZZZZZZZZ"}
	if got := s.event("evt_u2", "payment_intent.succeeded", 0, stray); got != orders.EventIgnored {
		t.Fatalf("unknown order: %s", got)
	}
	stray["metadata"] = map[string]any{}
	if got := s.event("evt_u3", "payment_intent.succeeded", 0, stray); got != orders.EventUnrouted {
		t.Fatalf("nobody's intent: %s", got)
	}
	recorded := s.db.Client.WebhookEvent.Query().Where(webhookevent.StatusEQ(webhookevent.StatusIgnored))
	if n := s.count(recorded); n != 2 {
		t.Fatalf("%d ignored events recorded, want 2", n)
	}
	s.expectStatus(o.ID, order.FinancialStatusPending, payment.StatusPending, 0)

	t.Run("bad signature changes nothing", func(t *testing.T) {
		payload := stripetest.Event("evt_forged", "payment_intent.succeeded", time.Now(), s.intent(o, pay, "succeeded"))
		_, err := s.hooks.Handle(context.Background(), payload, stripetest.Sign(payload, "whsec_forger", time.Now()))
		if apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("forged event: %v", err)
		}
		if n := s.count(s.db.Client.WebhookEvent.Query()); n != 2 {
			t.Fatalf("%d events recorded after a forgery, want 2", n)
		}
		s.expectStatus(o.ID, order.FinancialStatusPending, payment.StatusPending, 0)
	})
}

// stopsBeforeRefund is Stripe for a process that stops between Refund's commit and its
// call to Stripe: intents are made, refunds never asked for.
type stopsBeforeRefund struct{ orders.PaymentGateway }

func (stopsBeforeRefund) CreateRefund(context.Context, orders.RefundRequest) (orders.RefundResult, error) {
	return orders.RefundResult{}, apperr.New(apperr.Unavailable, "the process stopped before calling Stripe")
}

// refundCalls are the refund requests Stripe received.
func (s *shop) refundCalls() []stripetest.Request {
	var calls []stripetest.Request
	for _, r := range s.mock.Requests() {
		if r.Path == "/v1/refunds" {
			calls = append(calls, r)
		}
	}
	return calls
}

// crashedRefund refunds amount of the paid order as Refund does, but stops before
// Stripe hears of it: the pending row and its job are all there is.
func (s *shop) crashedRefund(id pulid.ID, amount int64) *ent.Refund {
	s.t.Helper()
	s.orders.UsePayments(stopsBeforeRefund{NewClient(Config{SecretKey: stripetest.SecretKey, APIURL: s.mock.URL})}, slog.New(slog.DiscardHandler))
	defer s.orders.UsePayments(NewClient(Config{SecretKey: stripetest.SecretKey, APIURL: s.mock.URL}), slog.New(slog.DiscardHandler))
	o, err := s.orders.Refund(s.ctx, id, &amount, "crash")
	if err != nil {
		s.t.Fatal(err)
	}
	r := o.Edges.Refunds[len(o.Edges.Refunds)-1]
	if r.Status != refund.StatusPending || r.Amount != amount {
		s.t.Fatalf("refund %+v, want pending of %d", r, amount)
	}
	return r
}

// TestRefundSubmittedByItsJob: a refund row written with its job, whose call to Stripe
// never happened, is sent to Stripe by the job on a real queue, once, under the row's
// idempotency key; a refusal fails it and frees its amount.
func TestRefundSubmittedByItsJob(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	s.orders.SetRefundSubmitDelay(2 * time.Second)
	o, pay := s.place(2)
	s.event("evt_paid", "payment_intent.succeeded", 0, s.intent(o, pay, "succeeded"))

	row := s.crashedRefund(o.ID, 300)
	if calls := s.refundCalls(); len(calls) != 0 {
		t.Fatalf("%d refund calls before the job", len(calls))
	}
	s.expectStatus(o.ID, order.FinancialStatusPaid, payment.StatusSucceeded, 0)
	q, err := jobs.New(s.db, slog.New(slog.DiscardHandler), jobs.Options{FetchPollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	args := orders.SubmitRefundArgs{MerchantID: s.merchant, OrderID: o.ID, RefundID: row.ID}
	// One job per refund, however often it is enqueued.
	if err := q.Enqueue(context.Background(), args, nil); err != nil {
		t.Fatal(err)
	}
	var n, maxAttempts int
	var ahead float64
	err = s.db.SQL.QueryRow(`SELECT count(*), max(max_attempts), extract(epoch FROM max(scheduled_at) - min(created_at)) FROM river_job WHERE kind = $1 AND args->>'refund_id' = $2`,
		args.Kind(), row.ID.String()).Scan(&n, &maxAttempts, &ahead)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || maxAttempts != 13 || ahead < 1.5 || ahead > 2.5 {
		t.Fatalf("%d jobs, %d attempts, scheduled %.1f s ahead; want 1 job of 13 attempts 2 s ahead", n, maxAttempts, ahead)
	}

	if err := jobs.Register(q, s.orders.SubmitRefundWorker()); err != nil {
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
	deadline := time.Now().Add(30 * time.Second)
	for s.db.Client.Refund.GetX(viewer.MerchantSystemContext(context.Background(), s.merchant), row.ID).Status == refund.StatusPending && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	s.expectStatus(o.ID, order.FinancialStatusPartiallyRefunded, payment.StatusSucceeded, 300)
	calls := s.refundCalls()
	if len(calls) != 1 || calls[0].IdempotencyKey != "refund-"+row.ID.String() || calls[0].Form.Get("amount") != "300" ||
		calls[0].Form.Get("metadata[refund_id]") != row.ID.String() {
		t.Fatalf("refund calls %+v, want one for the row", calls)
	}

	t.Run("a refusal fails the row and frees its amount", func(t *testing.T) {
		refused := s.crashedRefund(o.ID, pay.Amount-300)
		s.mock.ErrorNext(1, http.StatusBadRequest, "invalid_request_error", "charge_already_refunded")
		job := &river.Job[orders.SubmitRefundArgs]{Args: orders.SubmitRefundArgs{MerchantID: s.merchant, OrderID: o.ID, RefundID: refused.ID}}
		if err := s.orders.SubmitRefundWorker().Work(context.Background(), job); err != nil {
			t.Fatalf("a refusal is final, yet the job would be retried: %v", err)
		}
		got, err := s.db.Client.Refund.Get(viewer.MerchantSystemContext(context.Background(), s.merchant), refused.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != refund.StatusFailed || got.FailureMessage == "" {
			t.Fatalf("refused refund %s %q", got.Status, got.FailureMessage)
		}
		// Once settled, the job does nothing.
		before := len(s.refundCalls())
		if err := s.orders.SubmitRefundWorker().Work(context.Background(), job); err != nil || len(s.refundCalls()) != before {
			t.Fatalf("the job of a settled refund: %v, %d calls", err, len(s.refundCalls())-before)
		}
		rest := pay.Amount - 300
		if _, err := s.orders.Refund(s.ctx, o.ID, &rest, "the rest"); err != nil {
			t.Fatalf("refunding what the refused refund held: %v", err)
		}
		s.expectStatus(o.ID, order.FinancialStatusRefunded, payment.StatusSucceeded, pay.Amount)
	})
	t.Run("an unknown outcome is retried", func(t *testing.T) {
		o, pay := s.place(1)
		s.event("evt_paid_2", "payment_intent.succeeded", 0, s.intent(o, pay, "succeeded"))
		row := s.crashedRefund(o.ID, 100)
		s.mock.FailNext(3)
		job := &river.Job[orders.SubmitRefundArgs]{Args: orders.SubmitRefundArgs{MerchantID: s.merchant, OrderID: o.ID, RefundID: row.ID}}
		if err := s.orders.SubmitRefundWorker().Work(context.Background(), job); apperr.CodeOf(err) != apperr.Unavailable {
			t.Fatalf("Stripe failing: %v, want unavailable for River to retry", err)
		}
		if got := s.db.Client.Refund.GetX(viewer.MerchantSystemContext(context.Background(), s.merchant), row.ID); got.Status != refund.StatusPending {
			t.Fatalf("after an unknown outcome the refund is %s, want still pending", got.Status)
		}
		s.expectStatus(o.ID, order.FinancialStatusPaid, payment.StatusSucceeded, 0)
	})
}
