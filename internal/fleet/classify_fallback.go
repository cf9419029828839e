package fleet

import (
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// rawConnectionFailure is TEMPORARY: delete this file, and its call in
// Classify, once the PostgreSQL backend classifies connection failures
// into store.ErrUnavailable (issue 9, "What the library must do"). Until
// then the backend returns pgx's raw errors for them, and this recognises
// the ones a failover produces (seen in the failover test):
//
//   - a connection that could not be made (refused, or every host
//     read-only: *pgconn.ConnectError), 57P03 cannot_connect_now, a write
//     refused by a demoted server (25006, which the backend reports as
//     store.ErrInvalidArgument), or anything pgconn says failed before it
//     sent a byte (pgconn.SafeToRetry): not applied;
//   - 57P01 admin_shutdown, 57P02 crash_shutdown, EOF, a reset or closed
//     connection, a network timeout: the statement may have been applied
//     (these come from autocommit writes too, not only from COMMIT, which
//     the backend already reports as store.ErrCommitUnknown).
//
// ok is false for any other error.
func rawConnectionFailure(err error) (c Class, ok bool) {
	var pgErr *pgconn.PgError
	var connectErr *pgconn.ConnectError
	switch {
	case errors.As(err, &connectErr):
		return ClassUnavailable, true
	case errors.As(err, &pgErr):
		switch pgErr.Code {
		case "57P03", "25006":
			return ClassUnavailable, true
		case "57P01", "57P02":
			return ClassUnknown, true
		}
		return "", false
	case errors.Is(err, pgconn.ErrConnClosed):
		// pgx also reports a connection closed while it waited for a
		// reply this way, safe to retry or not: ambiguous.
		return ClassUnknown, true
	case pgconn.SafeToRetry(err):
		return ClassUnavailable, true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNREFUSED),
		pgconn.Timeout(err):
		return ClassUnknown, true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return ClassUnknown, true
	}
	return "", false
}
