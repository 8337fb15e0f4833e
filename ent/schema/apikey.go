package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// APIKey is a merchant's secret (sk_) or publishable (pk_) key. Only its SHA-256 is
// stored: keys carry enough entropy that a fast hash is safe, and it makes the look-up on
// every request one unique-index probe.
type APIKey struct {
	ent.Schema
}

func (APIKey) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("key"), tenantMixin{}, timeMixin{}}
}

func (APIKey) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").Values("secret", "publishable").Immutable(),
		field.String("name").Default("").MaxLen(255),
		field.String("prefix").NotEmpty().Immutable().
			Comment("the first characters of the key, shown so people can tell keys apart"),
		field.String("hash").NotEmpty().Unique().Immutable().Sensitive().
			Comment("hex SHA-256 of the whole key"),
		field.Time("last_used_at").Optional().Nillable(),
		field.Time("revoked_at").Optional().Nillable(),
	}
}

func (APIKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("merchant_id", "created_at")}
}

func (APIKey) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

func (APIKey) Policy() ent.Policy { return ownerOnlyPolicy() }
