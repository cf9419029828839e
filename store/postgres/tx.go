package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ocpctl/ocpstore/store"
)

// backendTx is a store.BackendTx on one pgx transaction.
type backendTx struct {
	tx     pgx.Tx
	stores store.Stores
}

// Stores returns the sub-stores bound to the transaction.
func (t *backendTx) Stores() store.Stores { return t.stores }

// Commit commits. See commitError for what a failure means.
func (t *backendTx) Commit(ctx context.Context) error { return commitError(ctx, t.tx.Commit(ctx)) }

// Rollback rolls back. A transaction pgx already closed (a failed Commit
// closes it) is not an error.
func (t *backendTx) Rollback(ctx context.Context) error {
	err := t.tx.Rollback(ctx)
	if err == nil || errors.Is(err, pgx.ErrTxClosed) {
		return nil
	}
	return mapError(ctx, err, "rollback")
}

// commitError classifies a COMMIT failure:
//   - a server error (a serialization failure detected at commit, a
//     deferred constraint) went through the error funnel: the transaction
//     did not commit;
//   - a transaction that had already failed was rolled back by COMMIT;
//   - an error pgconn reports as safe to retry happened before COMMIT was
//     sent (a cancelled context, say): it did not commit;
//   - anything else (io.EOF, a reset or closed connection, a timeout while
//     waiting for the reply) means COMMIT may or may not have been applied:
//     store.ErrCommitUnknown, wrapping the cause. It is never retried.
func commitError(ctx context.Context, err error) error {
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pgErr):
		return mapError(ctx, err, "commit")
	case errors.Is(err, pgx.ErrTxClosed):
		return fmt.Errorf("commit: %w: %w", store.ErrTxDone, err)
	case errors.Is(err, pgx.ErrTxCommitRollback):
		return fmt.Errorf("commit: a statement of the transaction had failed, so it was rolled back: %w", err)
	case pgconn.SafeToRetry(err):
		return fmt.Errorf("commit not sent, transaction not committed: %w", err)
	default:
		return fmt.Errorf("%w: connection failed during COMMIT: %w", store.ErrCommitUnknown, err)
	}
}
