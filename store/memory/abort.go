package memory

import (
	"errors"
	"fmt"

	"github.com/ocpctl/ocpstore/store"
)

// A PostgreSQL statement that fails with a server error (a unique or
// foreign-key violation, a write in a read-only transaction) aborts its
// transaction: every later statement fails with 25P02 until it ends, and
// COMMIT rolls it back. Other outcomes a caller sees as errors are answers
// (no row found, a lost compare-and-set, a lock held by another holder)
// and leave the transaction usable. The memory backend marks the first
// kind with failedStatement, and a transaction that sees one aborts, so
// code tested on memory that would break on PostgreSQL breaks here too.

// statementError is an error PostgreSQL raises as a failed statement.
type statementError struct{ err error }

func (e *statementError) Error() string { return e.err.Error() }
func (e *statementError) Unwrap() error { return e.err }

// failedStatement marks err as one PostgreSQL would raise as a failed
// statement, which aborts the transaction it happens in.
func failedStatement(err error) error { return &statementError{err} }

// statementFailed reports whether err is marked by failedStatement, and
// returns it without the mark.
func statementFailed(err error) (error, bool) {
	var se *statementError
	if errors.As(err, &se) {
		return se.err, true
	}
	return err, false
}

// errAborted is the error of a statement in an aborted transaction.
func errAborted(cause error) error {
	return fmt.Errorf("%w (commands are ignored until the transaction ends); the failed statement: %v",
		store.ErrTxAborted, cause)
}
