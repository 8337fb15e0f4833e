package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// ShipmentLineItem is how many units of an order line a shipment carries. A line split
// across warehouses has one per shipment.
type ShipmentLineItem struct {
	ent.Schema
}

func (ShipmentLineItem) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("sli"), tenantMixin{}, timeMixin{}}
}

func (ShipmentLineItem) Fields() []ent.Field {
	return []ent.Field{
		field.String("shipment_id").GoType(pulidID).Immutable(),
		field.String("order_line_item_id").GoType(pulidID).Immutable(),
		field.String("variant_id").GoType(pulidID).Optional().Nillable().Immutable(),
		field.String("sku").MaxLen(64).Immutable(),
		field.Int("quantity").Positive().Immutable(),
	}
}

func (ShipmentLineItem) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("shipment", Shipment.Type).Ref("line_items").
			Field("shipment_id").Unique().Required().Immutable(),
		edge.To("order_line_item", OrderLineItem.Type).
			Field("order_line_item_id").Unique().Required().Immutable(),
		edge.To("variant", Variant.Type).Field("variant_id").Unique().Immutable(),
	}
}

func (ShipmentLineItem) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("merchant_id", "shipment_id"),
		index.Fields("merchant_id", "order_line_item_id"),
	}
}

func (ShipmentLineItem) Policy() ent.Policy { return privatePolicy() }
