package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"entgo.io/ent/dialect"
	"github.com/golang-migrate/migrate/v4"
	migratedb "github.com/golang-migrate/migrate/v4/database"
	"github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/mercantile/mercantile/migrations"
)

// Migrate applies the migrations embedded for the database's dialect that it has not
// applied yet, then those of the job queue's tables (River's own migrations, see
// migrateRiver). It is idempotent. On PostgreSQL each step holds an advisory lock while
// it works, so replicas starting together apply each migration once; the others wait (up
// to ctx's deadline, or golang-migrate's 15 s default without one) and then find nothing
// left to do. On SQLite only one process may migrate at a time. A cancelled ctx stops
// between migrations, never inside one.
func (db *DB) Migrate(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	files, driver, err := db.migrationDriver()
	if err != nil {
		return fmt.Errorf("database: migrate: %w", err)
	}
	src, err := iofs.New(files, ".")
	if err != nil {
		_ = driver.Close()
		return fmt.Errorf("database: migrate: reading embedded migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, db.Dialect, driver)
	if err != nil {
		_ = driver.Close()
		return fmt.Errorf("database: migrate: %w", err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		m.LockTimeout = time.Until(deadline)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			m.GracefulStop <- true
		case <-done:
		}
	}()

	err = m.Up()
	close(done)
	// ErrNoChange means there was nothing to apply: success.
	if _, closeErr := m.Close(); err == nil || errors.Is(err, migrate.ErrNoChange) {
		err = closeErr
	}
	if err == nil {
		err = db.migrateRiver(ctx)
	}
	if err == nil && db.Dialect == dialect.SQLite {
		err = foreignKeyCheck(ctx, db.SQL)
	}
	if err != nil {
		return fmt.Errorf("database: migrate: %w", err)
	}
	return ctx.Err()
}

// migrationDriver returns the dialect's migrations and a golang-migrate driver on a
// *sql.DB of its own: the drivers close the handle they are given, which must not be
// db.SQL.
func (db *DB) migrationDriver() (fs.FS, migratedb.Driver, error) {
	switch db.Dialect {
	case dialect.Postgres:
		// A second *sql.DB over the same pool: closing it leaves the pool open.
		handle := stdlib.OpenDBFromPool(db.Pool)
		driver, err := pgx.WithInstance(handle, &pgx.Config{})
		if err != nil {
			_ = handle.Close()
		}
		return migrations.Postgres, driver, err
	case dialect.SQLite:
		// Atlas changes a SQLite table by rebuilding it (create, copy, drop the old one,
		// rename) behind PRAGMA foreign_keys = off, but that pragma does nothing inside
		// the transaction golang-migrate runs each file in. With foreign keys on, dropping
		// the old table would set every ON DELETE SET NULL reference to it to NULL, or
		// fail. So migrations run on a connection with foreign keys off, and
		// foreignKeyCheck verifies the result, as Atlas's own executor does.
		if db.sqliteMigrationDSN == "" {
			return nil, nil, errors.New("the SQLite DB was not opened with database.Open")
		}
		handle, err := sql.Open("sqlite", db.sqliteMigrationDSN)
		if err != nil {
			return nil, nil, err
		}
		driver, err := sqlite.WithInstance(handle, &sqlite.Config{})
		if err != nil {
			_ = handle.Close()
		}
		return migrations.SQLite, driver, err
	}
	return nil, nil, fmt.Errorf("unknown dialect %q", db.Dialect)
}

// foreignKeyCheck fails if any row references a row that does not exist, which only a
// migration run with foreign keys off can have caused.
func foreignKeyCheck(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The pragma walks the tables of the connection's cached schema without checking that
	// it is current, and this connection may predate the migration: an ordinary query
	// notices the schema changed and reloads it.
	var tables int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		return err
	}
	rows, err := conn.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var (
			table, parent string
			rowid         sql.NullInt64
			fk            int
		)
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return err
		}
		return fmt.Errorf("a migration left rows violating foreign keys, first %s rowid %d referencing %s", table, rowid.Int64, parent)
	}
	return rows.Err()
}

// riverMigrateLockKey is the advisory lock (pg_advisory_lock's bigint) that serializes
// River's migrations between processes. golang-migrate's key is derived from the
// database name with a different scheme; River itself takes no lock while migrating.
const riverMigrateLockKey int64 = 0x6d65_7263_7276_6d67 // "mercrvmg"

// migrateRiver creates or upgrades the job queue's tables with River's own migrator.
// They are not copied into migrations/: that directory is generated from ent/schema and
// checked against it, and River's migrations belong to the River version in go.mod, so
// upgrading River upgrades its tables on the next Migrate with nothing to regenerate.
// River records what it applied in its river_migration table; like golang-migrate it
// runs each version in a transaction of its own.
func (db *DB) migrateRiver(ctx context.Context) error {
	quiet := &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)}
	switch db.Dialect {
	case dialect.Postgres:
		// River checks what is applied and then applies the rest, with no lock: two
		// processes would both try to create the tables. The session lock is held on
		// a connection of its own while the migrator works on others from the pool.
		conn, err := db.Pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("river: %w", err)
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", riverMigrateLockKey); err != nil {
			return fmt.Errorf("river: taking the migration lock: %w", err)
		}
		defer func() {
			if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", riverMigrateLockKey); err != nil {
				// The session would keep the lock: end it.
				_ = conn.Conn().Close(context.WithoutCancel(ctx))
			}
		}()
		m, err := rivermigrate.New(riverpgxv5.New(db.Pool), quiet)
		if err != nil {
			return fmt.Errorf("river: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("river: %w", err)
		}
		return nil
	case dialect.SQLite:
		m, err := rivermigrate.New(riversqlite.New(db.SQL), quiet)
		if err != nil {
			return fmt.Errorf("river: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("river: %w", err)
		}
		return nil
	}
	return fmt.Errorf("unknown dialect %q", db.Dialect)
}
