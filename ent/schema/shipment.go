package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Shipment is the part of an order that ships from one warehouse. Shipping it commits its
// reserved stock; the order's fulfillment_status follows its shipments.
type Shipment struct {
	ent.Schema
}

func (Shipment) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("shp"), tenantMixin{}, timeMixin{}}
}

func (Shipment) Fields() []ent.Field {
	return []ent.Field{
		field.String("order_id").GoType(pulidID).Immutable(),
		field.String("warehouse_id").GoType(pulidID).Immutable(),
		field.Enum("status").Values("pending", "shipped", "delivered", "cancelled").Default("pending"),
		field.String("carrier").Default("").MaxLen(255),
		field.String("tracking_number").Default("").MaxLen(255),
		field.String("tracking_url").Default("").MaxLen(2048),
		field.Time("shipped_at").Optional().Nillable(),
		field.Time("delivered_at").Optional().Nillable(),
	}
}

func (Shipment) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("order", Order.Type).Ref("shipments").
			Field("order_id").Unique().Required().Immutable(),
		edge.To("warehouse", Warehouse.Type).Field("warehouse_id").Unique().Required().Immutable(),
		edge.To("line_items", ShipmentLineItem.Type),
	}
}

func (Shipment) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("merchant_id", "order_id"),
		index.Fields("merchant_id", "warehouse_id", "status"),
	}
}

func (Shipment) Policy() ent.Policy { return privatePolicy() }
