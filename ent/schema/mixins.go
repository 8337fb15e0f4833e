// Package schema declares Mercantile's domain model as ent schemas. Every tenant-owned
// entity embeds tenantMixin, which adds merchant_id (first in its composite indexes) and
// the privacy rules that scope every query and mutation to the viewer's merchant. Money
// is always an int64 count of the currency's minor unit (cents), never a float.
package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"

	"github.com/mercantile/mercantile/internal/auth/rule"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/pulid"
)

// IDPrefix is the annotation that records an entity's id prefix, so generated code can
// map an id back to its table (GraphQL's node query).
type IDPrefix struct {
	Prefix string
}

// Name implements schema.Annotation.
func (IDPrefix) Name() string { return "IDPrefix" }

// idMixin gives an entity a prefixed ULID primary key.
type idMixin struct {
	mixin.Schema
	prefix string
}

func withID(prefix string) idMixin { return idMixin{prefix: prefix} }

func (m idMixin) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").
			GoType(pulidID).
			DefaultFunc(func() pulid.ID { return pulid.New(m.prefix) }).
			Immutable(),
	}
}

func (m idMixin) Annotations() []schema.Annotation {
	return []schema.Annotation{IDPrefix{Prefix: m.prefix}}
}

// timeMixin records when a row was created and last changed.
type timeMixin struct {
	mixin.Schema
}

func (timeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").
			Default(time.Now).
			Immutable().
			Annotations(entgql.OrderField("CREATED_AT")),
		field.Time("updated_at").
			Default(time.Now).
			UpdateDefault(time.Now).
			Annotations(entgql.OrderField("UPDATED_AT")),
	}
}

// tenantMixin makes an entity belong to one merchant.
type tenantMixin struct {
	mixin.Schema
}

func (tenantMixin) Fields() []ent.Field {
	return []ent.Field{
		field.String(viewer.MerchantIDField).
			GoType(pulidID).
			Immutable().
			Annotations(entgql.Skip()),
	}
}

func (tenantMixin) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("merchant", Merchant.Type).
			Field(viewer.MerchantIDField).
			Unique().
			Required().
			Immutable().
			Annotations(entgql.Skip()),
	}
}

// Policy scopes every read, update and delete to the viewer's merchant, stamps creates with
// it, and lets only viewers that may write change anything. The system context bypasses
// all of it through privacy.DecisionContext.
func (tenantMixin) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			rule.DenyIfNoViewer(),
			rule.FilterByColumn(viewer.MerchantIDField),
		},
		Mutation: privacy.MutationPolicy{
			rule.DenyIfNoViewer(),
			rule.DenyIfReadOnly(),
			rule.DenyMismatchedMerchantOnCreate(),
			rule.FilterByColumn(viewer.MerchantIDField),
		},
	}
}

// privatePolicy keeps an entity away from storefront (publishable) keys.
func privatePolicy() ent.Policy {
	return privacy.Policy{Query: privacy.QueryPolicy{rule.DenyStorefront()}}
}

// ownerOnlyPolicy lets only owners (and secret keys) change an entity, and keeps it away
// from storefront keys.
func ownerOnlyPolicy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.DenyStorefront()},
		Mutation: privacy.MutationPolicy{rule.DenyIfNotOwner()},
	}
}

// pulidID is the Go type of every id and foreign key column.
var pulidID = pulid.ID("")
