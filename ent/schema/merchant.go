package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"

	"github.com/mercantile/mercantile/internal/auth/rule"
)

// Merchant is a tenant: a business selling through Mercantile. Everything else belongs
// to exactly one merchant.
type Merchant struct {
	ent.Schema
}

func (Merchant) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("mer"), timeMixin{}}
}

func (Merchant) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(255),
		field.String("handle").NotEmpty().MaxLen(64).Unique().Immutable(),
		field.String("currency").Default("USD").MinLen(3).MaxLen(3).
			Comment("ISO 4217 code; every amount of this merchant is in it"),
		field.Enum("status").Values("onboarding", "active", "sunset").Default("onboarding").
			Comment("migration stage: importing, running beside the old sheets, or moved over"),
		field.String("shopify_shop_domain").Optional().Nillable().Unique(),
		field.String("shopify_access_token").Optional().Nillable().Sensitive().
			Annotations(entgql.Skip()),
		field.Time("shopify_uninstalled_at").Optional().Nillable(),
		field.Int64("shipping_flat_rate").Default(0).NonNegative().Comment("added to every order's shipping_total"),
		field.Int("tax_rate_bps").Default(0).Min(0).Max(10000).
			Comment("tax in basis points of the subtotal"),
		field.Int64("last_order_number").Default(1000).
			Comment("the last order number handed out; orders count up from it"),
	}
}

func (Merchant) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Type("Merchant")}
}

// Policy lets a viewer see only their own merchant and only owners change it; merchants
// are created by the system (CLI, first start).
func (Merchant) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			rule.DenyIfNoViewer(),
			rule.FilterByColumn("id"),
		},
		Mutation: privacy.MutationPolicy{
			rule.DenyIfNoViewer(),
			privacy.DenyMutationOperationRule(ent.OpCreate | ent.OpDelete | ent.OpDeleteOne),
			rule.DenyIfNotOwner(),
			rule.FilterByColumn("id"),
		},
	}
}
