package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// InventoryLevel is the stock of one variant in one warehouse. available = on_hand -
// reserved. The CHECK constraints are the last line of defence against oversell; the
// inventory service's conditional updates are the mechanism.
type InventoryLevel struct {
	ent.Schema
}

func (InventoryLevel) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("lvl"), tenantMixin{}, timeMixin{}}
}

func (InventoryLevel) Fields() []ent.Field {
	return []ent.Field{
		field.String("variant_id").GoType(pulidID).Immutable(),
		field.String("warehouse_id").GoType(pulidID).Immutable(),
		field.Int64("on_hand").Default(0),
		field.Int64("reserved").Default(0),
		field.Time("shopify_updated_at").Optional().Nillable().
			Comment("updated_at of the last Shopify inventory_levels/update applied: an older delivery arriving late is ignored"),
	}
}

func (InventoryLevel) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("variant", Variant.Type).Ref("inventory_levels").
			Field("variant_id").Unique().Required().Immutable(),
		edge.To("warehouse", Warehouse.Type).
			Field("warehouse_id").Unique().Required().Immutable(),
	}
}

func (InventoryLevel) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("merchant_id", "variant_id", "warehouse_id").Unique(),
		index.Fields("merchant_id", "warehouse_id"),
	}
}

func (InventoryLevel) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Checks(map[string]string{
			"inventory_levels_on_hand_nonnegative":     "on_hand >= 0",
			"inventory_levels_reserved_nonnegative":    "reserved >= 0",
			"inventory_levels_reserved_within_on_hand": "reserved <= on_hand",
		}),
	}
}
