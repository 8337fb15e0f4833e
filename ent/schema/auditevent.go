package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// AuditEvent records an action by staff or an API key: who did what to which object.
// Entries are never changed.
type AuditEvent struct {
	ent.Schema
}

func (AuditEvent) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("aud"), tenantMixin{}}
}

func (AuditEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("actor").Immutable().Comment(`"user:usr_...", "key:key_..." or "system"`),
		field.String("action").NotEmpty().Immutable().Comment(`"product.create", "key.revoke"`),
		field.String("subject_id").Default("").Immutable(),
		field.String("request_id").Default("").Immutable(),
		field.String("ip").Default("").Immutable(),
		field.JSON("details", map[string]any{}).Optional().Immutable(),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

func (AuditEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("merchant_id", "created_at", "id"),
		index.Fields("merchant_id", "subject_id"),
	}
}

func (AuditEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

func (AuditEvent) Policy() ent.Policy { return privatePolicy() }
