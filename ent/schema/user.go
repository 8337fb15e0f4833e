package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// User is a merchant's staff member who logs in with email and password.
type User struct {
	ent.Schema
}

func (User) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("usr"), tenantMixin{}, timeMixin{}}
}

func (User) Fields() []ent.Field {
	return []ent.Field{
		field.String("email").NotEmpty().MaxLen(254).
			Comment("lower-cased; unique across merchants so login needs no merchant"),
		field.String("name").Default("").MaxLen(255),
		field.String("password_hash").Sensitive().Annotations(entgql.Skip()),
		field.Enum("role").Values("owner", "staff", "viewer").Default("staff"),
		field.Time("last_login_at").Optional().Nillable(),
		field.Time("disabled_at").Optional().Nillable(),
	}
}

func (User) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("email").Unique(),
		index.Fields("merchant_id", "created_at"),
	}
}

func (User) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

func (User) Policy() ent.Policy { return ownerOnlyPolicy() }
