package store

import (
	"errors"
	"fmt"
)

// Sentinel errors. Backends wrap them with %w and context; callers check them
// with errors.Is.
var (
	// ErrNotFound: the row does not exist (or a row it references does not).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique constraint was violated or a compare-and-set lost
	// to a concurrent writer.
	ErrConflict = errors.New("conflict")
	// ErrLockHeld: another holder has a live lock on the cluster.
	ErrLockHeld = errors.New("lock held by another holder")
	// ErrLockLost: the caller's fencing token is no longer the cluster's
	// current token (the lock expired and was taken over, was released, or
	// was removed by a janitor). The caller must stop working on the cluster.
	ErrLockLost = errors.New("lock lost")
	// ErrInvalidStateTransition: the cluster or job is not in a status from
	// which the requested one may be reached. The message names both.
	ErrInvalidStateTransition = errors.New("invalid state transition")
	// ErrInvalidArgument: input was refused before anything was written. The
	// chain holds a *ValidationError naming the field.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrIdempotencyMismatch: an idempotency key was reused with a different
	// request hash.
	ErrIdempotencyMismatch = errors.New("idempotency key reused with a different request")
	// ErrNoJob: Claim found no runnable job.
	ErrNoJob = errors.New("no runnable job")
	// ErrSerialization: the transaction lost to a concurrent one (PostgreSQL
	// SQLSTATE 40001 serialization_failure or 40P01 deadlock_detected).
	// WithTx retries it; it also matches ErrConflict.
	ErrSerialization = fmt.Errorf("%w: serialization failure", ErrConflict)
	// ErrCommitUnknown: the connection broke while COMMIT was in flight, so
	// the transaction may or may not have committed. It is never retried
	// automatically; re-read to find out what happened.
	ErrCommitUnknown = errors.New("commit outcome unknown")
	// ErrTxDone: Commit or a statement was called on a transaction that has
	// already been committed or rolled back.
	ErrTxDone = errors.New("transaction already finished")
	// ErrTxAborted: an earlier statement of the transaction failed in the
	// database (a unique or foreign-key violation, a write in a read-only
	// transaction, …), so the database ignores every further statement
	// until the transaction ends, and Commit rolls it back (PostgreSQL's
	// 25P02; the memory backend behaves the same). Roll back (inside
	// WithTx, return the error). Errors that are answers rather than
	// failed statements do not abort: ErrNotFound from a read, ErrLockHeld,
	// ErrLockLost, ErrInvalidStateTransition, an already completed
	// idempotency key, and anything refused as ErrInvalidArgument before it
	// reached the database.
	ErrTxAborted = errors.New("transaction aborted by an earlier failed statement")
	// ErrUnavailable: the database could not serve the call for now, for a
	// reason that passes by itself: it is unreachable (connection refused
	// or reset), shutting down or restarting (SQLSTATE 57P01, 57P02,
	// 57P03), or no longer the primary (a read-only server after a
	// failover). The caller should back off and try again, not treat it
	// as a bug or fail the job it is working on. When the failure came
	// after a write may have reached the server, the error also matches
	// ErrCommitUnknown: re-read to find out what happened before writing
	// again.
	ErrUnavailable = errors.New("database unavailable")
)

// ValidationError describes one refused input field. It matches
// ErrInvalidArgument with errors.Is.
type ValidationError struct {
	Field  string // the argument or struct field, e.g. "cluster.name" or "limit"
	Reason string // what is wrong with it
}

// Error implements error.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid argument: %s: %s", e.Field, e.Reason)
}

// Is reports whether target is ErrInvalidArgument.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidArgument }

// invalid returns a *ValidationError for field.
func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// TransitionError is returned (wrapped) when a status change is not allowed.
// It matches ErrInvalidStateTransition with errors.Is.
type TransitionError struct {
	Entity string // "cluster" or "job"
	ID     string
	From   string
	To     string
}

// Error implements error.
func (e *TransitionError) Error() string {
	return fmt.Sprintf("invalid state transition: %s %s: %s -> %s", e.Entity, e.ID, e.From, e.To)
}

// Is reports whether target is ErrInvalidStateTransition.
func (e *TransitionError) Is(target error) bool { return target == ErrInvalidStateTransition }
