package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ocpctl/ocpstore/store"
)

// retryable is an error pgconn would call safe to retry, wrapping err.
type retryable struct{ err error }

func (e retryable) Error() string     { return e.err.Error() }
func (e retryable) Unwrap() error     { return e.err }
func (e retryable) SafeToRetry() bool { return true }

// TestFaultCommitErrorClassification pins how a failed COMMIT is reported
// for the faults TestFaultCommitCut and TestFaultTerminateBackends produce
// (and those they cannot produce on demand): only what certainly happened
// before COMMIT reached the server may say "not committed"; a session
// ended by the server, or a connection lost while waiting for the reply,
// is store.ErrCommitUnknown.
func TestFaultCommitErrorClassification(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		err         error
		unknown     bool
		unavailable bool // the server or the connection went away
		alsoMatches error
	}{
		{"terminated backend (57P01 FATAL)", &pgconn.PgError{Severity: "FATAL", SeverityUnlocalized: "FATAL",
			Code: "57P01", Message: "terminating connection due to administrator command"}, true, true, nil},
		{"localized FATAL without the unlocalized field", &pgconn.PgError{Severity: "FATAL", Code: "57P02"}, true, true, nil},
		{"server crash (PANIC)", &pgconn.PgError{Severity: "PANIC", SeverityUnlocalized: "PANIC", Code: "XX000"}, true, true, nil},
		{"idle_in_transaction_session_timeout", &pgconn.PgError{Severity: "FATAL", SeverityUnlocalized: "FATAL",
			Code: codeIdleInTxTimeout}, false, false, nil},
		{"serialization failure at commit", &pgconn.PgError{Severity: "ERROR", SeverityUnlocalized: "ERROR",
			Code: codeSerializationFailure}, false, false, store.ErrSerialization},
		{"pgx's conn closed after COMMIT was sent", retryable{fmt.Errorf("wrapped: %w", pgconn.ErrConnClosed)}, true, true, nil},
		{"EOF while waiting for the reply", io.ErrUnexpectedEOF, true, true, nil},
		{"nothing written (safe to retry)", retryable{&net.OpError{Op: "write", Err: syscall.EPIPE}}, false, true, nil},
		{"a statement of the transaction had failed", pgx.ErrTxCommitRollback, false, false, store.ErrTxAborted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := commitError(context.Background(), tc.err)
			if got == nil {
				t.Fatal("commitError returned nil")
			}
			if errors.Is(got, store.ErrCommitUnknown) != tc.unknown {
				t.Errorf("commitError(%v) = %v; ErrCommitUnknown = %v, want %v", tc.err, got, !tc.unknown, tc.unknown)
			}
			if errors.Is(got, store.ErrUnavailable) != tc.unavailable {
				t.Errorf("commitError(%v) = %v; ErrUnavailable = %v, want %v", tc.err, got, !tc.unavailable, tc.unavailable)
			}
			if tc.alsoMatches != nil && !errors.Is(got, tc.alsoMatches) {
				t.Errorf("commitError(%v) = %v, want it to match %v", tc.err, got, tc.alsoMatches)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("commitError(%v) = %v, which lost the cause", tc.err, got)
			}
		})
	}
}
