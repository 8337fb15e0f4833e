package orders

import (
	"context"
	"strings"
	"time"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/order"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/paging"
)

// ListFilter narrows an order list; empty fields do not filter.
type ListFilter struct {
	Status            string
	FinancialStatus   string
	FulfillmentStatus string
	CreatedAfter      string
	Email             string
}

// List returns a keyset page of orders, newest ids last, with their lines, shipments and
// payments.
// Errors: invalid (filter values).
func (s *Service) List(ctx context.Context, f ListFilter, p paging.Page) ([]*ent.Order, bool, error) {
	q := s.client.Order.Query().
		WithLineItems().
		WithShipments(func(sq *ent.ShipmentQuery) { sq.WithLineItems().WithWarehouse() }).
		WithPayments().
		Order(ent.Asc(order.FieldID)).Limit(p.Limit + 1)
	if p.After != "" {
		q.Where(order.IDGT(p.After))
	}
	var v apperr.Validation
	if f.Status != "" {
		if order.StatusValidator(order.Status(f.Status)) != nil {
			v.Add("status", "must be open, closed or cancelled")
		}
		q.Where(order.StatusEQ(order.Status(f.Status)))
	}
	if f.FinancialStatus != "" {
		if order.FinancialStatusValidator(order.FinancialStatus(f.FinancialStatus)) != nil {
			v.Add("financial_status", "must be pending, paid, partially_refunded, refunded or voided")
		}
		q.Where(order.FinancialStatusEQ(order.FinancialStatus(f.FinancialStatus)))
	}
	if f.FulfillmentStatus != "" {
		if order.FulfillmentStatusValidator(order.FulfillmentStatus(f.FulfillmentStatus)) != nil {
			v.Add("fulfillment_status", "must be unfulfilled, partial or fulfilled")
		}
		q.Where(order.FulfillmentStatusEQ(order.FulfillmentStatus(f.FulfillmentStatus)))
	}
	if f.CreatedAfter != "" {
		t, err := time.Parse(time.RFC3339, f.CreatedAfter)
		if err != nil {
			v.Add("created_after", "must be an RFC 3339 time")
		}
		q.Where(order.CreatedAtGT(t))
	}
	if f.Email != "" {
		q.Where(order.Email(strings.ToLower(strings.TrimSpace(f.Email))))
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
