package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/internal/platform/database"
)

// ErrNoQueue is returned by Enqueue called outside a transaction with no Queue in ctx.
var ErrNoQueue = errors.New("jobs: no transaction and no queue in the context to enqueue with")

// Enqueue inserts a job to be worked by args' worker. opts may be nil; its fields
// override those of args' InsertOpts method, if any.
//
// Inside database.InTx the job is inserted in that transaction: it exists if and only
// if the transaction commits, and no worker sees it before. A transaction begun some
// other way cannot be written to, and Enqueue fails rather than insert outside it.
// Outside a transaction the job is inserted at once, on the database of the Queue in ctx
// (NewContext; job contexts carry theirs); without one Enqueue returns ErrNoQueue.
//
// A unique job (InsertOpts.UniqueOpts) that duplicates an existing one is skipped
// without error.
func Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	var db *database.DB
	if q := FromContext(ctx); q != nil {
		db = q.db
	}
	return enqueue(ctx, db, args, opts)
}

// Enqueue is the package's Enqueue, inserting on q's database when ctx carries no
// transaction.
func (q *Queue) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	return enqueue(ctx, q.db, args, opts)
}

func enqueue(ctx context.Context, db *database.DB, args river.JobArgs, opts *river.InsertOpts) error {
	if args == nil {
		return errors.New("jobs: enqueue: nil args")
	}
	if tx, txDB, ok := database.SQLTxFromContext(ctx); ok {
		ins, err := inserterFor(txDB, nil)
		if err == nil {
			_, err = ins.InsertTx(ctx, tx, args, opts)
		}
		if err != nil {
			return fmt.Errorf("jobs: enqueue %s: %w", args.Kind(), err)
		}
		return nil
	}
	if ent.TxFromContext(ctx) != nil {
		return fmt.Errorf("jobs: enqueue %s: the transaction in the context was not begun by database.InTx on a database.Open client, so the job cannot join it", args.Kind())
	}
	if db == nil {
		return ErrNoQueue
	}
	ins, err := inserterFor(db, nil)
	if err == nil {
		_, err = ins.Insert(ctx, args, opts)
	}
	if err != nil {
		return fmt.Errorf("jobs: enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

type queueKey struct{}

// NewContext returns ctx carrying q, for Enqueue outside transactions.
func NewContext(ctx context.Context, q *Queue) context.Context {
	return context.WithValue(ctx, queueKey{}, q)
}

// FromContext returns the Queue in ctx, or nil.
func FromContext(ctx context.Context) *Queue {
	q, _ := ctx.Value(queueKey{}).(*Queue)
	return q
}

// An inserter is an insert-only River client over db.SQL, whose transactions are
// *sql.Tx like those InTx begins: riverdatabasesql on PostgreSQL (the working client
// there is riverpgxv5, whose transactions are pgx.Tx), riversqlite on SQLite. There is
// one per DB, kept on it (database.DB.Value). Its configuration only affects inserts,
// and River's defaults are what the jobs' InsertOpts build on.
type inserterKey struct{}

type inserterValue struct {
	client *river.Client[*sql.Tx]
	err    error
}

// inserterFor returns db's inserter, making it with logger (slog.Default when nil) if it
// has none yet.
func inserterFor(db *database.DB, logger *slog.Logger) (*river.Client[*sql.Tx], error) {
	v := db.Value(inserterKey{}, func() any {
		if logger == nil {
			logger = slog.Default()
		}
		cfg := &river.Config{Logger: riverLogger(logger)}
		var v inserterValue
		switch db.Dialect {
		case dialect.Postgres:
			v.client, v.err = river.NewClient(riverdatabasesql.New(db.SQL), cfg)
		case dialect.SQLite:
			v.client, v.err = river.NewClient(riversqlite.New(db.SQL), cfg)
		default:
			v.err = fmt.Errorf("jobs: unsupported dialect %q", db.Dialect)
		}
		return v
	}).(inserterValue)
	return v.client, v.err
}
