// Package dbtest gives tests a fresh, migrated database of their own, on PostgreSQL or
// SQLite, that disappears when the test ends.
//
// PostgreSQL comes from TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable); the role needs CREATEDB. The
// migrations are applied once, into a template database named after a hash of the
// embedded migration files, and kept for later runs; each test database is a copy of it
// (CREATE DATABASE … TEMPLATE), which takes milliseconds where migrating takes seconds.
// When PostgreSQL cannot be reached the test fails: CI requires the real database, and a
// skip would hide that it did not run.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/migrations"
)

const defaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Database names: templates are shared by every test process of the same migration set,
// test databases belong to one test.
const (
	templatePrefix = "mercantile_tmpl_"
	testPrefix     = "mercantile_test_"
)

// setupTimeout bounds the database work of one helper call; building the template on a
// cold machine is the slow part.
const setupTimeout = 2 * time.Minute

// Postgres returns a fresh, migrated PostgreSQL database, closed and dropped when tb ends.
func Postgres(tb testing.TB) *database.DB {
	tb.Helper()
	return open(tb, PostgresURL(tb))
}

// PostgresURL creates a fresh, migrated PostgreSQL database like Postgres and returns its
// URL, for tests that hand it to another process. The database is dropped when tb ends,
// even if that process still has connections open.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	base := baseURL(tb)
	admin := connect(ctx, tb, base)
	defer admin.Close(context.Background())

	name := uniqueName()
	rebuilt := false
	for busy := 0; ; {
		tmpl, err := ensureTemplate(ctx, admin, base)
		if err != nil {
			tb.Fatalf("dbtest: preparing the template database: %v", err)
		}
		_, err = admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tmpl)
		if err == nil {
			break
		}
		var pgErr *pgconn.PgError
		errors.As(err, &pgErr)
		switch {
		case pgErr != nil && pgErr.Code == pgerrcode.InvalidCatalogName && !rebuilt:
			// A process testing another migration set has replaced the template since
			// this process built or found it (dropStaleTemplates): build it again, once.
			rebuilt = true
			forgetTemplate()
			continue
		case pgErr != nil && pgErr.Code == pgerrcode.ObjectInUse && busy < 50:
			// Another session is on the template for a moment (such a process dropping
			// stale templates, or building its own): PostgreSQL refuses to copy it
			// meanwhile. Wait it out.
			busy++
			time.Sleep(100 * time.Millisecond)
			continue
		}
		tb.Fatalf("dbtest: creating database %s: %v", name, err)
	}
	tb.Cleanup(func() { drop(tb, base, name) })
	return withDatabase(base, name)
}

// SQLite returns a fresh, migrated SQLite database in tb.TempDir(), closed when tb ends.
func SQLite(tb testing.TB) *database.DB {
	tb.Helper()
	db := open(tb, "sqlite:"+filepath.Join(tb.TempDir(), "test.db"))
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := db.Migrate(ctx); err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	return db
}

func open(tb testing.TB, url string) *database.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	db, err := database.Open(ctx, url)
	if err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	// Cleanups run last-registered first: this one closes the connections before
	// PostgresURL's drops the database.
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("dbtest: closing the database: %v", err)
		}
	})
	return db
}

func baseURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = defaultURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("dbtest: TEST_DATABASE_URL must be a postgres:// URL")
	}
	return base
}

func connect(ctx context.Context, tb testing.TB, base string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("dbtest: PostgreSQL is required and unreachable at %s (set TEST_DATABASE_URL): %v", redacted(base), err)
	}
	return conn
}

// built is the name of this process's migrated template once ensureTemplate has
// succeeded; later calls skip the checks.
var built struct {
	sync.Mutex
	name string
}

func forgetTemplate() {
	built.Lock()
	defer built.Unlock()
	built.name = ""
}

// ensureTemplate returns the name of the template database holding the embedded
// migrations, building it if no process has yet. A template is complete once it is
// marked IS_TEMPLATE, which happens last, so one left half-built by a killed process is
// rebuilt rather than copied.
func ensureTemplate(ctx context.Context, admin *pgx.Conn, base string) (string, error) {
	built.Lock()
	defer built.Unlock()
	if built.name != "" {
		return built.name, nil
	}
	name, err := templateName()
	if err != nil {
		return "", err
	}
	if ready, err := isTemplate(ctx, admin, name); err != nil || ready {
		if ready {
			built.name = name
		}
		return name, err
	}

	// Several test binaries (one per package) start at once; the session lock lets one
	// build while the others wait, then find it ready. It is released with the session
	// if this process dies.
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey(templatePrefix)); err != nil {
		return "", err
	}
	defer func() {
		_, _ = admin.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockKey(templatePrefix))
	}()
	ready, err := isTemplate(ctx, admin, name)
	if err != nil {
		return "", err
	}
	if !ready {
		if err := buildTemplate(ctx, admin, base, name); err != nil {
			return "", err
		}
		dropStaleTemplates(ctx, admin, name)
	}
	built.name = name
	return name, nil
}

func isTemplate(ctx context.Context, admin *pgx.Conn, name string) (bool, error) {
	var ready bool
	err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)", name).Scan(&ready)
	return ready, err
}

func buildTemplate(ctx context.Context, admin *pgx.Conn, base, name string) error {
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return err
	}
	db, err := database.Open(ctx, withDatabase(base, name))
	if err != nil {
		return err
	}
	err = db.Migrate(ctx)
	// CREATE DATABASE … TEMPLATE refuses a template with open connections.
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	_, err = admin.Exec(ctx, "ALTER DATABASE "+name+" WITH IS_TEMPLATE true")
	return err
}

// dropStaleTemplates removes the templates of older migration sets so they do not pile
// up on a developer's server. A process still using one rebuilds it (see PostgresURL);
// failures here only cost disk space, so they are ignored.
func dropStaleTemplates(ctx context.Context, admin *pgx.Conn, current string) {
	rows, err := admin.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE $1 AND datname <> $2",
		templatePrefix+"%", current)
	if err != nil {
		return
	}
	stale, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, name := range stale {
		if _, err := admin.Exec(ctx, "ALTER DATABASE "+name+" WITH IS_TEMPLATE false"); err == nil {
			_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
		}
	}
}

// templateName names the template after the embedded PostgreSQL migrations and River's,
// so a new or changed migration gets a new template and an unchanged set reuses the old
// one.
func templateName() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.Postgres, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.Postgres, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	// Migrate also applies River's migrations for the job queue: a River upgrade that
	// brings new ones needs a new template too.
	m, err := rivermigrate.New(riverpgxv5.New(nil), nil)
	if err != nil {
		return "", err
	}
	for _, v := range m.AllVersions() {
		fmt.Fprintf(h, "river\x00%d\x00%d\x00", v.Version, len(v.SQLUp))
		h.Write([]byte(v.SQLUp))
	}
	return templatePrefix + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// uniqueName returns a database name no other test, in this process or another, uses.
// The process id makes leftovers traceable; the random part makes names unique even
// across machines sharing one server.
func uniqueName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s%d_%s", testPrefix, os.Getpid(), hex.EncodeToString(b[:]))
}

func drop(tb testing.TB, base, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Errorf("dbtest: dropping database %s: %v", name, err)
		return
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		tb.Errorf("dbtest: dropping database %s: %v", name, err)
	}
}

func withDatabase(base, name string) string {
	u, _ := url.Parse(base) // baseURL has parsed it already
	u.Path = "/" + name
	return u.String()
}

// lockKey turns a name into the bigint key pg_advisory_lock takes.
func lockKey(name string) int64 {
	sum := sha256.Sum256([]byte(name))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}
