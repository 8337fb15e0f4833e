package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/mercantile/mercantile/internal/postal"
)

// Warehouse is a place stock is kept and shipped from. Lower priority ships first.
type Warehouse struct {
	ent.Schema
}

func (Warehouse) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("wh"), tenantMixin{}, timeMixin{}}
}

func (Warehouse) Fields() []ent.Field {
	return []ent.Field{
		field.String("code").NotEmpty().MaxLen(64).
			Annotations(entgql.OrderField("CODE")),
		field.String("name").NotEmpty().MaxLen(255),
		field.Int("priority").Default(100).
			Annotations(entgql.OrderField("PRIORITY")),
		field.JSON("address", postal.Address{}).Optional().
			Annotations(entgql.Skip()),
		field.Bool("active").Default(true),
		field.Int64("shopify_location_id").Optional().Nillable(),
	}
}

func (Warehouse) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("merchant_id", "code").Unique(),
		index.Fields("merchant_id", "priority", "code"),
		index.Fields("merchant_id", "shopify_location_id").Unique(),
	}
}

func (Warehouse) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField(),
	}
}
