package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// ProductOption is one axis a product varies on ("Size": S, M, L). A product has at most
// three, as on Shopify; position 1 to 3 says which variant column holds its value.
type ProductOption struct {
	ent.Schema
}

func (ProductOption) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("opt"), tenantMixin{}, timeMixin{}}
}

func (ProductOption) Fields() []ent.Field {
	return []ent.Field{
		field.String("product_id").GoType(pulidID).Immutable(),
		field.String("name").NotEmpty().MaxLen(255),
		field.Int("position").Range(1, 3),
		field.Strings("values").Optional(),
	}
}

func (ProductOption) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("product", Product.Type).Ref("options").
			Field("product_id").Unique().Required().Immutable(),
	}
}

func (ProductOption) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("merchant_id", "product_id", "position").Unique(),
		index.Fields("merchant_id", "product_id", "name").Unique(),
	}
}
