//go:build ignore

// Command main writes the next versioned migration for PostgreSQL and SQLite from the
// ent schema. Run it from the repository root (make migration name=NAME):
//
//	go run -mod=mod ./ent/migrate/main.go NAME
//
// For each dialect it replays the existing migrations on an empty dev database, diffs the
// result against ent/schema, and writes the difference in golang-migrate's format, with
// Atlas's atlas.sum, to migrations/postgres and migrations/sqlite. The PostgreSQL dev
// database is a scratch database created on MIGRATION_DEV_URL (else TEST_DATABASE_URL,
// else the local default) and dropped afterwards; SQLite's is in memory.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/sqltool"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/mercantile/mercantile/ent/migrate"
)

const defaultDevURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// validName keeps migration names usable as file names and readable in schema_migrations.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_]*$`)

// target is one dialect's migration directory and how to get an empty dev database for it.
type target struct {
	dir     string
	dialect string
	openDev func(ctx context.Context) (drv *entsql.Driver, cleanup func(), err error)
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--rehash" {
		if err := rehash(); err != nil {
			fmt.Fprintln(os.Stderr, "migration:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) != 2 || !validName.MatchString(os.Args[1]) {
		fmt.Fprintln(os.Stderr, "usage: go run -mod=mod ./ent/migrate/main.go NAME   (NAME: lower case letters, digits, _)")
		fmt.Fprintln(os.Stderr, "       go run -mod=mod ./ent/migrate/main.go --rehash   (after adding a hand-written migration)")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "migration:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, name string) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return errors.New("run from the repository root")
	}
	targets := []target{
		{dir: filepath.Join("migrations", "postgres"), dialect: dialect.Postgres, openDev: openPostgresDev},
		{dir: filepath.Join("migrations", "sqlite"), dialect: dialect.SQLite, openDev: openSQLiteDev},
	}
	// One version for both dialects, so a migration's two halves are easy to pair.
	version := time.Now().UTC().Format("20060102150405")

	// Plan every dialect before writing anything, so a failure leaves neither
	// directory with a migration the other lacks.
	written := make([]map[string][]byte, len(targets))
	for i, t := range targets {
		files, err := plan(ctx, t, name, version)
		if err != nil {
			return fmt.Errorf("%s: %w", t.dialect, err)
		}
		written[i] = files
	}
	changed := false
	for i, t := range targets {
		for _, file := range slices.Sorted(maps.Keys(written[i])) {
			if err := os.WriteFile(filepath.Join(t.dir, file), written[i][file], 0o644); err != nil {
				return err
			}
			if file != atlasmigrate.HashFileName {
				fmt.Println("wrote", filepath.Join(t.dir, file))
			}
			changed = true
		}
	}
	if !changed {
		fmt.Println("no schema changes: nothing written")
	}
	return nil
}

// rehash rewrites atlas.sum in both directories. Hand-written migrations (what ent cannot
// express: extensions, full-text tables) need it, since Atlas refuses to diff over a
// directory whose files do not match their sums.
func rehash() error {
	for _, d := range []string{filepath.Join("migrations", "postgres"), filepath.Join("migrations", "sqlite")} {
		dir, err := sqltool.NewGolangMigrateDir(d)
		if err != nil {
			return err
		}
		sum, err := dir.Checksum()
		if err != nil {
			return err
		}
		if err := atlasmigrate.WriteSumFile(dir, sum); err != nil {
			return err
		}
		fmt.Println("rehashed", filepath.Join(d, atlasmigrate.HashFileName))
	}
	return nil
}

// plan computes the migration for one dialect in a copy of its directory and returns the
// files that are new or changed there (the migration and atlas.sum), or none when the
// schema has not changed.
func plan(ctx context.Context, t target, name, version string) (map[string][]byte, error) {
	if err := os.MkdirAll(t.dir, 0o755); err != nil {
		return nil, err
	}
	staging, err := os.MkdirTemp("", "migration-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(staging)
	if err := os.CopyFS(staging, os.DirFS(t.dir)); err != nil {
		return nil, err
	}
	dir, err := sqltool.NewGolangMigrateDir(staging)
	if err != nil {
		return nil, err
	}
	// golang-migrate never applies a version older than the database's current one, so
	// a migration that sorts before an existing one would be skipped wherever that one
	// has run.
	existing, err := dir.Files()
	if err != nil {
		return nil, err
	}
	if n := len(existing); n > 0 && existing[n-1].Version() >= version {
		return nil, fmt.Errorf("version %s does not sort after the newest migration %s: check the clock", version, existing[n-1].Name())
	}

	drv, cleanup, err := t.openDev(ctx)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	err = migrate.NewSchema(drv).NamedDiff(ctx, name,
		schema.WithDir(dir),
		schema.WithFormatter(versionFormatter(version)),
		// Replay builds the current state from the migration files, not from a live
		// database, which is what a versioned migration must be relative to.
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
		schema.WithErrNoPlan(true),
	)
	if errors.Is(err, atlasmigrate.ErrNoPlan) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}

	files := map[string][]byte{}
	entries, err := os.ReadDir(staging)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(staging, e.Name()))
		if err != nil {
			return nil, err
		}
		old, err := os.ReadFile(filepath.Join(t.dir, e.Name()))
		if err == nil && bytes.Equal(old, b) {
			continue
		}
		files[e.Name()] = b
	}
	return files, nil
}

// versionFormatter is Atlas's golang-migrate formatter with the timestamp Atlas takes
// from the clock replaced by version, so both dialects get the same one.
type versionFormatter string

func (v versionFormatter) Format(p *atlasmigrate.Plan) ([]atlasmigrate.File, error) {
	files, err := sqltool.GolangMigrateFormatter.Format(p)
	if err != nil {
		return nil, err
	}
	for i, f := range files {
		_, rest, _ := strings.Cut(f.Name(), "_")
		files[i] = atlasmigrate.NewLocalFile(string(v)+"_"+rest, f.Bytes())
	}
	return files, nil
}

// openPostgresDev creates an empty scratch database, because Atlas replays the
// migrations into it and any table already there would be part of the "current" state.
func openPostgresDev(ctx context.Context) (*entsql.Driver, func(), error) {
	base := os.Getenv("MIGRATION_DEV_URL")
	if base == "" {
		base = os.Getenv("TEST_DATABASE_URL")
	}
	if base == "" {
		base = defaultDevURL
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, nil, fmt.Errorf("dev database URL: %w", err)
	}
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach the dev PostgreSQL at %s: %w", u.Redacted(), err)
	}
	var random [6]byte
	_, _ = rand.Read(random[:])
	name := "mercantile_migrate_" + hex.EncodeToString(random[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close(ctx)
		return nil, nil, fmt.Errorf("creating the dev database: %w", err)
	}
	u.Path = "/" + name
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		admin.Close(ctx)
		return nil, nil, err
	}
	db := stdlib.OpenDB(*cfg)
	cleanup := func() {
		_ = db.Close()
		if _, err := admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "migration: dropping dev database %s: %v\n", name, err)
		}
		admin.Close(context.WithoutCancel(ctx))
	}
	return entsql.OpenDB(dialect.Postgres, db), cleanup, nil
}

// openSQLiteDev opens an in-memory database. Every connection to ":memory:" is a database
// of its own, so the pool is held to one connection.
func openSQLiteDev(context.Context) (*entsql.Driver, func(), error) {
	db, err := sql.Open("sqlite", "file:dev?mode=memory&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxOpenConns(1)
	return entsql.OpenDB(dialect.SQLite, db), func() { _ = db.Close() }, nil
}
