package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// ProductImage is an image of a product in object storage. It is created pending with an
// upload URL and becomes uploaded once the object exists.
type ProductImage struct {
	ent.Schema
}

func (ProductImage) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("img"), tenantMixin{}, timeMixin{}}
}

func (ProductImage) Fields() []ent.Field {
	return []ent.Field{
		field.String("product_id").GoType(pulidID),
		field.String("storage_key").NotEmpty().
			Comment("object key in the bucket or media directory"),
		field.String("source_url").Default("").
			Comment("where an imported image came from"),
		field.String("content_type").NotEmpty(),
		field.Int64("size_bytes").Optional().Nillable().NonNegative(),
		field.Int("position").Default(1),
		field.String("alt").Default("").MaxLen(512),
		field.Enum("status").Values("pending", "uploaded").Default("pending"),
	}
}

func (ProductImage) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("product", Product.Type).Ref("images").
			Field("product_id").Unique().Required(),
	}
}

func (ProductImage) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("merchant_id", "product_id", "position"),
	}
}
