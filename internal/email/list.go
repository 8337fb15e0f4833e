package email

import (
	"context"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/emailmessage"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/paging"
	"github.com/mercantile/mercantile/internal/pulid"
)

// ListFilter narrows the outbox list; empty fields do not filter.
type ListFilter struct {
	OrderID string
	Kind    string
	Status  string
}

// List returns a keyset page of the viewer's merchant's outbox, newest first. Storefront
// keys are denied by the entity's privacy policy.
// Errors: invalid (filter values), forbidden.
func (s *Service) List(ctx context.Context, f ListFilter, p paging.Page) ([]*ent.EmailMessage, bool, error) {
	// Ids are ULIDs, so descending id order is newest first and "after" a cursor means
	// "older than it".
	q := s.client.EmailMessage.Query().Order(ent.Desc(emailmessage.FieldID)).Limit(p.Limit + 1)
	if p.After != "" {
		q.Where(emailmessage.IDLT(p.After))
	}
	var v apperr.Validation
	if f.OrderID != "" {
		q.Where(emailmessage.OrderID(pulid.ID(f.OrderID)))
	}
	if f.Kind != "" {
		if emailmessage.KindValidator(emailmessage.Kind(f.Kind)) != nil {
			v.Add("kind", "must be order_confirmation, payment_failed, shipment_sent, order_cancelled or refund_issued")
		}
		q.Where(emailmessage.KindEQ(emailmessage.Kind(f.Kind)))
	}
	if f.Status != "" {
		if emailmessage.StatusValidator(emailmessage.Status(f.Status)) != nil {
			v.Add("status", "must be queued, sent, logged or failed")
		}
		q.Where(emailmessage.StatusEQ(emailmessage.Status(f.Status)))
	}
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	rows, err := q.All(ctx)
	if err != nil {
		return nil, false, apperr.From(err)
	}
	rows, more := paging.Trim(rows, p)
	return rows, more, nil
}
