package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/mercantile/mercantile/ent/apikey"
	"github.com/mercantile/mercantile/ent/user"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/merchants"
	"github.com/mercantile/mercantile/internal/pulid"
)

func migrate(ctx context.Context, stdout io.Writer) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	log := newLogger(cfg, stdout)
	db, err := openDatabase(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	log.Info("migrations applied", "dialect", db.Dialect)
	return nil
}

// parseFlags parses args and fails when a required flag is missing.
func parseFlags(fs *flag.FlagSet, args []string, required ...string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	for _, name := range required {
		if fs.Lookup(name).Value.String() == "" {
			return fmt.Errorf("%s: --%s is required", fs.Name(), name)
		}
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// adminEnv is what administrative commands share: services on the configured database
// and the servers' Redis, so what a command changes (a revoked key, say) reaches the
// servers' caches.
func adminEnv(ctx context.Context) (*services, func(), error) {
	cfg, err := loadConfig()
	if err != nil {
		return nil, nil, err
	}
	db, err := openDatabase(ctx, cfg, cfg.Embedded())
	if err != nil {
		return nil, nil, err
	}
	store, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	svc := newServices(cfg, db, store, nil, slog.New(slog.DiscardHandler))
	return svc, func() { closeStore(); _ = db.Close() }, nil
}

func merchantCreate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("merchant create", flag.ContinueOnError)
	name := fs.String("name", "", "merchant name")
	email := fs.String("email", "", "owner's email")
	currency := fs.String("currency", "USD", "ISO 4217 currency")
	handle := fs.String("handle", "", "URL handle (default: from the name)")
	password := fs.String("password", "", "owner's password (default: none; the owner cannot log in until one is set)")
	if err := parseFlags(fs, args, "name", "email"); err != nil {
		return err
	}
	svc, done, err := adminEnv(ctx)
	if err != nil {
		return err
	}
	defer done()
	created, err := svc.merchants.Create(ctx, merchants.CreateInput{
		Name: *name, Handle: *handle, Currency: *currency, OwnerEmail: *email, OwnerPassword: *password,
	})
	if err != nil {
		return describe(err)
	}
	return printJSON(stdout, map[string]string{
		"merchant_id":     created.Merchant.ID.String(),
		"owner_user_id":   created.Owner.ID.String(),
		"secret_key":      created.SecretKey,
		"publishable_key": created.PublishableKey,
	})
}

// merchantContext acts for merchant id as the system, after checking it exists.
func merchantContext(ctx context.Context, svc *services, id string) (context.Context, error) {
	if _, err := svc.merchants.ByID(ctx, pulid.ID(id)); err != nil {
		return nil, fmt.Errorf("merchant %s: %w", id, describe(err))
	}
	return viewer.MerchantSystemContext(ctx, pulid.ID(id)), nil
}

// asMerchant runs fn with the configured services, acting as the system for merchant id.
func asMerchant(ctx context.Context, id string, fn func(ctx context.Context, svc *services) error) error {
	svc, done, err := adminEnv(ctx)
	if err != nil {
		return err
	}
	defer done()
	mctx, err := merchantContext(ctx, svc, id)
	if err != nil {
		return err
	}
	return fn(mctx, svc)
}

func keyCreate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("key create", flag.ContinueOnError)
	merchantID := fs.String("merchant", "", "merchant id")
	kind := fs.String("kind", "secret", "secret or publishable")
	name := fs.String("name", "", "a name to tell the key apart")
	if err := parseFlags(fs, args, "merchant"); err != nil {
		return err
	}
	return asMerchant(ctx, *merchantID, func(ctx context.Context, svc *services) error {
		created, err := svc.auth.CreateKey(ctx, apikey.Kind(*kind), *name)
		if err != nil {
			return describe(err)
		}
		return printJSON(stdout, map[string]string{"id": created.Key.ID.String(), "kind": string(created.Key.Kind), "key": created.Secret})
	})
}

func keyRevoke(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("key revoke", flag.ContinueOnError)
	merchantID := fs.String("merchant", "", "merchant id")
	keyID := fs.String("key", "", "key id (key_...)")
	if err := parseFlags(fs, args, "merchant", "key"); err != nil {
		return err
	}
	return asMerchant(ctx, *merchantID, func(ctx context.Context, svc *services) error {
		k, err := svc.auth.RevokeKey(ctx, pulid.ID(*keyID))
		if err != nil {
			return describe(err)
		}
		return printJSON(stdout, map[string]string{"id": k.ID.String(), "revoked_at": k.RevokedAt.UTC().Format(time.RFC3339)})
	})
}

func userCreate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	merchantID := fs.String("merchant", "", "merchant id")
	email := fs.String("email", "", "email, used to log in")
	password := fs.String("password", "", "password (at least 10 characters)")
	role := fs.String("role", "staff", "owner, staff or viewer")
	name := fs.String("name", "", "display name")
	if err := parseFlags(fs, args, "merchant", "email", "password"); err != nil {
		return err
	}
	return asMerchant(ctx, *merchantID, func(ctx context.Context, svc *services) error {
		u, err := svc.auth.CreateUser(ctx, *email, *name, *password, user.Role(*role))
		if err != nil {
			return describe(err)
		}
		return printJSON(stdout, map[string]string{"id": u.ID.String(), "email": u.Email, "role": string(u.Role)})
	})
}

// describe turns an application error into one line naming the fields at fault.
func describe(err error) error {
	var e *apperr.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	msg := e.Message
	for _, f := range e.Fields {
		msg += fmt.Sprintf(" %s: %s;", f.Field, f.Message)
	}
	return errors.New(msg)
}
