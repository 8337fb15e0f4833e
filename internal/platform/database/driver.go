package database

import (
	"context"
	"database/sql"
	"sync"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/mercantile/mercantile/ent"
)

// entDriver is the ent driver of a DB: ent's own SQL driver, except that a transaction
// begun for InTx also records its *sql.Tx, which ent keeps out of reach under ent.Tx.
// Code that must write in the same transaction through another library (the job queue's
// River client) finds it with SQLTxFromContext.
type entDriver struct {
	*entsql.Driver
	db *DB
}

func newEntDriver(db *DB) *entDriver {
	return &entDriver{Driver: entsql.OpenDB(db.Dialect, db.SQL), db: db}
}

// Tx is what ent's Client.Tx calls.
func (d *entDriver) Tx(ctx context.Context) (dialect.Tx, error) {
	return d.BeginTx(ctx, nil)
}

// BeginTx is what ent's Client.BeginTx calls.
func (d *entDriver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	release, err := d.db.acquireWriter(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := d.Driver.BeginTx(ctx, opts)
	if err != nil {
		release()
		return nil, err
	}
	// Only the first transaction begun with the state in ctx is InTx's: one begun
	// later with a context derived from fn's (a nested client.Tx) is another.
	if st, ok := ctx.Value(txStateKey{}).(*txState); ok && st.sqlTx == nil {
		if etx, ok := tx.(*entsql.Tx); ok {
			if stx, ok := etx.Tx.(*sql.Tx); ok {
				st.sqlTx, st.db = stx, d.db
			}
		}
	}
	if d.db.writer == nil {
		return tx, nil
	}
	return &releasingTx{Tx: tx, release: sync.OnceFunc(release)}, nil
}

// acquireWriter waits, on SQLite, until no other transaction of this process is open.
// SQLite admits one writer at a time and its busy handler retries with sleeps, so under
// many concurrent writers some would wait past busy_timeout and fail with SQLITE_BUSY;
// queueing them here is fair and never fails. PostgreSQL needs no such thing.
func (db *DB) acquireWriter(ctx context.Context) (release func(), err error) {
	if db.writer == nil {
		return func() {}, nil
	}
	select {
	case db.writer <- struct{}{}:
		return func() { <-db.writer }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// releasingTx lets the next SQLite writer in once the transaction ends.
type releasingTx struct {
	dialect.Tx
	release func()
}

func (t *releasingTx) Commit() error {
	defer t.release()
	return t.Tx.Commit()
}

func (t *releasingTx) Rollback() error {
	defer t.release()
	return t.Tx.Rollback()
}

// txState ties the ent transaction InTx began to the *sql.Tx under it.
type txState struct {
	ent   *ent.Tx
	sqlTx *sql.Tx
	db    *DB
}

type txStateKey struct{}

// SQLTxFromContext returns the *sql.Tx under the ent transaction in ctx and the DB it
// belongs to, when database.InTx began that transaction on a client made by Open. ok is
// false when ctx carries no transaction or one begun some other way (client.Tx, or a
// client not made by Open); a caller that needs its writes to commit with the
// transaction must then fail rather than write outside it.
//
// Statements run on the returned *sql.Tx are part of the transaction: they commit or
// roll back with it. Do not commit or roll it back directly.
func SQLTxFromContext(ctx context.Context) (tx *sql.Tx, db *DB, ok bool) {
	etx := ent.TxFromContext(ctx)
	if etx == nil {
		return nil, nil, false
	}
	st, _ := ctx.Value(txStateKey{}).(*txState)
	if st == nil || st.ent != etx || st.sqlTx == nil {
		return nil, nil, false
	}
	return st.sqlTx, st.db, true
}

// ExecContext and QueryContext keep ent's generated Tx.ExecContext and Tx.QueryContext
// working through the wrapper: they look for these methods on the driver's transaction.
func (t *releasingTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.Tx.(interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	}).ExecContext(ctx, query, args...)
}

func (t *releasingTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.Tx.(interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	}).QueryContext(ctx, query, args...)
}
