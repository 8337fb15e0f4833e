package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/emailmessage"
	"github.com/mercantile/mercantile/ent/merchant"
	"github.com/mercantile/mercantile/ent/order"
	"github.com/mercantile/mercantile/ent/payment"
	"github.com/mercantile/mercantile/ent/refund"
	"github.com/mercantile/mercantile/ent/webhookevent"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/email"
	"github.com/mercantile/mercantile/internal/jobs"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/pulid"
)

// PaymentGateway is the card processor behind Stripe orders; internal/payments implements
// it. Every call carries an idempotency key, so repeating a call never makes a second
// intent or refund. Errors are apperr errors: unavailable when the outcome is unknown
// (unreachable, 5xx), invalid or conflict when the processor refused.
type PaymentGateway interface {
	CreateIntent(ctx context.Context, in IntentRequest) (Intent, error)
	CancelIntent(ctx context.Context, intentID, idempotencyKey string) error
	CreateRefund(ctx context.Context, in RefundRequest) (RefundResult, error)
}

// IntentRequest asks for a PaymentIntent of an order's total.
type IntentRequest struct {
	MerchantID     pulid.ID
	OrderID        pulid.ID
	OrderNumber    int64
	Amount         int64
	Currency       string
	IdempotencyKey string
}

// Intent is a PaymentIntent as the processor created it.
type Intent struct {
	ID           string
	ClientSecret string
	// Status is Stripe's: requires_payment_method, processing, succeeded, ...
	Status string
}

// RefundRequest asks to refund part of an order's PaymentIntent.
type RefundRequest struct {
	MerchantID     pulid.ID
	OrderID        pulid.ID
	RefundID       pulid.ID
	IntentID       string
	Amount         int64
	Reason         string
	IdempotencyKey string
}

// RefundResult is a refund as the processor answered it.
type RefundResult struct {
	ID string
	// Status is Stripe's: pending, requires_action, succeeded, failed or canceled.
	Status        string
	FailureReason string
}

// UsePayments makes placement take payments through g (Stripe) instead of manually, and
// logs what the processor could not do to log. Call it while wiring, before serving.
func (s *Service) UsePayments(g PaymentGateway, log *slog.Logger) {
	s.payments, s.log = g, log
}

func (s *Service) paymentProvider() payment.Provider {
	if s.payments != nil {
		return payment.ProviderStripe
	}
	return payment.ProviderManual
}

// intentTimeout bounds the processor call of a placement: past it the order is answered
// without a client secret rather than failing, so a retried placement finds the recorded
// 201 instead of placing a second order.
const intentTimeout = 10 * time.Second

// openPayment creates the PaymentIntent of an order Place has just committed. Failing
// leaves the order pending with its reservation, to be paid after EnsurePaymentIntent or
// to expire; placement succeeds either way.
func (s *Service) openPayment(ctx context.Context, o *ent.Order) {
	if s.payments == nil {
		return
	}
	budget := intentTimeout
	if deadline, ok := ctx.Deadline(); ok {
		// Half of what is left: the rest answers the placement.
		budget = min(budget, time.Until(deadline)/2)
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	if err := s.ensureIntent(ctx, o.MerchantID, o.ID); err != nil {
		s.log.WarnContext(ctx, "creating the order's PaymentIntent failed; the order stays pending", "order_id", o.ID, "err", err)
	}
}

// EnsurePaymentIntent makes sure an open, unpaid Stripe order has its PaymentIntent,
// creating it under the order's idempotency key when placement could not reach Stripe,
// and returns the order with the client secret. A second call finds the intent and does
// not call Stripe. Storefront keys may call it for the order they placed.
// Errors: not_found, invalid_state_transition (not a Stripe order, already paid,
// cancelled), unavailable (Stripe unreachable: 502).
func (s *Service) EnsurePaymentIntent(ctx context.Context, id pulid.ID) (*ent.Order, error) {
	v, ok := viewer.FromContext(ctx)
	if !ok || v.MerchantID == "" {
		return nil, apperr.New(apperr.Unauthorized, "Credentials are required.")
	}
	if s.payments == nil {
		return nil, invalidTransition("Stripe is not configured; orders are paid manually.")
	}
	if err := s.ensureIntent(ctx, v.MerchantID, id); err != nil {
		return nil, err
	}
	return s.Order(viewer.CheckoutContext(ctx), id)
}

func (s *Service) ensureIntent(ctx context.Context, merchantID, id pulid.ID) error {
	// The intent is the system's bookkeeping for the order, whoever asks for it.
	ctx = viewer.MerchantSystemContext(ctx, merchantID)
	o, err := loadOrder(ctx, s.client, id)
	if err != nil {
		return err
	}
	pay := stripePaymentOf(o)
	switch {
	case pay == nil:
		return invalidTransition("Order %s is not paid through Stripe.", o.Name)
	case o.Status != order.StatusOpen || o.FinancialStatus != order.FinancialStatusPending:
		return invalidTransition("Order %s is %s and %s; only open, pending orders take a payment.", o.Name, o.Status, o.FinancialStatus)
	case pay.StripePaymentIntentID != nil:
		return nil
	}
	intent, err := s.payments.CreateIntent(ctx, IntentRequest{
		MerchantID: o.MerchantID, OrderID: o.ID, OrderNumber: o.Number, Amount: pay.Amount, Currency: pay.Currency,
		IdempotencyKey: "order-" + o.ID.String() + "-intent",
	})
	if err != nil {
		return err
	}
	// Stored even when the process is shutting down: the intent exists at Stripe now.
	return s.storeIntent(context.WithoutCancel(ctx), o.ID, intent)
}

// storeIntent records a created intent on the order's payment. A concurrent call may have
// stored it first (the idempotency key made it the same intent), and webhooks may have
// moved the payment on already; neither is undone. An order cancelled while the intent
// was being created gets it cancelled too, so it cannot be paid.
func (s *Service) storeIntent(ctx context.Context, id pulid.ID, intent Intent) error {
	return database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Client) error {
		o, err := s.lockedOrder(ctx, tx, id)
		if err != nil {
			return err
		}
		pay := stripePaymentOf(o)
		if pay.StripePaymentIntentID != nil {
			return nil
		}
		upd := tx.Payment.UpdateOneID(pay.ID).SetStripePaymentIntentID(intent.ID).SetStripeClientSecret(intent.ClientSecret)
		if pay.StripeEventAt == nil && pay.Status == payment.StatusPending {
			upd.SetStatus(paymentStatusOf(intent.Status))
		}
		if err := upd.Exec(ctx); err != nil {
			return apperr.From(err)
		}
		if o.Status == order.StatusCancelled {
			pay.StripePaymentIntentID = &intent.ID
			return s.cancelIntentLater(ctx, o)
		}
		return nil
	})
}

// paymentStatusOf maps a PaymentIntent status onto the payment's.
func paymentStatusOf(stripeStatus string) payment.Status {
	switch stripeStatus {
	case "succeeded":
		return payment.StatusSucceeded
	case "processing":
		return payment.StatusProcessing
	case "requires_action":
		return payment.StatusRequiresAction
	case "canceled":
		return payment.StatusCanceled
	}
	return payment.StatusPending
}

// ClientSecret is the client secret of o's payment p, shown only while paying is still
// possible (o open, p neither succeeded nor cancelled): whoever holds it can pay. Nil
// for manual payments and before the intent exists. REST and GraphQL both show it
// through this one rule.
func ClientSecret(o *ent.Order, p *ent.Payment) *string {
	if o.Status != order.StatusOpen || p.Status == payment.StatusSucceeded || p.Status == payment.StatusCanceled {
		return nil
	}
	return p.StripeClientSecret
}

// PaymentClientSecret is ClientSecret for a payment read without its order (GraphQL's
// Payment.clientSecret): the order is read, as ctx's viewer, only when there is a secret.
// Errors: those of reading the order.
func PaymentClientSecret(ctx context.Context, p *ent.Payment) (*string, error) {
	if p.StripeClientSecret == nil {
		return nil, nil
	}
	o, err := p.Order(ctx)
	if err != nil {
		return nil, apperr.From(err)
	}
	return ClientSecret(o, p), nil
}

func stripePaymentOf(o *ent.Order) *ent.Payment {
	for _, p := range o.Edges.Payments {
		if p.Provider == payment.ProviderStripe {
			return p
		}
	}
	return nil
}

// CancelIntentArgs is the job that cancels the PaymentIntent of a cancelled or expired
// order at Stripe. A job, enqueued in the cancelling transaction, rather than a call after
// commit: it survives a crash and is retried while Stripe is unreachable, and until it
// runs the intent could still be paid.
type CancelIntentArgs struct {
	MerchantID pulid.ID `json:"merchant_id"`
	OrderID    pulid.ID `json:"order_id"`
	IntentID   string   `json:"payment_intent_id"`
}

// Kind implements river.JobArgs.
func (CancelIntentArgs) Kind() string { return "cancel_payment_intent" }

// InsertOpts bounds the retries to about a day of River's backoff: an intent nobody
// could pay for that long is moot.
func (CancelIntentArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 12} }

// cancelIntentLater enqueues the cancellation of the order's open PaymentIntent, in the
// transaction that cancels the order. Succeeded and cancelled intents are left alone.
func (s *Service) cancelIntentLater(ctx context.Context, o *ent.Order) error {
	pay := stripePaymentOf(o)
	// A payment cancelled here still has a live intent; one Stripe reported cancelled
	// (payment_intent.canceled) does not.
	if pay == nil || pay.StripePaymentIntentID == nil || pay.Status == payment.StatusSucceeded ||
		(pay.Status == payment.StatusCanceled && pay.StripeEventAt != nil) {
		return nil
	}
	if err := jobs.Enqueue(ctx, CancelIntentArgs{MerchantID: o.MerchantID, OrderID: o.ID, IntentID: *pay.StripePaymentIntentID}, nil); err != nil {
		return apperr.Wrap(err, apperr.Internal, "Scheduling the PaymentIntent's cancellation failed.")
	}
	return nil
}

// CancelIntentWorker returns the worker of CancelIntentArgs, to register with the queue.
func (s *Service) CancelIntentWorker() river.Worker[CancelIntentArgs] {
	return &cancelIntentWorker{svc: s}
}

type cancelIntentWorker struct {
	river.WorkerDefaults[CancelIntentArgs]
	svc *Service
}

// Work cancels the intent. Only an unknown outcome is retried: Stripe refusing (the
// intent succeeded or was cancelled meanwhile) is final, and its webhook settles the
// order.
func (w *cancelIntentWorker) Work(ctx context.Context, job *river.Job[CancelIntentArgs]) error {
	if w.svc.payments == nil {
		return river.JobCancel(errors.New("stripe is not configured"))
	}
	err := w.svc.payments.CancelIntent(ctx, job.Args.IntentID, "cancel-"+job.Args.IntentID)
	if err != nil && apperr.CodeOf(err) != apperr.Unavailable {
		return river.JobCancel(err)
	}
	return err
}

// PaymentEventKind is what a processor event means for an order.
type PaymentEventKind string

// The kinds of payment event orders act on; any other is recorded and ignored.
const (
	// PaymentSucceeded: the intent succeeded (payment_intent.succeeded).
	PaymentSucceeded PaymentEventKind = "payment_succeeded"
	// PaymentFailed: an attempt failed; the customer may try again.
	PaymentFailed PaymentEventKind = "payment_failed"
	// PaymentCanceled: the intent was cancelled and can no longer be paid.
	PaymentCanceled PaymentEventKind = "payment_canceled"
	// ChargeRefunded carries the charge's cumulative AmountRefunded (charge.refunded).
	ChargeRefunded PaymentEventKind = "charge_refunded"
	// RefundChanged carries one refund's state (refund.*, charge.refund.updated).
	RefundChanged PaymentEventKind = "refund_changed"
)

// PaymentEvent is a verified processor event, reduced to what orders act on.
type PaymentEvent struct {
	// ID is the event's id (evt_...), unique per event, repeated by redeliveries.
	ID string
	// Type is the processor's event type, kept on the WebhookEvent record.
	Type string
	// Kind is empty for event types orders do not act on.
	Kind PaymentEventKind
	// Created orders events: an older one never overrides a newer one.
	Created time.Time
	// Payload is the raw body, kept on the WebhookEvent record.
	Payload []byte
	// MerchantID, OrderID and RefundID come from the object's metadata, which Mercantile
	// set; they are empty for objects made elsewhere (Stripe's dashboard).
	MerchantID pulid.ID
	OrderID    pulid.ID
	RefundID   pulid.ID
	IntentID   string
	// Amount and Currency are the intent's, for PaymentSucceeded.
	Amount   int64
	Currency string
	// FailureMessage says why a payment or refund failed.
	FailureMessage string
	// AmountRefunded is the charge's total refunded so far, for ChargeRefunded.
	AmountRefunded int64
	// Refund is the refund of a RefundChanged event.
	Refund *RefundResult
	// RefundAmount is the refund's amount, for RefundChanged.
	RefundAmount int64
}

// EventOutcome says what applying an event did.
type EventOutcome string

// The outcomes of ApplyPaymentEvent.
const (
	// EventProcessed: the event changed the order or its payment.
	EventProcessed EventOutcome = "processed"
	// EventIgnored: recorded, but stale, of an unhandled type, or for no known order.
	EventIgnored EventOutcome = "ignored"
	// EventDuplicate: recorded before; nothing was done again.
	EventDuplicate EventOutcome = "duplicate"
	// EventUnrouted: it names no merchant of ours, so it could not even be recorded.
	EventUnrouted EventOutcome = "unrouted"
)

var errDuplicateEvent = errors.New("orders: payment event already recorded")

// ApplyPaymentEvent applies a verified processor event to its order, at most once: the
// event's id is recorded (WebhookEvent) in the transaction that applies it, so a replay,
// even a concurrent one, finds the record and does nothing. Events may come in any order:
// a succeeded payment never goes back to pending or failed, an older event never
// overrides a newer one, and refunded amounts only grow.
// Errors: internal (the processor retries the delivery).
func (s *Service) ApplyPaymentEvent(ctx context.Context, ev PaymentEvent) (EventOutcome, error) {
	merchantID, orderID, err := s.routeEvent(ctx, ev)
	if err != nil || merchantID == "" {
		return EventUnrouted, err
	}
	outcome := EventProcessed
	err = database.InTx(viewer.MerchantSystemContext(ctx, merchantID), s.client, func(ctx context.Context, tx *ent.Client) error {
		rec, err := tx.WebhookEvent.Create().SetSource(webhookevent.SourceStripe).SetExternalID(ev.ID).
			SetTopic(ev.Type).SetPayload(ev.Payload).Save(ctx)
		if ent.IsConstraintError(err) {
			return errDuplicateEvent
		}
		if err != nil {
			return apperr.From(err)
		}
		ignored := "no order of this merchant matches the event"
		if orderID != "" {
			o, err := s.lockedOrder(ctx, tx, orderID)
			if err != nil {
				return err
			}
			if ignored, err = s.applyEvent(ctx, tx, o, ev); err != nil {
				return err
			}
		}
		upd := rec.Update().SetStatus(webhookevent.StatusProcessed).SetProcessedAt(s.now())
		if ignored != "" {
			outcome = EventIgnored
			upd.SetStatus(webhookevent.StatusIgnored).SetError(ignored)
		}
		return apperr.Translate(upd.Exec(ctx))
	})
	if errors.Is(err, errDuplicateEvent) {
		return EventDuplicate, nil
	}
	if err != nil {
		return "", err
	}
	return outcome, nil
}

// routeEvent finds the merchant and order of an event: by the metadata Mercantile put on
// the object, else by the PaymentIntent. A merchant without a matching order is returned
// alone, so the event is still recorded.
func (s *Service) routeEvent(ctx context.Context, ev PaymentEvent) (merchantID, orderID pulid.ID, err error) {
	sys := viewer.SystemContext(ctx)
	known := false
	if ev.MerchantID != "" {
		if known, err = s.client.Merchant.Query().Where(merchant.ID(ev.MerchantID)).Exist(sys); err != nil {
			return "", "", apperr.From(err)
		}
	}
	if known && ev.OrderID != "" {
		found, err := s.client.Order.Query().Where(order.ID(ev.OrderID), order.MerchantID(ev.MerchantID)).Exist(sys)
		if err != nil {
			return "", "", apperr.From(err)
		}
		if found {
			return ev.MerchantID, ev.OrderID, nil
		}
	}
	if ev.IntentID != "" {
		p, err := s.client.Payment.Query().Where(payment.StripePaymentIntentID(ev.IntentID)).Only(sys)
		if err == nil {
			return p.MerchantID, p.OrderID, nil
		}
		if !ent.IsNotFound(err) {
			return "", "", apperr.From(err)
		}
	}
	if known {
		return ev.MerchantID, "", nil
	}
	return "", "", nil
}

// applyEvent applies ev to the locked order and returns why it was ignored, or "".
func (s *Service) applyEvent(ctx context.Context, tx *ent.Client, o *ent.Order, ev PaymentEvent) (string, error) {
	pay := stripePaymentOf(o)
	switch {
	case ev.Kind == "":
		return "event type not handled", nil
	case pay == nil:
		return "the order is not paid through Stripe", nil
	case ev.IntentID != "" && pay.StripePaymentIntentID != nil && *pay.StripePaymentIntentID != ev.IntentID:
		return "the PaymentIntent is not the order's", nil
	}
	upd := tx.Payment.UpdateOneID(pay.ID)
	if pay.StripePaymentIntentID == nil && ev.IntentID != "" {
		// The response that created the intent was lost; Stripe's word is as good.
		upd.SetStripePaymentIntentID(ev.IntentID)
	}
	if pay.StripeEventAt == nil || ev.Created.After(*pay.StripeEventAt) {
		upd.SetStripeEventAt(ev.Created)
	}
	switch ev.Kind {
	case PaymentSucceeded:
		if pay.Status == payment.StatusSucceeded {
			return "the payment has already succeeded", nil
		}
		if ev.Amount != pay.Amount || !strings.EqualFold(ev.Currency, pay.Currency) {
			return "the PaymentIntent's amount is not the order's", nil
		}
		if err := upd.SetStatus(payment.StatusSucceeded).SetFailureMessage("").Exec(ctx); err != nil {
			return "", apperr.From(err)
		}
		return "", s.settle(ctx, tx, o, pay.AmountRefunded, ev.Created)
	case PaymentFailed:
		switch {
		case pay.Status == payment.StatusSucceeded || pay.Status == payment.StatusCanceled:
			return "the payment has already " + string(pay.Status), nil
		case pay.StripeEventAt != nil && ev.Created.Before(*pay.StripeEventAt):
			return "a newer event was applied", nil
		}
		if err := upd.SetStatus(payment.StatusFailed).SetFailureMessage(ev.FailureMessage).Exec(ctx); err != nil {
			return "", apperr.From(err)
		}
		if o.Status != order.StatusOpen {
			return "", nil
		}
		return "", email.Queue(ctx, tx, email.Event{Kind: emailmessage.KindPaymentFailed, Order: o})
	case PaymentCanceled:
		if pay.Status == payment.StatusSucceeded {
			return "the payment has already succeeded", nil
		}
		if err := upd.SetStatus(payment.StatusCanceled).Exec(ctx); err != nil {
			return "", apperr.From(err)
		}
		if o.Status != order.StatusOpen || o.FinancialStatus != order.FinancialStatusPending || o.FulfillmentStatus == order.FulfillmentStatusFulfilled {
			return "", nil
		}
		// Already cancelled at Stripe: nothing for the cancel job to do.
		pay.Status, pay.StripeEventAt = payment.StatusCanceled, &ev.Created
		return "", s.cancel(ctx, tx, o, "payment canceled")
	case ChargeRefunded:
		if ev.AmountRefunded <= pay.AmountRefunded {
			return "no more refunded than already recorded", nil
		}
		if err := upd.Exec(ctx); err != nil {
			return "", apperr.From(err)
		}
		return "", s.recordRefunded(ctx, tx, o, pay, min(ev.AmountRefunded, pay.Amount), ev.Created)
	case RefundChanged:
		if err := upd.Exec(ctx); err != nil {
			return "", apperr.From(err)
		}
		return s.applyRefund(ctx, tx, o, pay, ev)
	}
	return "event type not handled", nil
}

// applyRefund moves the order's refund row along the refund event, creating it for a
// refund made outside Mercantile.
func (s *Service) applyRefund(ctx context.Context, tx *ent.Client, o *ent.Order, pay *ent.Payment, ev PaymentEvent) (string, error) {
	r := ev.Refund
	row := refundOf(o, ev.RefundID, r.ID)
	if row == nil {
		if ev.RefundAmount <= 0 || (r.Status != "succeeded" && r.Status != "pending" && r.Status != "requires_action") {
			return "an unknown refund that did not go through", nil
		}
		created, err := tx.Refund.Create().SetOrderID(o.ID).SetPaymentID(pay.ID).SetAmount(ev.RefundAmount).
			SetCurrency(o.Currency).SetReason("refunded in Stripe").SetStripeRefundID(r.ID).Save(ctx)
		if err != nil {
			return "", apperr.From(err)
		}
		row = created
	}
	return s.applyRefundResult(ctx, tx, o, pay, row, *r, ev.Created)
}

// refundOf finds the order's refund row by its id (from metadata) or Stripe's.
func refundOf(o *ent.Order, id pulid.ID, stripeID string) *ent.Refund {
	for _, r := range o.Edges.Refunds {
		if (id != "" && r.ID == id) || (stripeID != "" && r.StripeRefundID != nil && *r.StripeRefundID == stripeID) {
			return r
		}
	}
	return nil
}

// applyRefundResult moves a refund row to what Stripe says of it, from the refund call's
// answer or a webhook: both may arrive, in either order, and count once. A succeeded
// refund is never taken back, even by a later failure: refunded amounts only grow. A
// failed row still succeeds when Stripe says it went through. It returns why nothing
// changed, or "".
func (s *Service) applyRefundResult(ctx context.Context, tx *ent.Client, o *ent.Order, pay *ent.Payment, row *ent.Refund, r RefundResult, at time.Time) (string, error) {
	upd := tx.Refund.UpdateOneID(row.ID)
	if row.StripeRefundID == nil && r.ID != "" {
		upd.SetStripeRefundID(r.ID)
	}
	target := refund.StatusPending
	switch r.Status {
	case "succeeded":
		target = refund.StatusSucceeded
	case "failed":
		target = refund.StatusFailed
	case "canceled":
		target = refund.StatusCanceled
	}
	switch {
	case row.Status == target:
		return "the refund is already " + string(target), apperr.Translate(upd.Exec(ctx))
	case row.Status == refund.StatusSucceeded:
		return "a succeeded refund is never taken back", apperr.Translate(upd.Exec(ctx))
	case target == refund.StatusPending:
		return "", apperr.Translate(upd.Exec(ctx))
	case target != refund.StatusSucceeded:
		return "", apperr.Translate(upd.SetStatus(target).SetFailureMessage(r.FailureReason).Exec(ctx))
	}
	confirmed, err := upd.SetStatus(refund.StatusSucceeded).SetFailureMessage("").Save(ctx)
	if err != nil {
		return "", apperr.From(err)
	}
	sum, err := tx.Refund.Query().Where(refund.PaymentID(pay.ID), refund.StatusEQ(refund.StatusSucceeded)).
		Aggregate(ent.Sum(refund.FieldAmount)).Int(ctx)
	if err != nil {
		return "", apperr.From(err)
	}
	if err := s.recordRefunded(ctx, tx, o, pay, max(pay.AmountRefunded, int64(sum)), at); err != nil {
		return "", err
	}
	return "", email.Queue(ctx, tx, email.Event{Kind: emailmessage.KindRefundIssued, Order: o, Refund: confirmed})
}

// recordRefunded raises the payment's refunded amount to refunded. A refund implies the
// payment succeeded, so it counts as paid even when its own event has not come yet.
func (s *Service) recordRefunded(ctx context.Context, tx *ent.Client, o *ent.Order, pay *ent.Payment, refunded int64, at time.Time) error {
	upd := tx.Payment.UpdateOneID(pay.ID).SetAmountRefunded(max(refunded, pay.AmountRefunded))
	if pay.Status != payment.StatusSucceeded {
		upd.SetStatus(payment.StatusSucceeded).SetFailureMessage("")
	}
	if err := upd.Exec(ctx); err != nil {
		return apperr.From(err)
	}
	return s.settle(ctx, tx, o, max(refunded, pay.AmountRefunded), at)
}

// settle derives the financial_status of an order whose Stripe payment succeeded from
// what has been refunded of it. A cancelled (voided) order that was paid anyway becomes
// paid, for the merchant to refund; a pending one stops expiring.
func (s *Service) settle(ctx context.Context, tx *ent.Client, o *ent.Order, refunded int64, paidAt time.Time) error {
	status := order.FinancialStatusPaid
	switch {
	case refunded >= o.Total:
		status = order.FinancialStatusRefunded
	case refunded > 0:
		status = order.FinancialStatusPartiallyRefunded
	}
	upd := tx.Order.UpdateOneID(o.ID).SetFinancialStatus(status).SetAmountRefunded(refunded).ClearReservationExpiresAt()
	if o.PaidAt == nil {
		upd.SetPaidAt(paidAt)
	}
	return apperr.Translate(upd.Exec(ctx))
}

// Refund refunds a paid order. A manual payment is recorded at once (RecordRefund). A
// Stripe payment gets a pending refund row first, checked against what is paid and not
// yet refunded or being refunded while the order is locked, and in the same transaction
// a SubmitRefundArgs job that will ask Stripe again should this call not settle it.
// Stripe is then asked, outside any transaction, with the row's id as idempotency key,
// and financial_status moves only once Stripe confirms, in its answer or a webhook.
//
// When Stripe refuses, the row is failed and its amount can be refunded again. When the
// outcome is unknown (no answer, a 5xx, Stripe refusing the server's key), the refund
// may exist at Stripe: the row stays pending, so its amount stays held and no retry can
// refund it twice, and the order is returned as it is, the refund listed as pending.
// The job, or a webhook, settles it.
// Errors: not_found, invalid (amount), invalid_state_transition (nothing paid to refund),
// conflict or invalid (Stripe refused).
func (s *Service) Refund(ctx context.Context, id pulid.ID, amount *int64, reason string) (*ent.Order, error) {
	o, err := s.Order(ctx, id)
	if err != nil {
		return nil, err
	}
	if stripePaymentOf(o) == nil {
		return s.RecordRefund(ctx, id, amount, reason)
	}
	if s.payments == nil {
		return nil, invalidTransition("Order %s was paid through Stripe, which is not configured.", o.Name)
	}
	var row *ent.Refund
	var intentID string
	_, err = s.transition(ctx, id, func(ctx context.Context, tx *ent.Client, o *ent.Order) error {
		pay := stripePaymentOf(o)
		if (o.FinancialStatus != order.FinancialStatusPaid && o.FinancialStatus != order.FinancialStatusPartiallyRefunded) ||
			pay.Status != payment.StatusSucceeded || pay.StripePaymentIntentID == nil {
			return invalidTransition("Order %s is %s; only paid orders can be refunded.", o.Name, o.FinancialStatus)
		}
		refundable := pay.Amount - pay.AmountRefunded
		for _, r := range o.Edges.Refunds {
			if r.PaymentID == pay.ID && r.Status == refund.StatusPending {
				refundable -= r.Amount
			}
		}
		amt := refundable
		if amount != nil {
			amt = *amount
		}
		if amt <= 0 || amt > refundable {
			return apperr.New(apperr.Invalid, "amount must be between 1 and %d.", refundable).
				WithField("amount", "more than what was paid and is not refunded or being refunded")
		}
		intentID = *pay.StripePaymentIntentID
		row, err = tx.Refund.Create().SetOrderID(o.ID).SetPaymentID(pay.ID).SetAmount(amt).SetCurrency(o.Currency).
			SetReason(strings.TrimSpace(reason)).Save(ctx)
		if err != nil {
			return apperr.From(err)
		}
		return s.submitRefundLater(ctx, o.MerchantID, row)
	})
	if err != nil {
		return nil, err
	}
	res, err := s.payments.CreateRefund(ctx, refundRequest(o, intentID, row))
	if apperr.CodeOf(err) == apperr.Unavailable {
		s.log.WarnContext(ctx, "the refund's outcome at Stripe is unknown; it stays pending for its job to settle", "order_id", id, "refund_id", row.ID, "err", err)
		return s.Order(ctx, id)
	}
	// Recorded even when the client has gone: the refund may exist at Stripe now.
	settled, refused, terr := s.settleRefund(context.WithoutCancel(ctx), id, row.ID, res, err)
	switch {
	case terr != nil:
		return nil, terr
	case err != nil:
		return nil, err
	case refused != "":
		return nil, apperr.New(apperr.Conflict, "Stripe did not refund: %s", refused)
	}
	return settled, nil
}

// refundRequest asks Stripe for the refund row of order o. Its idempotency key is the
// row's, so every call for the row, Refund's and its job's, gets Stripe's one refund.
func refundRequest(o *ent.Order, intentID string, row *ent.Refund) RefundRequest {
	return RefundRequest{
		MerchantID: o.MerchantID, OrderID: o.ID, RefundID: row.ID, IntentID: intentID, Amount: row.Amount,
		Reason: row.Reason, IdempotencyKey: "refund-" + row.ID.String(),
	}
}

// settleRefund records Stripe's answer to a refund call on the refund row, as
// applyRefundResult does for webhooks: res, or the refusal, which fails the row. It
// returns the order afterwards and, when the refund did not go through, Stripe's reason.
func (s *Service) settleRefund(ctx context.Context, orderID, refundID pulid.ID, res RefundResult, refusal error) (*ent.Order, string, error) {
	if refusal != nil {
		res = RefundResult{Status: "failed", FailureReason: apperr.From(refusal).Message}
	}
	var refused string
	settled, err := s.transition(ctx, orderID, func(ctx context.Context, tx *ent.Client, o *ent.Order) error {
		row := refundOf(o, refundID, "")
		if _, err := s.applyRefundResult(ctx, tx, o, stripePaymentOf(o), row, res, s.now()); err != nil {
			return err
		}
		if row.Status != refund.StatusSucceeded && (res.Status == "failed" || res.Status == "canceled") {
			refused = res.FailureReason
		}
		return nil
	})
	return settled, refused, err
}

// DefaultRefundSubmitDelay is NewService's refund submit delay (SetRefundSubmitDelay).
const DefaultRefundSubmitDelay = time.Minute

// SetRefundSubmitDelay sets how long after a Stripe refund is written its
// SubmitRefundArgs job first runs (tests shorten it).
func (s *Service) SetRefundSubmitDelay(d time.Duration) { s.refundSubmitDelay = d }

// refundKeyLifetime is how long after its first call a refund row's idempotency key may
// be used again: Stripe forgets keys once they are 24 hours old, after which the same key
// could make a second refund. An hour is kept in hand.
const refundKeyLifetime = 23 * time.Hour

// SubmitRefundArgs is the job that settles a Stripe refund row whatever happened to
// Refund's own call: the answer lost (no answer, a 5xx) or the call never made (the
// process stopped between the commit and the call). Refund enqueues it in the
// transaction that writes the row, so the row never exists without it. It asks Stripe
// again under the row's idempotency key, for which Stripe answers with the refund it
// made, if any, rather than making a second one.
type SubmitRefundArgs struct {
	MerchantID pulid.ID `json:"merchant_id"`
	OrderID    pulid.ID `json:"order_id"`
	RefundID   pulid.ID `json:"refund_id"`
}

// Kind implements river.JobArgs.
func (SubmitRefundArgs) Kind() string { return "submit_refund" }

// InsertOpts makes one job per refund. Its 13 attempts span about 17 hours of River's
// backoff (attempt⁴ seconds), inside the lifetime of the row's idempotency key.
func (SubmitRefundArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 13, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// submitRefundLater enqueues the job of a refund row, in the transaction that writes it.
func (s *Service) submitRefundLater(ctx context.Context, merchantID pulid.ID, row *ent.Refund) error {
	args := SubmitRefundArgs{MerchantID: merchantID, OrderID: row.OrderID, RefundID: row.ID}
	if err := jobs.Enqueue(ctx, args, &river.InsertOpts{ScheduledAt: s.now().Add(s.refundSubmitDelay)}); err != nil {
		return apperr.Wrap(err, apperr.Internal, "Scheduling the refund's submission to Stripe failed.")
	}
	return nil
}

// SubmitRefundWorker returns the worker of SubmitRefundArgs, to register with the queue.
func (s *Service) SubmitRefundWorker() river.Worker[SubmitRefundArgs] {
	return &submitRefundWorker{svc: s}
}

type submitRefundWorker struct {
	river.WorkerDefaults[SubmitRefundArgs]
	svc *Service
}

// Work asks Stripe for a refund row still pending with no answer from Stripe, and
// applies the answer as Refund does. A row Stripe answered for, or that is settled, is
// left to the webhooks. An unknown outcome is retried; when the attempts or the key's
// lifetime run out, the row stays pending, its amount held, until a Stripe event
// settles it: guessing either way could refund twice or never. (Stripe replays a 500
// for as long as it keeps the key, so a refund it answered 500 for is in practice
// settled by its webhook; lost answers, 503s and calls never made are the job's.)
func (w *submitRefundWorker) Work(ctx context.Context, job *river.Job[SubmitRefundArgs]) error {
	s := w.svc
	if s.payments == nil {
		return river.JobCancel(errors.New("stripe is not configured"))
	}
	ctx = viewer.MerchantSystemContext(ctx, job.Args.MerchantID)
	o, err := s.Order(ctx, job.Args.OrderID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	row, pay := refundOf(o, job.Args.RefundID, ""), stripePaymentOf(o)
	switch {
	case row == nil || pay == nil || pay.StripePaymentIntentID == nil:
		return river.JobCancel(fmt.Errorf("orders: order %s has no Stripe refund %s", o.ID, job.Args.RefundID))
	case row.Status != refund.StatusPending || row.StripeRefundID != nil:
		return nil
	case s.now().Sub(row.CreatedAt) > refundKeyLifetime:
		s.log.ErrorContext(ctx, "the refund's outcome at Stripe is still unknown and its idempotency key is too old to ask again; it stays pending until a Stripe event settles it",
			"order_id", o.ID, "refund_id", row.ID)
		return river.JobCancel(errors.New("the refund's idempotency key expired"))
	}
	res, err := s.payments.CreateRefund(ctx, refundRequest(o, *pay.StripePaymentIntentID, row))
	if apperr.CodeOf(err) == apperr.Unavailable {
		return err
	}
	_, _, err = s.settleRefund(context.WithoutCancel(ctx), o.ID, row.ID, res, err)
	return err
}
