// Package email owns transactional email: the outbox (ent EmailMessage) written in the
// transaction of the order transition that causes an email, the templates rendered at
// that moment, and the River job that later hands the row to SendGrid or, without a
// SendGrid key, to the log. It does not decide when an email is due: internal/orders
// calls Queue from its transitions. Nothing here changes orders.
package email

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/emailmessage"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/jobs"
	"github.com/mercantile/mercantile/internal/pulid"
)

// Event says which email an order transition causes.
type Event struct {
	Kind     emailmessage.Kind // order_confirmation, payment_failed, shipment_sent, order_cancelled, refund_issued
	Order    *ent.Order        // required
	Shipment *ent.Shipment     // shipment_sent only
	Refund   *ent.Refund       // refund_issued only
}

// dedupKey is what makes an email unique per merchant: one of each kind per order, one
// shipment_sent per shipment, one refund_issued per refund.
func (e Event) dedupKey() string {
	switch e.Kind {
	case emailmessage.KindShipmentSent:
		return fmt.Sprintf("%s:%s:%s", e.Kind, e.Order.ID, e.Shipment.ID)
	case emailmessage.KindRefundIssued:
		return fmt.Sprintf("%s:%s:%s", e.Kind, e.Order.ID, e.Refund.ID)
	}
	return fmt.Sprintf("%s:%s", e.Kind, e.Order.ID)
}

func (e Event) validate() error {
	switch {
	case emailmessage.KindValidator(e.Kind) != nil:
		return fmt.Errorf("email: unknown kind %q", e.Kind)
	case e.Order == nil:
		return errors.New("email: an event needs its order")
	case e.Kind == emailmessage.KindShipmentSent && (e.Shipment == nil || e.Shipment.OrderID != e.Order.ID):
		return errors.New("email: shipment_sent needs a shipment of the order")
	case e.Kind == emailmessage.KindRefundIssued && (e.Refund == nil || e.Refund.OrderID != e.Order.ID):
		return errors.New("email: refund_issued needs a refund of the order")
	}
	return nil
}

// Queue writes the outbox row and enqueues its River send job in the caller's
// transaction (must run inside database.InTx with tx the transaction's client). At most
// one email per (order, kind, shipment) — and per refund for refund_issued: a duplicate
// is skipped silently.
//
// Subject and bodies are rendered now, from the order as the transition left it, so the
// email says what was true when it happened even if it is sent hours later.
func Queue(ctx context.Context, tx *ent.Client, e Event) error {
	if err := e.validate(); err != nil {
		return apperr.Wrap(err, apperr.Internal, "Queueing an email failed.")
	}
	// Outside a transaction the row and the job would be written separately, and a
	// transition rolled back afterwards would still send its email.
	if ent.TxFromContext(ctx) == nil {
		return apperr.Wrap(errors.New("email: Queue called outside database.InTx"), apperr.Internal, "Queueing an email failed.")
	}
	data, err := load(ctx, tx, e)
	if err != nil {
		return err
	}
	msg, err := render(&data)
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "Rendering an email failed.")
	}
	encoded, err := json.Marshal(data)
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "Queueing an email failed.")
	}
	id := pulid.New("eml")
	create := tx.EmailMessage.Create().SetID(id).SetMerchantID(e.Order.MerchantID).
		SetKind(e.Kind).SetDedupKey(e.dedupKey()).SetOrderID(e.Order.ID).SetToAddress(e.Order.Email).
		SetSubject(msg.subject).SetHTMLBody(msg.html).SetTextBody(msg.text)
	if e.Kind == emailmessage.KindShipmentSent {
		create.SetShipmentID(e.Shipment.ID)
	}
	// DO NOTHING rather than catching the unique violation: on PostgreSQL a failed
	// statement aborts the caller's whole transaction.
	_, err = create.OnConflictColumns(emailmessage.FieldMerchantID, emailmessage.FieldDedupKey).DoNothing().ID(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return apperr.From(err)
	}
	return jobs.Enqueue(ctx, SendArgs{MessageID: id, MerchantID: e.Order.MerchantID, Data: encoded}, nil)
}

// SendArgs is the job that sends one outbox row.
type SendArgs struct {
	MessageID  pulid.ID `json:"message_id" river:"unique"`
	MerchantID pulid.ID `json:"merchant_id"`
	// Data is what the bodies were rendered from, kept for SendGrid dynamic templates
	// (dynamic_template_data), which render on SendGrid's side at send time.
	Data json.RawMessage `json:"data"`
}

// Kind implements river.JobArgs.
func (SendArgs) Kind() string { return "send_email" }

// InsertOpts bounds retries (MaxAttempts with the worker's backoff spans about four
// hours) and makes the job unique per outbox row, so a row is never worked by two jobs.
func (SendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}
