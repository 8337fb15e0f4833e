package database

import (
	"context"
	"fmt"

	"github.com/mercantile/mercantile/ent"
)

// InTx runs fn in a transaction: the one already in ctx (ent.TxFromContext), so services
// compose into their caller's transaction, or a new one committed when fn returns nil.
// fn receives a context carrying the transaction and its client; when client was made by
// Open, SQLTxFromContext finds the *sql.Tx under the transaction in that context, so
// other libraries (the job queue) can write in the same transaction.
func InTx(ctx context.Context, client *ent.Client, fn func(ctx context.Context, tx *ent.Client) error) error {
	if tx := ent.TxFromContext(ctx); tx != nil {
		return fn(ctx, tx.Client())
	}
	// The DB's ent driver fills st in when it begins the transaction.
	st := &txState{}
	tx, err := client.Tx(context.WithValue(ctx, txStateKey{}, st))
	if err != nil {
		return fmt.Errorf("starting transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	txCtx := ent.NewTxContext(ctx, tx)
	if st.sqlTx != nil {
		st.ent = tx
		txCtx = context.WithValue(txCtx, txStateKey{}, st)
	}
	if err := fn(txCtx, tx.Client()); err != nil {
		return err
	}
	return tx.Commit()
}

// AfterCommit runs fn once the transaction in ctx commits, or at once when ctx carries
// none. Work that must not see uncommitted state, such as retiring cache entries, goes
// here: done earlier, a concurrent reader could cache the old rows again.
func AfterCommit(ctx context.Context, fn func()) {
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		fn()
		return
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			if err := next.Commit(ctx, tx); err != nil {
				return err
			}
			fn()
			return nil
		})
	})
}
