package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// IdempotencyKey remembers the first response to a POST sent with an Idempotency-Key
// header, so a retry with the same body gets it again and a different body is refused.
type IdempotencyKey struct {
	ent.Schema
}

func (IdempotencyKey) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("idk"), tenantMixin{}, timeMixin{}}
}

func (IdempotencyKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").NotEmpty().MaxLen(255).Immutable(),
		field.String("scope").Immutable().Comment(`method and route, "POST /api/v1/orders"`),
		field.String("request_hash").Immutable().Comment("hex SHA-256 of the request body"),
		field.Enum("status").Values("in_progress", "completed").Default("in_progress"),
		field.Int("response_status").Optional(),
		field.Bytes("response_body").Optional(),
		field.Time("expires_at"),
	}
}

func (IdempotencyKey) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("merchant_id", "key", "scope").Unique(),
		index.Fields("merchant_id", "expires_at"),
	}
}

func (IdempotencyKey) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
