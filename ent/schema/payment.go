package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Payment is how an order is paid: manually (marked paid by staff) or by a Stripe
// PaymentIntent.
type Payment struct {
	ent.Schema
}

func (Payment) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("pay"), tenantMixin{}, timeMixin{}}
}

func (Payment) Fields() []ent.Field {
	return []ent.Field{
		field.String("order_id").GoType(pulidID).Immutable(),
		field.Enum("provider").Values("manual", "stripe").Immutable(),
		field.Enum("status").
			Values("pending", "requires_action", "processing", "succeeded", "failed", "canceled").
			Default("pending"),
		field.Int64("amount").Default(0).NonNegative(),
		field.String("currency").MinLen(3).MaxLen(3),
		field.Int64("amount_refunded").Default(0).NonNegative(),
		field.String("stripe_payment_intent_id").Optional().Nillable().Unique(),
		field.String("stripe_client_secret").Optional().Nillable().Sensitive().
			Annotations(entgql.Skip()),
		field.String("failure_message").Default(""),
		field.Time("stripe_event_at").Optional().Nillable().
			Comment("creation time of the last Stripe event applied, to ignore older ones"),
	}
}

func (Payment) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("order", Order.Type).Ref("payments").
			Field("order_id").Unique().Required().Immutable(),
		edge.To("refunds", Refund.Type),
	}
}

func (Payment) Indexes() []ent.Index {
	return []ent.Index{index.Fields("merchant_id", "order_id")}
}

func (Payment) Policy() ent.Policy { return privatePolicy() }
