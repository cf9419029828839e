package store

import (
	"context"
	"errors"
)

// What an Observer sees beyond Start and done. An adapter implements the
// optional interfaces below next to Observer; the Store finds them with a
// type assertion when WithObserver is applied, so an Observer that only
// implements Observer keeps working, and each event costs nothing without
// one.

// RetryObserver is an Observer that also sees retries: each time WithTx,
// or a worker operation outside a transaction (Claim, ClaimMany, Finish,
// FinishMany, RecoverStuck), is run again after a serialization failure.
type RetryObserver interface {
	Observer
	// Retry is called before retry number attempt (1 for the first) of the
	// operation whose context (as Start returned it) is ctx, with the error
	// that caused it. It must be safe for concurrent use.
	Retry(ctx context.Context, attempt int, err error)
}

// HeartbeatObserver is an Observer that also sees the failures of
// KeepAlive's heartbeats, which no call of the user's returns: each
// Extend that failed, and whether the heartbeat then gave up on the lock.
type HeartbeatObserver interface {
	Observer
	// HeartbeatFailed is called from the heartbeat's goroutine with the
	// heartbeat's context (derived from KeepAlive's) after a failed Extend.
	// It must be safe for concurrent use and must not block.
	HeartbeatFailed(ctx context.Context, f HeartbeatFailure)
}

// HeartbeatFailure is one failed Extend of a heartbeat.
type HeartbeatFailure struct {
	Lock *JobLock // the lock as last extended
	Err  error    // Extend's error (the Extend operation reported it to Start's done too)
	// Lost is true when the heartbeat ended with this failure and cancelled
	// its Context: Err matches ErrLockLost (the lock was taken over or
	// released), or Extend has failed for longer than the lock could still
	// be live, so the lock is presumed lost though Err does not say so.
	Lost bool
}

// Error classes, as ErrorClass names them: a small, fixed set, fit for a
// metric attribute.
const (
	ClassInvalidArgument = "invalid_argument" // ErrInvalidArgument, ErrTxDone: the caller's mistake
	ClassNotFound        = "not_found"        // ErrNotFound
	ClassConflict        = "conflict"         // ErrConflict, ErrInvalidStateTransition, ErrIdempotencyMismatch
	ClassLockHeld        = "lock_held"        // ErrLockHeld
	ClassLockLost        = "lock_lost"        // ErrLockLost
	ClassNoJob           = "no_job"           // ErrNoJob
	ClassSerialization   = "serialization"    // ErrSerialization
	ClassUnavailable     = "unavailable"      // ErrUnavailable (and not ErrCommitUnknown)
	ClassCommitUnknown   = "commit_unknown"   // ErrCommitUnknown, alone or with ErrUnavailable
	ClassTxAborted       = "tx_aborted"       // ErrTxAborted
	ClassCanceled        = "canceled"         // context.Canceled, context.DeadlineExceeded
	ClassOther           = "other"            // anything else: a failure of the database or a bug
)

// classes is ErrorClass's table, most specific first: ErrSerialization
// before ErrConflict (it matches both), ErrCommitUnknown before
// ErrUnavailable (an unavailable server after a write may have landed is
// both, and the unknown outcome is what the caller must act on), the
// sentinels before the context's errors (a retry abandoned when ctx ended
// wraps both the failure and ctx.Err()).
var classes = []struct {
	err   error
	class string
}{
	{ErrInvalidArgument, ClassInvalidArgument},
	{ErrTxDone, ClassInvalidArgument},
	{ErrNoJob, ClassNoJob},
	{ErrNotFound, ClassNotFound},
	{ErrLockHeld, ClassLockHeld},
	{ErrLockLost, ClassLockLost},
	{ErrSerialization, ClassSerialization},
	{ErrCommitUnknown, ClassCommitUnknown},
	{ErrTxAborted, ClassTxAborted},
	{ErrUnavailable, ClassUnavailable},
	{ErrInvalidStateTransition, ClassConflict},
	{ErrIdempotencyMismatch, ClassConflict},
	{ErrConflict, ClassConflict},
	{context.Canceled, ClassCanceled},
	{context.DeadlineExceeded, ClassCanceled},
}

// ErrorClass names the class of an error a Store returned, for metrics and
// logs: one of the Class constants, "" for nil. An error matching several
// sentinels gets the most specific class (see the constants).
func ErrorClass(err error) string {
	if err == nil {
		return ""
	}
	for _, c := range classes {
		if errors.Is(err, c.err) {
			return c.class
		}
	}
	return ClassOther
}
