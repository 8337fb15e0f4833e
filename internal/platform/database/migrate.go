package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"entgo.io/ent/dialect"
	"github.com/golang-migrate/migrate/v4"
	migratedb "github.com/golang-migrate/migrate/v4/database"
	"github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mercantile/mercantile/migrations"
)

// Migrate applies the migrations embedded for the database's dialect that it has not
// applied yet. It is idempotent. On PostgreSQL golang-migrate holds an advisory lock
// while it works, so replicas starting together apply each migration once; the others
// wait (up to ctx's deadline, or golang-migrate's 15 s default without one) and then find
// nothing left to do. On SQLite only one process may migrate at a time. A cancelled ctx
// stops between migrations, never inside one.
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
