// Package viewer carries who is making a request (the viewer) in the context, and the ent
// privacy rules that scope every query and mutation to the viewer's merchant. It imports
// no generated ent code, so the ent schema can use it before code generation has run.
package viewer

import (
	"context"

	"entgo.io/ent/privacy"

	"github.com/mercantile/mercantile/internal/pulid"
)

// Kind says how the viewer authenticated.
type Kind string

// The kinds of viewer.
const (
	// KindUser is a staff member with a session cookie; their Role limits what they do.
	KindUser Kind = "user"
	// KindSecretKey is a server-side API key: everything of its merchant.
	KindSecretKey Kind = "secret_key"
	// KindPublishableKey is a storefront key: catalog reads, search, availability and
	// placing orders only.
	KindPublishableKey Kind = "publishable_key"
	// KindSystem is the process itself (CLI, migrations, background jobs before they know
	// the merchant, authentication look-ups). It bypasses privacy rules.
	KindSystem Kind = "system"
)

// Role is a staff member's role.
type Role string

// The staff roles, from most to least powerful.
const (
	RoleOwner  Role = "owner"
	RoleStaff  Role = "staff"
	RoleViewer Role = "viewer"
)

// Viewer is the authenticated principal of a request.
type Viewer struct {
	Kind       Kind
	MerchantID pulid.ID
	// ActorID is the user or API key id, recorded in the ledger and the audit log.
	ActorID pulid.ID
	// Role is set for users; secret keys act as owners.
	Role Role
	// checkout marks a storefront viewer inside order placement, the one write a
	// publishable key may make.
	checkout bool
}

// CanWrite reports whether the viewer may change the merchant's data.
func (v Viewer) CanWrite() bool {
	switch v.Kind {
	case KindSystem, KindSecretKey:
		return true
	case KindUser:
		return v.Role == RoleOwner || v.Role == RoleStaff
	case KindPublishableKey:
		return v.checkout
	}
	return false
}

// IsOwner reports whether the viewer may manage the merchant itself: its settings, keys
// and staff.
func (v Viewer) IsOwner() bool {
	return v.Kind == KindSystem || v.Kind == KindSecretKey || (v.Kind == KindUser && v.Role == RoleOwner)
}

// IsStorefront reports whether the viewer is a publishable key, which may read only the
// catalog and availability.
func (v Viewer) IsStorefront() bool { return v.Kind == KindPublishableKey }

// MayReadPrivate reports whether the viewer may read what storefronts must not see
// (orders, staff, keys): everyone but a publishable key outside checkout.
func (v Viewer) MayReadPrivate() bool { return !v.IsStorefront() || v.checkout }

// Actor names the viewer for ledgers and audit records: "user:usr_...", "key:key_...",
// or "system".
func (v Viewer) Actor() string {
	switch v.Kind {
	case KindUser:
		return "user:" + v.ActorID.String()
	case KindSecretKey, KindPublishableKey:
		return "key:" + v.ActorID.String()
	}
	return string(KindSystem)
}

type ctxKey struct{}

// NewContext returns ctx carrying v.
func NewContext(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, ctxKey{}, v)
}

// FromContext returns the viewer in ctx.
func FromContext(ctx context.Context) (Viewer, bool) {
	v, ok := ctx.Value(ctxKey{}).(Viewer)
	return v, ok
}

// SystemContext returns ctx acting as the process itself: every privacy rule allows.
// Use it only where no merchant is known yet (authentication, CLI, webhook routing) or for
// work the system does on every merchant's behalf.
func SystemContext(ctx context.Context) context.Context {
	ctx = NewContext(ctx, Viewer{Kind: KindSystem})
	return privacy.DecisionContext(ctx, privacy.Allow)
}

// MerchantSystemContext returns ctx acting as the system on behalf of one merchant:
// rules scope to that merchant, and every write is allowed. Background jobs use it.
func MerchantSystemContext(ctx context.Context, merchantID pulid.ID) context.Context {
	return NewContext(ctx, Viewer{Kind: KindSystem, MerchantID: merchantID})
}

// CheckoutContext returns ctx in which a storefront viewer may place an order. Only the
// order placement service calls it.
func CheckoutContext(ctx context.Context) context.Context {
	v, ok := FromContext(ctx)
	if !ok {
		return ctx
	}
	v.checkout = true
	return NewContext(ctx, v)
}

// MerchantIDField is the column every tenant-owned table carries.
const MerchantIDField = "merchant_id"
