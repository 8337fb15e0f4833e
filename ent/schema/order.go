package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/mercantile/mercantile/internal/postal"
)

// Order follows Shopify's model so imports map one to one: status, financial_status and
// fulfillment_status move only through the explicit transitions in internal/orders.
type Order struct {
	ent.Schema
}

func (Order) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("ord"), tenantMixin{}, timeMixin{}}
}

func (Order) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("number").Immutable().
			Annotations(entgql.OrderField("NUMBER")),
		field.String("name").Default("").
			Comment(`the display name, "#1001"; Shopify's for imported orders`),
		field.String("email").MaxLen(254),
		field.String("currency").MinLen(3).MaxLen(3),
		field.Enum("status").Values("open", "closed", "cancelled").Default("open"),
		field.Enum("financial_status").
			Values("pending", "paid", "partially_refunded", "refunded", "voided").
			Default("pending"),
		field.Enum("fulfillment_status").
			Values("unfulfilled", "partial", "fulfilled").
			Default("unfulfilled"),
		field.Int64("subtotal").Default(0).NonNegative(),
		field.Int64("shipping_total").Default(0).NonNegative(),
		field.Int64("tax_total").Default(0).NonNegative(),
		field.Int64("total").Default(0).NonNegative().Annotations(entgql.OrderField("TOTAL")),
		field.Int64("amount_refunded").Default(0).NonNegative(),
		field.JSON("shipping_address", postal.Address{}).Optional().
			Annotations(entgql.Skip()),
		field.String("note").Default("").MaxLen(5000),
		field.Enum("source").Values("api", "shopify", "import").Default("api").Immutable(),
		field.Int64("shopify_id").Optional().Nillable(),
		field.Time("shopify_updated_at").Optional().Nillable().
			Comment("the updated_at of the last Shopify payload applied; older ones are ignored"),
		field.Time("reservation_expires_at").Optional().Nillable().
			Comment("when an unpaid order's reservation lapses and the order is cancelled"),
		field.Time("processed_at").Optional().Nillable().
			Comment("when the order was placed at its source (imports keep history)"),
		field.Time("paid_at").Optional().Nillable(),
		field.Time("cancelled_at").Optional().Nillable(),
		field.String("cancel_reason").Default(""),
		field.Time("closed_at").Optional().Nillable(),
	}
}

func (Order) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("line_items", OrderLineItem.Type),
		edge.To("shipments", Shipment.Type),
		edge.To("payments", Payment.Type),
		edge.To("refunds", Refund.Type),
	}
}

func (Order) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("merchant_id", "number").Unique(),
		index.Fields("merchant_id", "shopify_id").Unique(),
		index.Fields("merchant_id", "created_at", "id"),
		index.Fields("merchant_id", "status", "id"),
		index.Fields("merchant_id", "financial_status", "reservation_expires_at"),
		index.Fields("merchant_id", "fulfillment_status", "id"),
		index.Fields("merchant_id", "email"),
	}
}

func (Order) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField(),
	}
}

func (Order) Policy() ent.Policy { return privatePolicy() }
