package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Product is a catalog item with up to three options and its variants.
type Product struct {
	ent.Schema
}

func (Product) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("prd"), tenantMixin{}, timeMixin{}}
}

func (Product) Fields() []ent.Field {
	return []ent.Field{
		field.String("title").NotEmpty().MaxLen(255).
			Annotations(entgql.OrderField("TITLE")),
		field.String("handle").NotEmpty().MaxLen(255).
			Comment("URL slug, unique per merchant"),
		field.Text("description_html").Default("").
			Comment("sanitized on the way in"),
		field.String("vendor").Default("").MaxLen(255),
		field.String("product_type").Default("").MaxLen(255),
		field.Strings("tags").Optional(),
		field.Enum("status").Values("active", "draft", "archived").Default("active"),
		field.Int64("shopify_id").Optional().Nillable(),
		field.Time("shopify_updated_at").Optional().Nillable().
			Comment("the updated_at of the last Shopify payload applied; older ones are ignored"),
		field.Time("published_at").Optional().Nillable(),
	}
}

func (Product) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("options", ProductOption.Type).
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput | entgql.SkipMutationUpdateInput)),
		edge.To("variants", Variant.Type).
			Annotations(entgql.RelayConnection()),
		edge.To("images", ProductImage.Type),
	}
}

func (Product) Indexes() []ent.Index {
	return []ent.Index{
		// Keyset pages walk this index: a merchant's page never scans others' rows.
		index.Fields("merchant_id", "id"),
		index.Fields("merchant_id", "handle").Unique(),
		index.Fields("merchant_id", "shopify_id").Unique(),
		index.Fields("merchant_id", "status", "id"),
		index.Fields("merchant_id", "vendor", "id"),
		index.Fields("merchant_id", "product_type", "id"),
		index.Fields("merchant_id", "updated_at", "id"),
	}
}

func (Product) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField(),
	}
}
