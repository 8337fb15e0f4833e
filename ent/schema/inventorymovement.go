package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// InventoryMovement is one entry of the stock ledger: every change to a level writes one,
// so a level can be recomputed from its movements. Entries are never changed.
type InventoryMovement struct {
	ent.Schema
}

func (InventoryMovement) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("mov"), tenantMixin{}}
}

func (InventoryMovement) Fields() []ent.Field {
	return []ent.Field{
		field.String("variant_id").GoType(pulidID).Immutable(),
		field.String("warehouse_id").GoType(pulidID).Immutable(),
		field.String("order_id").GoType(pulidID).Optional().Nillable().Immutable(),
		field.String("sku").Immutable().Comment("the SKU at the time, for reading the ledger"),
		field.Int64("on_hand_delta").Default(0).Immutable(),
		field.Int64("reserved_delta").Default(0).Immutable(),
		field.Int64("on_hand_after").Immutable(),
		field.Int64("reserved_after").Immutable(),
		field.Enum("reason").
			Values("set", "adjust", "reserve", "release", "commit", "transfer_in",
				"transfer_out", "import", "shopify_sync", "return").
			Immutable(),
		field.String("note").Default("").MaxLen(1024).Immutable(),
		field.String("actor").Immutable().Comment(`"user:usr_...", "key:key_..." or "system"`),
		field.Time("created_at").Default(time.Now).Immutable().
			Annotations(entgql.OrderField("CREATED_AT")),
	}
}

func (InventoryMovement) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("variant", Variant.Type).Field("variant_id").Unique().Required().Immutable(),
		edge.To("warehouse", Warehouse.Type).Field("warehouse_id").Unique().Required().Immutable(),
		edge.To("order", Order.Type).Field("order_id").Unique().Immutable(),
	}
}

func (InventoryMovement) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("merchant_id", "variant_id", "created_at"),
		index.Fields("merchant_id", "order_id"),
	}
}

func (InventoryMovement) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

func (InventoryMovement) Policy() ent.Policy { return privatePolicy() }
