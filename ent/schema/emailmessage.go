package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// EmailMessage is the outbox: one row per transactional email, written in the
// transaction that causes it. dedup_key makes it at most one per (order, kind, shipment).
type EmailMessage struct {
	ent.Schema
}

func (EmailMessage) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("eml"), tenantMixin{}, timeMixin{}}
}

func (EmailMessage) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").
			Values("order_confirmation", "payment_failed", "shipment_sent", "order_cancelled", "refund_issued").
			Immutable(),
		field.String("dedup_key").NotEmpty().Immutable(),
		field.String("order_id").GoType(pulidID).Optional().Nillable().Immutable(),
		field.String("shipment_id").GoType(pulidID).Optional().Nillable().Immutable(),
		field.String("to_address").NotEmpty().Immutable(),
		field.String("subject").Default(""),
		field.Text("html_body").Default(""),
		field.Text("text_body").Default(""),
		field.Enum("status").Values("queued", "sent", "logged", "failed").Default("queued"),
		field.Int("attempts").Default(0),
		field.String("last_error").Default(""),
		field.String("provider_message_id").Default(""),
		field.Time("sent_at").Optional().Nillable(),
	}
}

func (EmailMessage) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("merchant_id", "dedup_key").Unique(),
		index.Fields("merchant_id", "created_at"),
		index.Fields("merchant_id", "order_id"),
	}
}

func (EmailMessage) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

func (EmailMessage) Policy() ent.Policy { return privatePolicy() }
