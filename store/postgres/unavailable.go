package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ocpctl/ocpstore/store"
)

// IsUnavailable reports whether err is one of the failures
// store.ErrUnavailable stands for. The backend classifies into
// store.ErrUnavailable in one place (the querier layer of conn.go, and
// commitError for COMMIT):
//
//   - the server ending sessions: SQLSTATE 57P01 admin_shutdown
//     (pg_terminate_backend, a fast shutdown), 57P02 crash_shutdown, 57P03
//     cannot_connect_now (starting up, shutting down, in recovery), a
//     PANIC, and class 08 (connection exceptions);
//   - the connection failing: refused, reset, broken pipe, end of file, a
//     connection pgx had closed, any other network error, and every failure
//     to connect except a refused login (class 28) or a missing database
//     (3D000), which do not pass by themselves;
//   - 25006 read_only_sql_transaction outside a transaction the caller
//     opened with store.ReadOnly(): the server is a standby, or a primary
//     demoted by a failover. (Inside a ReadOnly transaction 25006 is the
//     caller's mistake: store.ErrInvalidArgument, field "transaction".)
//
// A failure caused by the caller's own context ending is never
// ErrUnavailable: it is the context's error.
//
// When a write may have reached the server before the failure, so that it
// may or may not have been applied, the error also matches
// store.ErrCommitUnknown: an autocommit write (INSERT, UPDATE, DELETE, or a
// WITH … UPDATE) whose connection failed after it was sent, and a COMMIT
// in the same case. A statement inside a transaction that fails so is
// ErrUnavailable alone: the server rolls the transaction back when the
// session ends.
//
// What never reached the server is retried once, on a fresh connection,
// before anything is reported: a BEGIN, and any statement whose failure
// pgconn reports as safe to retry or that failed to connect. And
// NewPool's pools do not hand out a connection whose server side ended
// while it sat idle (probe.go), the usual way a pool meets a terminated
// backend, a restart or a failover.
//
// Errors from the Store match store.ErrUnavailable already; use
// IsUnavailable for errors pgx returns for your own statements on the
// pool, and for NewPool's and Migrate's. It does not count 25006, which
// only the store, knowing whether a transaction was opened ReadOnly, can
// tell from a mistake.
func IsUnavailable(err error) bool {
	return errors.Is(err, store.ErrUnavailable) || connectionLost(context.Background(), err)
}

// unavailableError is a failure store.ErrUnavailable stands for. written
// says a write may have reached the server: it then matches
// store.ErrCommitUnknown too.
type unavailableError struct {
	err     error
	written bool
}

func (e *unavailableError) Error() string {
	if e.written {
		return "database unavailable, and the write may or may not have been applied: " + e.err.Error()
	}
	return "database unavailable: " + e.err.Error()
}

func (e *unavailableError) Unwrap() []error {
	if e.written {
		return []error{store.ErrUnavailable, store.ErrCommitUnknown, e.err}
	}
	return []error{store.ErrUnavailable, e.err}
}

// classify returns err as an unavailableError when it is one (see the top
// of this file), else unchanged. readOnly says the statement ran in a
// transaction the caller opened ReadOnly; written, that it may have written
// something that took effect on its own (an autocommit write that was sent).
func classify(ctx context.Context, err error, readOnly, written bool) error {
	switch {
	case err == nil || errors.Is(err, store.ErrUnavailable):
		return err
	case connectionLost(ctx, err):
		return &unavailableError{err: err, written: written && sent(err)}
	case !readOnly && isCode(err, codeReadOnlyTransaction):
		// Refused before it wrote anything.
		return &unavailableError{err: fmt.Errorf("the server is read-only (a standby, or demoted): %w", err)}
	}
	return err
}

// connectionLost reports whether err says the server or the connection to
// it went away (not the caller's context).
func connectionLost(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case pg.Code == codeAdminShutdown, pg.Code == codeCrashShutdown, pg.Code == codeCannotConnectNow:
			return true
		case len(pg.Code) == 5 && pg.Code[:2] == "08", pg.SeverityUnlocalized == "PANIC" || pg.Severity == "PANIC":
			return true
		}
		return false // a refused login, a missing database, or any other server error
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}

// sent reports whether the statement that failed with err may have
// reached the server: not when pgconn knows nothing was written, nor when
// no connection could be made.
func sent(err error) bool {
	var ce *pgconn.ConnectError
	return !pgconn.SafeToRetry(err) && !errors.As(err, &ce)
}

// beforeServer reports whether a failed statement certainly never reached
// the server, so that running it again cannot apply it twice.
func beforeServer(ctx context.Context, err error) bool {
	var ce *pgconn.ConnectError
	return ctx.Err() == nil && (pgconn.SafeToRetry(err) || errors.As(err, &ce))
}

// isCode reports whether err holds a *pgconn.PgError with SQLSTATE code.
func isCode(err error, code string) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == code
}

// SQLSTATE codes of a server going away.
const (
	codeAdminShutdown    = "57P01"
	codeCrashShutdown    = "57P02"
	codeCannotConnectNow = "57P03"
)
