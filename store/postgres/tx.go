package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ocpctl/ocpstore/store"
)

// backendTx is a store.ExecutorTx on one pgx transaction.
type backendTx struct {
	executor
	tx pgx.Tx
}

// Commit commits. See commitError for what a failure means.
func (t *backendTx) Commit(ctx context.Context) error {
	if err := t.tx.Commit(ctx); err != nil {
		return commitError(ctx, err) // not called on success: its errors.As target escapes
	}
	return nil
}

// Rollback rolls back. A transaction pgx already closed (a failed Commit
// closes it) is not an error, and neither is a connection already closed
// (killed, cut, or closed by pgx after a cancelled statement): the server
// ends the session, and so rolls the transaction back, when the connection
// goes, and the error that broke the connection is the one to report.
func (t *backendTx) Rollback(ctx context.Context) error {
	err := t.tx.Rollback(ctx)
	if err == nil || errors.Is(err, pgx.ErrTxClosed) || errors.Is(err, pgconn.ErrConnClosed) {
		return nil
	}
	return mapError(ctx, err, "rollback")
}

// commitError classifies a COMMIT failure:
//   - the server ending the session (a FATAL or PANIC error, such as
//     pg_terminate_backend's 57P01 or a shutdown's) may come after the
//     commit record was written (PostgreSQL reports a termination during a
//     synchronous-replication wait this way, after committing locally):
//     store.ErrCommitUnknown, except for idle_in_transaction_session_timeout
//     (25P03), which ended the session before COMMIT arrived;
//   - another server error (a serialization failure detected at commit, a
//     deferred constraint) went through the error funnel: the transaction
//     did not commit;
//   - a transaction that had already failed was rolled back by COMMIT:
//     store.ErrTxAborted;
//   - an error pgconn reports as safe to retry happened before COMMIT was
//     sent (a cancelled context, say): it did not commit. Except "conn
//     closed" (pgconn.ErrConnClosed): pgx v5 also reports a connection that
//     closed while it waited for COMMIT's reply that way, safe to retry or
//     not (MultiResultReader.NextResult drops the read error, and the next
//     read finds the connection closed), so it is ambiguous;
//   - anything else (io.EOF, a reset or closed connection, a timeout while
//     waiting for the reply) means COMMIT may or may not have been applied:
//     store.ErrCommitUnknown, wrapping the cause. It is never retried.
//
// When the cause is the server or the connection going away (see
// unavailable.go), the error matches store.ErrUnavailable as well, with
// ErrCommitUnknown whenever COMMIT may have been applied.
func commitError(ctx context.Context, err error) error {
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pgErr) && pgErr.Code == codeIdleInTxTimeout:
		return fmt.Errorf("commit: the server ended the idle transaction before COMMIT arrived, so it was rolled back: %w", err)
	case errors.As(err, &pgErr) && sessionEnded(pgErr):
		return commitUnknown(ctx, fmt.Errorf("the server ended the session during COMMIT: %w", err))
	case errors.As(err, &pgErr):
		return mapError(ctx, err, "commit")
	case errors.Is(err, pgx.ErrTxClosed):
		return fmt.Errorf("commit: %w: %w", store.ErrTxDone, err)
	case errors.Is(err, pgx.ErrTxCommitRollback):
		return fmt.Errorf("commit: a statement of the transaction had failed, so it was rolled back: %w: %w", store.ErrTxAborted, err)
	case pgconn.SafeToRetry(err) && !errors.Is(err, pgconn.ErrConnClosed):
		return classify(ctx, fmt.Errorf("commit not sent, transaction not committed: %w", err), false, false)
	default:
		return commitUnknown(ctx, fmt.Errorf("connection failed during COMMIT: %w", err))
	}
}

// commitUnknown is the error of a COMMIT that may or may not have been
// applied: store.ErrCommitUnknown, and store.ErrUnavailable too when the
// server or the connection went away.
func commitUnknown(ctx context.Context, err error) error {
	if connectionLost(ctx, err) {
		return &unavailableError{err: err, written: true}
	}
	return fmt.Errorf("%w: %w", store.ErrCommitUnknown, err)
}

// codeIdleInTxTimeout is SQLSTATE 25P03 idle_in_transaction_session_timeout.
const codeIdleInTxTimeout = "25P03"

// sessionEnded reports whether the server ended the session with pgErr: a
// FATAL or PANIC error (the unlocalized severity, when the server sent it).
func sessionEnded(pgErr *pgconn.PgError) bool {
	sev := pgErr.SeverityUnlocalized
	if sev == "" {
		sev = pgErr.Severity
	}
	return sev == "FATAL" || sev == "PANIC"
}
