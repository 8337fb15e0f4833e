package database_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/migrate"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
)

// dialects runs a test body on a fresh database of each dialect.
var dialects = []struct {
	name  string
	fresh func(testing.TB) *database.DB
}{
	{"postgres", dbtest.Postgres},
	{"sqlite", dbtest.SQLite},
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// schemaDrift returns the statements that would take db's schema to the one ent/schema
// declares, the same diff the migration generator writes out.
func schemaDrift(ctx context.Context, t *testing.T, db *database.DB) []string {
	t.Helper()
	dir := atlasmigrate.OpenMemDir(t.Name())
	t.Cleanup(func() { _ = dir.Close() })
	// Not closed: it is a view of db.SQL, which the test's cleanup closes.
	drv := entsql.OpenDB(db.Dialect, db.SQL)
	err := migrate.NewSchema(drv).NamedDiff(ctx, "drift",
		schema.WithDir(dir),
		schema.WithFormatter(atlasmigrate.DefaultFormatter),
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
		schema.WithErrNoPlan(true),
	)
	if errors.Is(err, atlasmigrate.ErrNoPlan) {
		return nil
	}
	if err != nil {
		t.Fatalf("diffing the migrated schema against ent/schema: %v", err)
	}
	files, err := dir.Files()
	if err != nil {
		t.Fatal(err)
	}
	var stmts []string
	for _, f := range files {
		s, err := f.Stmts()
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, s...)
	}
	return stmts
}

// The diff touches ent's package-level table definitions, so these subtests are not
// parallel.
func TestMigrationsMatchEntSchema(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Run("in_sync", func(t *testing.T) {
				ctx := testContext(t)
				if stmts := schemaDrift(ctx, t, d.fresh(t)); len(stmts) > 0 {
					t.Fatalf("the migrations do not produce the ent schema; run `make migration name=...`. Missing:\n%s",
						strings.Join(stmts, ";\n"))
				}
			})
			// Proves the check above can fail: a column the migrations lack is what a
			// field added to ent/schema without a migration looks like.
			t.Run("detects_missing_column", func(t *testing.T) {
				ctx := testContext(t)
				db := d.fresh(t)
				if _, err := db.SQL.ExecContext(ctx, "ALTER TABLE products DROP COLUMN published_at"); err != nil {
					t.Fatal(err)
				}
				stmts := schemaDrift(ctx, t, db)
				if !strings.Contains(strings.Join(stmts, "\n"), "published_at") {
					t.Fatalf("drift not detected; diff was %q", stmts)
				}
			})
		})
	}
}

// atlas.sum is what makes two branches that both add a migration conflict in git, instead
// of one migration being skipped because its version is older than the one applied.
func TestMigrationDirectoriesMatchAtlasSum(t *testing.T) {
	for _, dir := range []string{"postgres", "sqlite"} {
		local, err := atlasmigrate.NewLocalDir(filepath.Join("..", "..", "..", "migrations", dir))
		if err != nil {
			t.Fatal(err)
		}
		if err := atlasmigrate.Validate(local); err != nil {
			t.Errorf("migrations/%s: %v (migrations are generated, never edited: see ent/migrate/main.go)", dir, err)
		}
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			ctx := testContext(t)
			db := d.fresh(t)
			for range 2 {
				if err := db.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
			}
			var dirty bool
			if err := db.SQL.QueryRowContext(ctx, "SELECT dirty FROM schema_migrations").Scan(&dirty); err != nil {
				t.Fatal(err)
			}
			if dirty {
				t.Fatal("schema_migrations is dirty")
			}
		})
	}
}

// Migrations run on SQLite with foreign keys off (see Migrate), so Migrate checks them
// afterwards.
func TestMigrateReportsForeignKeyViolationsOnSQLite(t *testing.T) {
	ctx := testContext(t)
	path := filepath.Join(t.TempDir(), "fk.db")
	db, err := database.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(ctx, "INSERT INTO products (id, created_at, updated_at, title, handle, description_html, vendor, product_type, status, merchant_id)"+
		" VALUES ('prd_1', '2026-01-01', '2026-01-01', 'Orphan', 'orphan', '', '', '', 'active', 'mer_missing')"); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "violating foreign keys") {
		t.Fatalf("Migrate = %v, want a foreign key violation", err)
	}
}

// Replicas of a rolling deploy migrate an empty database at the same moment; each has its
// own pool, as separate processes would.
func TestMigrateConcurrentlyOnPostgres(t *testing.T) {
	ctx := testContext(t)
	url := dbtest.PostgresURL(t)
	dbs := make([]*database.DB, 4)
	for i := range dbs {
		db, err := database.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		dbs[i] = db
	}
	for _, q := range []string{"DROP SCHEMA public CASCADE", "CREATE SCHEMA public"} {
		if _, err := dbs[0].SQL.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(dbs))
	for i, db := range dbs {
		wg.Go(func() { errs[i] = db.Migrate(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if stmts := schemaDrift(ctx, t, dbs[0]); len(stmts) > 0 {
		t.Fatalf("schema differs after concurrent migration:\n%s", strings.Join(stmts, ";\n"))
	}
	// River's migrator takes no lock of its own; each version must be recorded once.
	var versions, distinct int
	if err := dbs[0].SQL.QueryRowContext(ctx, "SELECT count(*), count(DISTINCT version) FROM river_migration").Scan(&versions, &distinct); err != nil {
		t.Fatal(err)
	}
	if versions == 0 || versions != distinct {
		t.Fatalf("river_migration has %d rows for %d versions", versions, distinct)
	}
}

func TestInventoryLevelChecks(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			ctx := viewer.SystemContext(testContext(t))
			client := d.fresh(t).Client
			m := client.Merchant.Create().SetName("Checks").SetHandle("checks").SaveX(ctx)
			p := client.Product.Create().SetMerchantID(m.ID).SetTitle("Mug").SetHandle("mug").SaveX(ctx)
			v := client.Variant.Create().SetMerchantID(m.ID).SetProductID(p.ID).SetSku("MUG-1").SaveX(ctx)
			w := client.Warehouse.Create().SetMerchantID(m.ID).SetCode("main").SetName("Main").SaveX(ctx)
			level := func(onHand, reserved int64) *ent.InventoryLevelCreate {
				return client.InventoryLevel.Create().SetMerchantID(m.ID).SetVariantID(v.ID).SetWarehouseID(w.ID).
					SetOnHand(onHand).SetReserved(reserved)
			}

			for _, tc := range []struct {
				onHand, reserved int64
				constraint       string
			}{
				{1, 2, "inventory_levels_reserved_within_on_hand"},
				{-1, 0, "inventory_levels_on_hand_nonnegative"},
				{0, -1, "inventory_levels_reserved_nonnegative"},
			} {
				_, err := level(tc.onHand, tc.reserved).Save(ctx)
				if err == nil || !strings.Contains(err.Error(), tc.constraint) {
					t.Errorf("on_hand=%d reserved=%d: got error %v, want a violation of %s", tc.onHand, tc.reserved, err, tc.constraint)
				}
			}

			l := level(3, 3).SaveX(ctx)
			_, err := l.Update().SetReserved(4).Save(ctx)
			if err == nil || !strings.Contains(err.Error(), "inventory_levels_reserved_within_on_hand") {
				t.Errorf("reserving past on_hand: got error %v, want a check violation", err)
			}
		})
	}
}

func TestOpenUnreachablePostgres(t *testing.T) {
	ctx := testContext(t)
	start := time.Now()
	// Port 1 on loopback refuses at once; the point is an error, not a panic or a hang.
	db, err := database.Open(ctx, "postgres://postgres:hunter2@127.0.0.1:1/test?sslmode=disable")
	if err == nil {
		_ = db.Close()
		t.Fatal("Open succeeded against a closed port")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "database: cannot reach postgres at 127.0.0.1:1: ") || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line naming the address", msg)
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("error %q leaks the password", msg)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Open took %v to fail", elapsed)
	}
}

func TestOpenRejectsBadURLs(t *testing.T) {
	ctx := testContext(t)
	for _, url := range []string{"mysql://root:hunter2@localhost/shop", "sqlite:", "sqlite::memory:", "var/db.sqlite"} {
		db, err := database.Open(ctx, url)
		if err == nil {
			_ = db.Close()
			t.Errorf("Open(%q) succeeded", url)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q): error %q leaks the password", url, err)
		}
	}
}

func TestOpenSQLite(t *testing.T) {
	ctx := testContext(t)
	path := filepath.Join(t.TempDir(), "nested", "dir", "mercantile.db")
	for _, url := range []string{"sqlite:" + path, "file:" + path, "sqlite://" + path} {
		db, err := database.Open(ctx, url)
		if err != nil {
			t.Fatalf("Open(%q): %v", url, err)
		}
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		for pragma, want := range map[string]string{
			"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000", "synchronous": "1",
		} {
			var got string
			if err := db.SQL.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("Open(%q): PRAGMA %s = %s, want %s", url, pragma, got, want)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not created: %v", err)
	}
}

func TestPostgresDatabasesAreFreshAndDropped(t *testing.T) {
	ctx := testContext(t)
	admin := dbtest.Postgres(t)
	var names [2]string
	t.Run("use", func(t *testing.T) {
		for i := range names {
			db := dbtest.Postgres(t)
			if err := db.SQL.QueryRowContext(ctx, "SELECT current_database()").Scan(&names[i]); err != nil {
				t.Fatal(err)
			}
			n, err := db.Client.Merchant.Query().Count(viewer.SystemContext(ctx))
			if err != nil || n != 0 {
				t.Fatalf("fresh database has %d merchants (err %v)", n, err)
			}
			if i == 0 {
				db.Client.Merchant.Create().SetName("A").SetHandle("a").SaveX(viewer.SystemContext(ctx))
			}
		}
	})
	if names[0] == names[1] {
		t.Fatalf("two calls returned the same database %s", names[0])
	}
	for _, name := range names {
		var exists bool
		err := admin.SQL.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
		if err != nil {
			t.Fatal(err)
		}
		if exists {
			t.Errorf("database %s still exists after its test ended", name)
		}
	}
}

// Migrate also creates the job queue's tables, with River's migrations.
func TestMigrateCreatesRiverTables(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			ctx := testContext(t)
			db := d.fresh(t)
			var versions, jobs int
			if err := db.SQL.QueryRowContext(ctx, "SELECT count(*) FROM river_migration").Scan(&versions); err != nil {
				t.Fatal(err)
			}
			if versions == 0 {
				t.Error("river_migration is empty")
			}
			if err := db.SQL.QueryRowContext(ctx, "SELECT count(*) FROM river_job").Scan(&jobs); err != nil {
				t.Fatal(err)
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			var again int
			if err := db.SQL.QueryRowContext(ctx, "SELECT count(*) FROM river_migration").Scan(&again); err != nil {
				t.Fatal(err)
			}
			if again != versions {
				t.Errorf("river_migration has %d rows after migrating again, %d before", again, versions)
			}
		})
	}
}

// InTx exposes the *sql.Tx under its ent transaction; statements on it commit and roll
// back with the ent writes.
func TestSQLTxFromContext(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			ctx := viewer.SystemContext(testContext(t))
			db := d.fresh(t)
			if _, _, ok := database.SQLTxFromContext(ctx); ok {
				t.Error("found a transaction outside InTx")
			}
			count := func(handle string) int {
				var n int
				q := "SELECT count(*) FROM merchants WHERE handle = " + map[string]string{"postgres": "$1", "sqlite": "?"}[d.name]
				if err := db.SQL.QueryRowContext(ctx, q, handle).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			insert := func(ctx context.Context, handle string) error {
				tx, txDB, ok := database.SQLTxFromContext(ctx)
				if !ok {
					return errors.New("no *sql.Tx in InTx's context")
				}
				if txDB != db {
					return errors.New("the transaction's DB is not the one InTx ran on")
				}
				q := map[string]string{
					"postgres": "INSERT INTO merchants (id, created_at, updated_at, name, handle) VALUES ($1, now(), now(), $2, $2)",
					"sqlite":   "INSERT INTO merchants (id, created_at, updated_at, name, handle) VALUES (?1, datetime('now'), datetime('now'), ?2, ?2)",
				}[d.name]
				_, err := tx.ExecContext(ctx, q, "mer_"+handle, handle)
				return err
			}
			for _, fail := range []bool{true, false} {
				handle := map[bool]string{true: "rolled-back", false: "committed"}[fail]
				err := database.InTx(ctx, db.Client, func(ctx context.Context, tx *ent.Client) error {
					tx.Merchant.Create().SetName("ent-" + handle).SetHandle("ent-" + handle).SaveX(ctx)
					// A nested InTx joins the same transaction.
					if err := database.InTx(ctx, db.Client, func(ctx context.Context, _ *ent.Client) error {
						return insert(ctx, handle)
					}); err != nil {
						return err
					}
					if fail {
						return errors.New("fail")
					}
					return nil
				})
				if fail != (err != nil) {
					t.Fatalf("InTx(fail=%v) = %v", fail, err)
				}
				want := map[bool]int{true: 0, false: 1}[fail]
				if got := count(handle); got != want {
					t.Errorf("%s: %d rows written on the *sql.Tx, want %d", handle, got, want)
				}
				if got := count("ent-" + handle); got != want {
					t.Errorf("%s: %d rows written by ent, want %d", handle, got, want)
				}
			}

			// A transaction begun with client.Tx, even inside InTx, is not InTx's.
			tx, err := db.Client.Tx(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback() }()
			if _, _, ok := database.SQLTxFromContext(ent.NewTxContext(ctx, tx)); ok {
				t.Error("found the *sql.Tx of a transaction InTx did not begin")
			}
		})
	}
}
