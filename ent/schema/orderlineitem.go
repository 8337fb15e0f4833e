package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// OrderLineItem is one SKU of an order, priced from the catalog at placement. SKU and
// title are copied so the order reads the same after the catalog changes.
type OrderLineItem struct {
	ent.Schema
}

func (OrderLineItem) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("oli"), tenantMixin{}, timeMixin{}}
}

func (OrderLineItem) Fields() []ent.Field {
	return []ent.Field{
		field.String("order_id").GoType(pulidID).Immutable(),
		field.String("variant_id").GoType(pulidID).Optional().Nillable().
			Comment("empty for imported lines whose variant no longer exists"),
		field.String("sku").MaxLen(64),
		field.String("title").Default(""),
		field.String("variant_title").Default(""),
		field.Int("quantity").Positive(),
		field.Int64("unit_price").Default(0).NonNegative(),
		field.Int64("total").Default(0).NonNegative(),
		field.Int64("shopify_line_item_id").Optional().Nillable(),
	}
}

func (OrderLineItem) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("order", Order.Type).Ref("line_items").
			Field("order_id").Unique().Required().Immutable(),
		edge.To("variant", Variant.Type).Field("variant_id").Unique(),
	}
}

func (OrderLineItem) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("merchant_id", "order_id"),
		index.Fields("merchant_id", "variant_id"),
	}
}

func (OrderLineItem) Policy() ent.Policy { return privatePolicy() }
