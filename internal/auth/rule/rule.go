// Package rule holds the ent privacy rules that scope every query and mutation to the
// viewer's merchant and keep read-only viewers from writing. The ent schema attaches them
// to every entity; nothing else should need them.
package rule

import (
	"context"

	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/privacy"

	"github.com/mercantile/mercantile/ent/intercept"
	"github.com/mercantile/mercantile/internal/auth/viewer"
)

// predicateAdder is what generated ent mutations, and queries wrapped by
// intercept.NewQuery, expose to add raw predicates.
type predicateAdder interface {
	WhereP(...func(*sql.Selector))
}

// DenyIfNoViewer denies every query and mutation made without a viewer in the context:
// a forgotten authentication step fails closed.
func DenyIfNoViewer() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if _, ok := viewer.FromContext(ctx); !ok {
			return privacy.Denyf("no viewer in context")
		}
		return privacy.Skip
	})
}

// FilterByColumn scopes queries, updates and deletes to rows whose column equals the
// viewer's merchant.
func FilterByColumn(column string) privacy.QueryMutationRule {
	return tenantFilter{column: column}
}

type tenantFilter struct{ column string }

func (f tenantFilter) EvalQuery(ctx context.Context, q ent.Query) error {
	wrapped, err := intercept.NewQuery(q)
	if err != nil {
		return privacy.Denyf("scoping query: %v", err)
	}
	return f.filter(ctx, wrapped)
}

func (f tenantFilter) EvalMutation(ctx context.Context, m ent.Mutation) error {
	if m.Op().Is(ent.OpCreate) {
		return privacy.Skip
	}
	return f.filter(ctx, m)
}

func (f tenantFilter) filter(ctx context.Context, target any) error {
	v, ok := viewer.FromContext(ctx)
	if !ok || v.MerchantID == "" {
		return privacy.Denyf("viewer has no merchant")
	}
	adder, ok := target.(predicateAdder)
	if !ok {
		return privacy.Denyf("%T cannot be scoped to a merchant", target)
	}
	adder.WhereP(sql.FieldEQ(f.column, v.MerchantID.String()))
	return privacy.Skip
}

// DenyMismatchedMerchantOnCreate sets merchant_id on creates from the viewer and denies a
// create that names another merchant.
func DenyMismatchedMerchantOnCreate() privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		if !m.Op().Is(ent.OpCreate) {
			return privacy.Skip
		}
		v, ok := viewer.FromContext(ctx)
		if !ok || v.MerchantID == "" {
			return privacy.Denyf("viewer has no merchant")
		}
		current, set := m.Field(viewer.MerchantIDField)
		if !set {
			if err := m.SetField(viewer.MerchantIDField, v.MerchantID); err != nil {
				return privacy.Denyf("setting merchant: %v", err)
			}
			return privacy.Skip
		}
		if stringOf(current) != v.MerchantID.String() {
			return privacy.Denyf("create for another merchant")
		}
		return privacy.Skip
	})
}

// DenyIfReadOnly denies mutations by viewers that may only read.
func DenyIfReadOnly() privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, _ ent.Mutation) error {
		if v, ok := viewer.FromContext(ctx); !ok || !v.CanWrite() {
			return privacy.Denyf("viewer may not write")
		}
		return privacy.Skip
	})
}

// DenyIfNotOwner denies mutations by viewers that may not manage the merchant.
func DenyIfNotOwner() privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, _ ent.Mutation) error {
		if v, ok := viewer.FromContext(ctx); !ok || !v.IsOwner() {
			return privacy.Denyf("viewer is not an owner")
		}
		return privacy.Skip
	})
}

// DenyStorefront denies queries by publishable keys, for data a storefront must not see
// (orders, customers, staff, keys, audit records).
func DenyStorefront() privacy.QueryRule {
	return queryRuleFunc(func(ctx context.Context, _ ent.Query) error {
		if v, ok := viewer.FromContext(ctx); ok && !v.MayReadPrivate() {
			return privacy.Denyf("storefront keys may not read this")
		}
		return privacy.Skip
	})
}

func stringOf(v ent.Value) string {
	if s, ok := v.(interface{ String() string }); ok {
		return s.String()
	}
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// queryRuleFunc adapts a function to privacy.QueryRule; the generic privacy package only
// has the mutation-side adapter.
type queryRuleFunc func(context.Context, ent.Query) error

func (f queryRuleFunc) EvalQuery(ctx context.Context, q ent.Query) error { return f(ctx, q) }
