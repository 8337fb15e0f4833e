package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// WebhookEvent is the dedup record of an incoming webhook: (merchant, source, external_id)
// is unique, and it is written in the transaction that applies the event, so a replay
// does nothing.
type WebhookEvent struct {
	ent.Schema
}

func (WebhookEvent) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("whe"), tenantMixin{}, timeMixin{}}
}

func (WebhookEvent) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("source").Values("stripe", "shopify").Immutable(),
		field.String("external_id").NotEmpty().Immutable(),
		field.String("topic").Immutable(),
		field.Bytes("payload").Immutable(),
		field.Enum("status").Values("received", "processed", "ignored", "failed").Default("received"),
		field.String("error").Default(""),
		field.Time("processed_at").Optional().Nillable(),
	}
}

func (WebhookEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("merchant_id", "source", "external_id").Unique(),
		index.Fields("merchant_id", "created_at"),
	}
}

func (WebhookEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

func (WebhookEvent) Policy() ent.Policy { return privatePolicy() }
