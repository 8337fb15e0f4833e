package inventory

import (
	"context"
	"regexp"
	"strings"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/warehouse"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/paging"
	"github.com/mercantile/mercantile/internal/postal"
	"github.com/mercantile/mercantile/internal/pulid"
)

// WarehouseInput creates a warehouse or, with nil fields left alone, changes one.
type WarehouseInput struct {
	Code     *string         `json:"code"`
	Name     *string         `json:"name"`
	Address  *postal.Address `json:"address"`
	Priority *int            `json:"priority"`
	Active   *bool           `json:"active"`
}

var warehouseCode = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func (in WarehouseInput) validate(creating bool) error {
	var v apperr.Validation
	if in.Code != nil || creating {
		if in.Code == nil || !warehouseCode.MatchString(strings.TrimSpace(*in.Code)) {
			v.Add("code", "must be 1 to 64 letters, digits, dots, dashes or underscores")
		}
	}
	if in.Name != nil || creating {
		if in.Name == nil || strings.TrimSpace(*in.Name) == "" || len(*in.Name) > 255 {
			v.Add("name", "must be 1 to 255 characters")
		}
	}
	if in.Priority != nil && (*in.Priority < 0 || *in.Priority > 1_000_000) {
		v.Add("priority", "must be between 0 and 1000000; lower ships first")
	}
	return v.Err()
}

// CreateWarehouse adds a warehouse.
// Errors: invalid, conflict (code taken), forbidden.
func (s *Service) CreateWarehouse(ctx context.Context, in WarehouseInput) (*ent.Warehouse, error) {
	if err := mayWrite(ctx); err != nil {
		return nil, err
	}
	if err := in.validate(true); err != nil {
		return nil, err
	}
	create := s.client.Warehouse.Create().SetCode(strings.TrimSpace(*in.Code)).SetName(strings.TrimSpace(*in.Name)).
		SetNillablePriority(in.Priority).SetNillableActive(in.Active)
	if in.Address != nil {
		create.SetAddress(*in.Address)
	}
	w, err := create.Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, apperr.New(apperr.Conflict, "A warehouse with code %s already exists.", *in.Code).WithField("code", "is taken")
	}
	return w, apperr.Translate(err)
}

// UpdateWarehouse changes a warehouse.
// Errors: not_found, invalid, conflict (code taken), forbidden.
func (s *Service) UpdateWarehouse(ctx context.Context, id pulid.ID, in WarehouseInput) (*ent.Warehouse, error) {
	if err := mayWrite(ctx); err != nil {
		return nil, err
	}
	if err := in.validate(false); err != nil {
		return nil, err
	}
	upd := s.client.Warehouse.UpdateOneID(id).SetNillablePriority(in.Priority).SetNillableActive(in.Active)
	if in.Code != nil {
		upd.SetCode(strings.TrimSpace(*in.Code))
	}
	if in.Name != nil {
		upd.SetName(strings.TrimSpace(*in.Name))
	}
	if in.Address != nil {
		upd.SetAddress(*in.Address)
	}
	w, err := upd.Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, apperr.New(apperr.Conflict, "Another warehouse has that code.").WithField("code", "is taken")
	}
	return w, apperr.Translate(err)
}

// Warehouses lists warehouses a keyset page at a time, in creation order.
func (s *Service) Warehouses(ctx context.Context, p paging.Page) ([]*ent.Warehouse, bool, error) {
	q := s.client.Warehouse.Query().Order(ent.Asc(warehouse.FieldID)).Limit(p.Limit + 1)
	if p.After != "" {
		q.Where(warehouse.IDGT(p.After))
	}
	rows, err := q.All(ctx)
	if err != nil {
		return nil, false, apperr.From(err)
	}
	rows, more := paging.Trim(rows, p)
	return rows, more, nil
}
