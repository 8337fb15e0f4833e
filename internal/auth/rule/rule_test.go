package rule_test

import (
	"context"
	"errors"
	"testing"

	"entgo.io/ent/privacy"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/pulid"
)

// seedMerchant creates a merchant with one product, as the system would.
func seedMerchant(t *testing.T, client *ent.Client, handle string) (*ent.Merchant, *ent.Product) {
	t.Helper()
	ctx := viewer.SystemContext(context.Background())
	m := client.Merchant.Create().SetName(handle).SetHandle(handle).SaveX(ctx)
	p := client.Product.Create().SetMerchantID(m.ID).SetTitle("Hoodie " + handle).SetHandle("hoodie").SaveX(ctx)
	return m, p
}

func as(kind viewer.Kind, merchantID pulid.ID, role viewer.Role) context.Context {
	return viewer.NewContext(context.Background(), viewer.Viewer{Kind: kind, MerchantID: merchantID, ActorID: "key_test", Role: role})
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	client := dbtest.Postgres(t).Client
	a, productA := seedMerchant(t, client, "a")
	b, productB := seedMerchant(t, client, "b")
	ctxB := as(viewer.KindSecretKey, b.ID, viewer.RoleOwner)

	t.Run("queries see only the viewer's rows", func(t *testing.T) {
		ids, err := client.Product.Query().IDs(ctxB)
		if err != nil || len(ids) != 1 || ids[0] != productB.ID {
			t.Fatalf("merchant B sees products %v, %v; want only %s", ids, err, productB.ID)
		}
		if _, err := client.Product.Get(ctxB, productA.ID); !ent.IsNotFound(err) {
			t.Fatalf("B reading A's product: %v, want not found", err)
		}
		if _, err := client.Merchant.Get(ctxB, a.ID); !ent.IsNotFound(err) {
			t.Fatalf("B reading merchant A: %v, want not found", err)
		}
		if n := client.Merchant.Query().CountX(ctxB); n != 1 {
			t.Fatalf("B sees %d merchants, want 1", n)
		}
	})

	t.Run("updates and deletes cannot reach another merchant", func(t *testing.T) {
		if err := client.Product.UpdateOneID(productA.ID).SetTitle("stolen").Exec(ctxB); !ent.IsNotFound(err) {
			t.Fatalf("B updating A's product: %v, want not found", err)
		}
		n, err := client.Product.Delete().Where(product.ID(productA.ID)).Exec(ctxB)
		if err != nil || n != 0 {
			t.Fatalf("B deleting A's product deleted %d, %v", n, err)
		}
		got := client.Product.GetX(viewer.SystemContext(context.Background()), productA.ID)
		if got.Title != productA.Title {
			t.Fatalf("A's product changed to %q", got.Title)
		}
	})

	t.Run("creates are stamped with the viewer's merchant", func(t *testing.T) {
		p, err := client.Product.Create().SetTitle("Cap").SetHandle("cap").Save(ctxB)
		if err != nil || p.MerchantID != b.ID {
			t.Fatalf("create = %+v, %v; want merchant %s", p, err, b.ID)
		}
		_, err = client.Product.Create().SetMerchantID(a.ID).SetTitle("Cap").SetHandle("cap-a").Save(ctxB)
		if !errors.Is(err, privacy.Deny) {
			t.Fatalf("B creating a product for A: %v, want privacy deny", err)
		}
	})

	t.Run("no viewer sees nothing", func(t *testing.T) {
		if _, err := client.Product.Query().All(context.Background()); !errors.Is(err, privacy.Deny) {
			t.Fatalf("query without viewer: %v, want deny", err)
		}
	})
}

func TestReadOnlyViewers(t *testing.T) {
	t.Parallel()
	client := dbtest.Postgres(t).Client
	m, p := seedMerchant(t, client, "ro")
	sys := viewer.SystemContext(context.Background())
	client.Order.Create().SetMerchantID(m.ID).SetNumber(1001).SetEmail("x@example.com").SetCurrency("USD").ExecX(sys)

	tests := []struct {
		name          string
		ctx           context.Context
		canWrite      bool
		canReadOrders bool
	}{
		{"secret key", as(viewer.KindSecretKey, m.ID, viewer.RoleOwner), true, true},
		{"owner", as(viewer.KindUser, m.ID, viewer.RoleOwner), true, true},
		{"staff", as(viewer.KindUser, m.ID, viewer.RoleStaff), true, true},
		{"viewer role", as(viewer.KindUser, m.ID, viewer.RoleViewer), false, true},
		{"publishable key", as(viewer.KindPublishableKey, m.ID, ""), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := client.Product.Get(tt.ctx, p.ID); err != nil {
				t.Fatalf("reading the catalog: %v", err)
			}
			err := client.Product.UpdateOneID(p.ID).SetVendor(tt.name).Exec(tt.ctx)
			if tt.canWrite != (err == nil) {
				t.Fatalf("update error %v, want allowed=%v", err, tt.canWrite)
			}
			_, err = client.Order.Query().All(tt.ctx)
			if tt.canReadOrders != (err == nil) {
				t.Fatalf("reading orders: %v, want allowed=%v", err, tt.canReadOrders)
			}
		})
	}

	t.Run("checkout lets a publishable key write", func(t *testing.T) {
		ctx := viewer.CheckoutContext(as(viewer.KindPublishableKey, m.ID, ""))
		if err := client.Product.UpdateOneID(p.ID).SetVendor("checkout").Exec(ctx); err != nil {
			t.Fatalf("checkout write: %v", err)
		}
	})
}
