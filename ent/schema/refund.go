package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Refund returns part or all of a payment. It counts toward financial_status only once
// the provider confirms it.
type Refund struct {
	ent.Schema
}

func (Refund) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("ref"), tenantMixin{}, timeMixin{}}
}

func (Refund) Fields() []ent.Field {
	return []ent.Field{
		field.String("order_id").GoType(pulidID).Immutable(),
		field.String("payment_id").GoType(pulidID).Immutable(),
		field.Int64("amount").Positive().Immutable(),
		field.String("currency").MinLen(3).MaxLen(3).Immutable(),
		field.String("reason").Default("").MaxLen(1024),
		field.Enum("status").Values("pending", "succeeded", "failed", "canceled").Default("pending"),
		field.String("stripe_refund_id").Optional().Nillable().Unique(),
		field.String("failure_message").Default(""),
	}
}

func (Refund) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("order", Order.Type).Ref("refunds").
			Field("order_id").Unique().Required().Immutable(),
		edge.From("payment", Payment.Type).Ref("refunds").
			Field("payment_id").Unique().Required().Immutable(),
	}
}

func (Refund) Indexes() []ent.Index {
	return []ent.Index{index.Fields("merchant_id", "order_id")}
}

func (Refund) Policy() ent.Policy { return privatePolicy() }
