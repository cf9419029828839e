package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ocpctl/ocpstore/store"
)

// ErrLockNotAvailable is returned (wrapped) when PostgreSQL could not get a
// row or table lock in time: SQLSTATE 55P03 lock_not_available, raised by
// NOWAIT or when lock_timeout expires. It matches store.ErrConflict (a
// concurrent writer holds the row; trying again later may succeed), and
// deliberately not store.ErrLockHeld, which means a live job lock.
var ErrLockNotAvailable = fmt.Errorf("%w: row lock not available", store.ErrConflict)

// SQLSTATE codes the funnel maps.
const (
	codeUniqueViolation          = "23505"
	codeForeignKeyViolation      = "23503"
	codeCheckViolation           = "23514"
	codeNotNullViolation         = "23502"
	codeStringTooLong            = "22001"
	codeNumericOutOfRange        = "22003"
	codeInvalidDatetime          = "22007"
	codeDatetimeOverflow         = "22008"
	codeUntranslatableChar       = "22P05"
	codeCharacterNotInRepertoire = "22021"
	codeInvalidTextRep           = "22P02"
	codeSerializationFailure     = "40001"
	codeDeadlockDetected         = "40P01"
	codeLockNotAvailable         = "55P03"
	codeQueryCanceled            = "57014"
	codeReadOnlyTransaction      = "25006"
	codeInFailedSQLTransaction   = "25P02"
	codeInsufficientPrivilege    = "42501"
)

// mapError is the one place database errors become store errors. what
// names the operation and its subject ("get cluster clu_…") and prefixes
// the message. The original error (a *pgconn.PgError, say) stays in the
// chain next to the sentinel, so both errors.Is(err, store.ErrConflict)
// and errors.As(err, &pgErr) work:
//
//	(classified by the querier layer)    store.ErrUnavailable, see unavailable.go
//	pgx.ErrNoRows                        store.ErrNotFound
//	pgx.ErrTxClosed                      store.ErrTxDone
//	23505 unique_violation               store.ErrConflict
//	23503 foreign_key_violation          store.ErrNotFound ("references a missing row")
//	23514, 23502, 22001, 22003, 22007,
//	22008, 22021, 22P02, 22P05           store.ErrInvalidArgument (a *store.ValidationError)
//	40001, 40P01                         store.ErrSerialization (WithTx retries it)
//	25P02 in_failed_sql_transaction      store.ErrTxAborted
//	55P03 lock_not_available             ErrLockNotAvailable (a store.ErrConflict)
//	42501 insufficient_privilege         ErrPermissionDenied, naming the role
//	57014 query_canceled                 the context's error, or context.DeadlineExceeded
//	                                     for a statement_timeout
//
// Anything else (a network error, say) is wrapped unchanged.
func mapError(ctx context.Context, err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrUnavailable) { // classified by the querier layer
		return fmt.Errorf("%s: %w", what, err)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound(what)
	}
	if errors.Is(err, pgx.ErrTxClosed) {
		return fmt.Errorf("%s: %w: %w", what, store.ErrTxDone, err)
	}
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return fmt.Errorf("%s: %w", what, err)
	}
	switch pg.Code {
	case codeUniqueViolation:
		return fmt.Errorf("%s: %w (constraint %s): %w", what, store.ErrConflict, pg.ConstraintName, err)
	case codeForeignKeyViolation:
		return fmt.Errorf("%s: references a missing row (%s): %w: %w", what, pg.Detail, store.ErrNotFound, err)
	case codeCheckViolation, codeNotNullViolation, codeStringTooLong, codeNumericOutOfRange,
		codeInvalidDatetime, codeDatetimeOverflow, codeCharacterNotInRepertoire, codeInvalidTextRep,
		codeUntranslatableChar:
		return fmt.Errorf("%s: %w: %w", what, &store.ValidationError{Field: fieldOf(pg), Reason: pg.Message}, err)
	case codeSerializationFailure, codeDeadlockDetected:
		return fmt.Errorf("%s: %w: %w", what, store.ErrSerialization, err)
	case codeReadOnlyTransaction:
		// Only in a transaction the caller opened ReadOnly (elsewhere the
		// querier layer made it ErrUnavailable). As the memory backend: a
		// write in a ReadOnly transaction is bad input.
		return fmt.Errorf("%s: %w: %w", what, &store.ValidationError{Field: "transaction", Reason: "read-only transaction"}, err)
	case codeLockNotAvailable:
		return fmt.Errorf("%s: %w: %w", what, ErrLockNotAvailable, err)
	case codeInFailedSQLTransaction:
		return fmt.Errorf("%s: %w: %w", what, store.ErrTxAborted, err)
	case codeInsufficientPrivilege:
		return fmt.Errorf("%s: %w: %w", what, ErrPermissionDenied, err)
	case codeQueryCanceled:
		cause := ctx.Err()
		if cause == nil {
			cause = context.DeadlineExceeded // statement_timeout, not the caller's context
		}
		return fmt.Errorf("%s: %w: %w", what, cause, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// fieldOf names what a data error is about, as precisely as the server
// said: the column, else the constraint, else the table.
func fieldOf(pg *pgconn.PgError) string {
	switch {
	case pg.ColumnName != "":
		return pg.TableName + "." + pg.ColumnName
	case pg.ConstraintName != "":
		return pg.ConstraintName
	case pg.TableName != "":
		return pg.TableName
	}
	return "value"
}

// isPermissionDenied reports whether the database refused err's statement
// for lack of a right (SQLSTATE 42501).
func isPermissionDenied(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == codeInsufficientPrivilege
}

// isNoRows reports whether err says a statement returned no row.
func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// notFound is the error for a row that does not exist.
func notFound(what string) error { return fmt.Errorf("%s: %w", what, store.ErrNotFound) }
