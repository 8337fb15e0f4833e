package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Variant is a sellable unit of a product: one combination of its option values, with its
// own SKU and price. Option values sit in three columns (as Shopify's option1..3) so the
// database itself keeps combinations unique within a product.
type Variant struct {
	ent.Schema
}

func (Variant) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("var"), tenantMixin{}, timeMixin{}}
}

func (Variant) Fields() []ent.Field {
	return []ent.Field{
		field.String("product_id").GoType(pulidID),
		field.String("sku").NotEmpty().MaxLen(64).
			Annotations(entgql.OrderField("SKU")),
		field.String("title").Default("").MaxLen(255).
			Comment("the option values joined, \"Red / M\"; Default Title when there are none"),
		field.String("option1").Default("").MaxLen(255),
		field.String("option2").Default("").MaxLen(255),
		field.String("option3").Default("").MaxLen(255),
		field.Int64("price").Default(0).NonNegative().Annotations(entgql.OrderField("PRICE")),
		field.Int64("compare_at_price").Optional().Nillable().NonNegative(),
		field.String("barcode").Default("").MaxLen(64),
		field.Int("weight_grams").Default(0).NonNegative(),
		field.Int("position").Default(1),
		field.Int64("shopify_id").Optional().Nillable(),
		field.Int64("shopify_inventory_item_id").Optional().Nillable(),
		field.String("image_id").GoType(pulidID).Optional().Nillable().
			Comment("the image of its product that shows this variant (Shopify's Variant Image); cleared when the image is deleted"),
	}
}

func (Variant) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("product", Product.Type).Ref("variants").
			Field("product_id").Unique().Required(),
		edge.To("inventory_levels", InventoryLevel.Type),
		// Optional, so the foreign key is ON DELETE SET NULL: deleting an image unlinks
		// its variants instead of being refused.
		edge.To("image", ProductImage.Type).Field("image_id").Unique(),
	}
}

func (Variant) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("merchant_id", "sku").Unique(),
		index.Fields("merchant_id", "product_id", "option1", "option2", "option3").Unique(),
		index.Fields("merchant_id", "shopify_id").Unique(),
		index.Fields("merchant_id", "shopify_inventory_item_id"),
		index.Fields("merchant_id", "barcode"),
		// Without merchant_id first: it serves the foreign key's ON DELETE SET NULL, which
		// looks variants up by image_id alone whenever an image is deleted.
		index.Fields("image_id"),
	}
}

func (Variant) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField(),
	}
}
