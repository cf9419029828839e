package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/ocpctl/ocpstore/store"
)

// Transactions. Write transactions are serialized by one write token (see
// Backend.writer), held from Begin until Commit or Rollback. A transaction
// writes into a private overlay (per table: primary key to new row or
// tombstone, plus the unique keys it wrote) that its own reads see on top
// of the committed tables; Commit applies the overlay and maintains the
// indexes under a short exclusive data lock, and Rollback drops it. So a
// rolled-back transaction's writes are never visible to anyone, and every
// transaction is serializable. A read-only transaction holds the write
// token too: that is what makes its reads one snapshot. Reads outside a
// transaction see committed data under a shared lock, so a list's page and
// total come from one snapshot. Each operation checks everything before it
// writes anything, so a failed call changes nothing, as a failed
// PostgreSQL statement (and see abort.go for what aborts a transaction).

// tx is an open transaction: it holds the backend's write token from Begin
// to Commit or Rollback, and writes into its overlay ov, which its own reads
// see on top of the committed data.
type tx struct {
	executor // bound to the transaction: executor{b, t}
	readOnly bool

	mu      sync.Mutex // serializes calls, in case a caller shares the tx
	done    bool
	aborted error // the failed statement that aborted the transaction, if any (see abort.go)
	ov      overlay
	view    *dbView // the committed tables under ov
}

// Commit applies the transaction's writes and ends it. If ctx has ended,
// nothing is applied (as pgx does not send COMMIT then, and the server
// rolls back) and the error says so; an aborted transaction is rolled back
// with ErrTxAborted, as PostgreSQL's COMMIT does. It never fails otherwise.
func (t *tx) Commit(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return store.ErrTxDone
	}
	t.done = true
	defer t.b.unlock()
	if t.aborted != nil {
		return fmt.Errorf("transaction rolled back: %w", errAborted(t.aborted))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("transaction rolled back: %w", err)
	}
	t.b.commit(&t.ov)
	return nil
}

// Rollback drops the transaction's writes and ends it, whatever the state
// of ctx.
func (t *tx) Rollback(context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return store.ErrTxDone
	}
	t.done = true
	t.ov = overlay{}
	t.b.unlock()
	return nil
}

func (t *tx) read(ctx context.Context, fn func(v *dbView) error) error {
	return t.run(ctx, false, fn)
}

func (t *tx) write(ctx context.Context, fn func(v *dbView) error) error {
	return t.run(ctx, true, fn)
}

// run runs one statement of the transaction. A statement that fails as
// PostgreSQL's would (failedStatement, and a write in a read-only
// transaction) aborts the transaction: every later statement fails with
// ErrTxAborted, and Commit rolls back.
func (t *tx) run(ctx context.Context, writes bool, fn func(v *dbView) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return store.ErrTxDone
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if t.aborted != nil {
		return errAborted(t.aborted)
	}
	var err error
	if writes && t.readOnly {
		err = failedStatement(&store.ValidationError{Field: "transaction", Reason: "cannot write in a read-only transaction"})
	} else {
		err = fn(t.view)
	}
	err, failed := statementFailed(err)
	if failed {
		t.aborted = err
	}
	return err
}
