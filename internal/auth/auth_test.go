package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/apikey"
	"github.com/mercantile/mercantile/ent/user"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/platform/kv/kvtest"
)

func newService(t *testing.T) (*auth.Service, *ent.Client, context.Context) {
	t.Helper()
	client := dbtest.Postgres(t).Client
	s := auth.NewService(client, kv.NewMemory(), time.Hour)
	s.SetBcryptCost(bcrypt.MinCost)
	m := client.Merchant.Create().SetName("Shop").SetHandle("shop").SaveX(viewer.SystemContext(context.Background()))
	return s, client, viewer.MerchantSystemContext(context.Background(), m.ID)
}

func TestKeys(t *testing.T) {
	t.Parallel()
	s, client, ctx := newService(t)
	sk, err := s.CreateKey(ctx, apikey.KindSecret, "server")
	if err != nil {
		t.Fatal(err)
	}
	pk, err := s.CreateKey(ctx, apikey.KindPublishable, "storefront")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("OK", func(t *testing.T) {
		if !strings.HasPrefix(sk.Secret, "sk_") || !strings.HasPrefix(pk.Secret, "pk_") || len(sk.Secret) != 43 {
			t.Fatalf("malformed keys %q %q", sk.Secret, pk.Secret)
		}
		if !strings.HasPrefix(sk.Secret, sk.Key.Prefix) || strings.Contains(sk.Key.Hash, sk.Secret) {
			t.Fatalf("prefix %q or hash %q wrong", sk.Key.Prefix, sk.Key.Hash)
		}
		v, err := s.AuthenticateKey(context.Background(), sk.Secret)
		if err != nil || v.Kind != viewer.KindSecretKey || v.MerchantID != sk.Key.MerchantID || v.ActorID != sk.Key.ID {
			t.Fatalf("AuthenticateKey(sk) = %+v, %v", v, err)
		}
		v, err = s.AuthenticateKey(context.Background(), pk.Secret)
		if err != nil || v.Kind != viewer.KindPublishableKey || v.CanWrite() {
			t.Fatalf("AuthenticateKey(pk) = %+v, %v", v, err)
		}
		used := client.APIKey.GetX(ctx, sk.Key.ID)
		if used.LastUsedAt == nil {
			t.Fatal("last_used_at not recorded")
		}
	})

	t.Run("ErrUnauthorized", func(t *testing.T) {
		for _, bad := range []string{"", "sk_", "sk_" + strings.Repeat("x", 40), "bearer", sk.Secret + "x", strings.ToUpper(sk.Secret)} {
			if _, err := s.AuthenticateKey(context.Background(), bad); apperr.CodeOf(err) != apperr.Unauthorized {
				t.Errorf("AuthenticateKey(%q) = %v, want unauthorized", bad, err)
			}
		}
	})

	t.Run("revoked keys stop working", func(t *testing.T) {
		extra, err := s.CreateKey(ctx, apikey.KindSecret, "to revoke")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RevokeKey(ctx, extra.Key.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AuthenticateKey(context.Background(), extra.Secret); apperr.CodeOf(err) != apperr.Unauthorized {
			t.Fatalf("revoked key authenticated: %v", err)
		}
	})

	t.Run("ErrForbidden for staff and storefront", func(t *testing.T) {
		for _, v := range []viewer.Viewer{
			{Kind: viewer.KindUser, MerchantID: sk.Key.MerchantID, Role: viewer.RoleStaff},
			{Kind: viewer.KindPublishableKey, MerchantID: sk.Key.MerchantID},
		} {
			_, err := s.CreateKey(viewer.NewContext(context.Background(), v), apikey.KindSecret, "")
			if apperr.CodeOf(err) != apperr.Forbidden {
				t.Errorf("%s creating a key: %v, want forbidden", v.Kind, err)
			}
		}
	})
}

// TestKeysSharedStore runs two services on one database and one Redis, as two replicas
// do: a key's lookup is cached in Redis, and revoking it on one replica stops it on the
// other at once, even while the other's cached lookup is warm.
func TestKeysSharedStore(t *testing.T) {
	t.Parallel()
	rdb := kvtest.Redis(t)
	store := kv.NewRedis(rdb)
	client := dbtest.Postgres(t).Client
	one := auth.NewService(client, store, time.Hour)
	two := auth.NewService(client, store, time.Hour)
	m := client.Merchant.Create().SetName("Shop").SetHandle("shop").SaveX(viewer.SystemContext(context.Background()))
	ctx := viewer.MerchantSystemContext(context.Background(), m.ID)
	k, err := one.CreateKey(ctx, apikey.KindPublishable, "storefront")
	if err != nil {
		t.Fatal(err)
	}
	cacheKey := "mercantile:apikey:" + k.Key.Hash
	t.Cleanup(func() { rdb.Del(context.Background(), cacheKey) })

	for range 2 {
		v, err := one.AuthenticateKey(context.Background(), k.Secret)
		if err != nil || v.Kind != viewer.KindPublishableKey || v.MerchantID != m.ID || v.ActorID != k.Key.ID || v.CanWrite() {
			t.Fatalf("AuthenticateKey = %+v, %v", v, err)
		}
	}
	if n, _ := rdb.Exists(context.Background(), cacheKey).Result(); n != 1 {
		t.Fatal("the key's lookup was not cached in the shared store")
	}

	if _, err := two.RevokeKey(ctx, k.Key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := one.AuthenticateKey(context.Background(), k.Secret); apperr.CodeOf(err) != apperr.Unauthorized {
		t.Fatalf("a key revoked on another replica still authenticates: %v", err)
	}
	// A lookup that read the key before the revocation committed fills only where
	// nothing is, so it cannot put the key back.
	if stored, _ := store.SetIfAbsent(context.Background(), cacheKey, []byte(`{"id":"x"}`), time.Minute); stored {
		t.Fatal("the revocation marker did not hold the cache entry")
	}
	if _, err := two.AuthenticateKey(context.Background(), k.Secret); apperr.CodeOf(err) != apperr.Unauthorized {
		t.Fatalf("revoked key authenticated: %v", err)
	}
}

func TestLoginAndSessions(t *testing.T) {
	t.Parallel()
	s, _, ctx := newService(t)
	u, err := s.CreateUser(ctx, " Staff@Example.COM ", "Sam", "correct horse battery", user.RoleStaff)
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "staff@example.com" {
		t.Fatalf("email not normalized: %q", u.Email)
	}

	sess, err := s.Login(context.Background(), "STAFF@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(context.Background(), sess.ID)
	if err != nil || got.UserID != u.ID || got.Viewer().Role != viewer.RoleStaff || !got.CheckCSRF(sess.CSRFToken) {
		t.Fatalf("Session = %+v, %v", got, err)
	}
	if got.CheckCSRF("") || got.CheckCSRF(sess.CSRFToken+"x") {
		t.Fatal("CSRF check accepts a wrong token")
	}
	if err := s.Logout(context.Background(), sess.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(context.Background(), sess.ID); apperr.CodeOf(err) != apperr.Unauthorized {
		t.Fatalf("session survived logout: %v", err)
	}

	for name, creds := range map[string][2]string{
		"wrong password": {"staff@example.com", "wrong password!"},
		"unknown email":  {"nobody@example.com", "correct horse battery"},
		"not an email":   {"staff", "correct horse battery"},
	} {
		if _, err := s.Login(context.Background(), creds[0], creds[1]); apperr.CodeOf(err) != apperr.Unauthorized {
			t.Errorf("%s: %v, want unauthorized", name, err)
		}
	}

	if _, err := s.CreateUser(ctx, "staff@example.com", "", "another password", user.RoleViewer); apperr.CodeOf(err) != apperr.Conflict {
		t.Fatalf("duplicate email: %v, want conflict", err)
	}
	_, err = s.CreateUser(ctx, "bad", "", "short", "admin")
	e := apperr.From(err)
	if e.Code != apperr.Invalid || len(e.Fields) != 3 {
		t.Fatalf("invalid user: %+v, want three field errors", e)
	}
}
