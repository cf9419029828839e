package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pashagolub/pgxmock/v4"

	"github.com/ocpctl/ocpstore/store"
)

// fatal is the error a terminated session reports.
func fatal(code string) *pgconn.PgError {
	return &pgconn.PgError{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: "mock " + code}
}

// TestClassifyUnavailable pins which failures are store.ErrUnavailable, and
// which of those also say a write may have been applied.
func TestClassifyUnavailable(t *testing.T) {
	t.Parallel()
	connectErr := &pgconn.ConnectError{Config: &pgconn.Config{}}
	for _, tc := range []struct {
		name              string
		err               error
		readOnly, written bool
		unavailable       bool
		unknown           bool
	}{
		{"57P01 terminated, read", fatal("57P01"), false, false, true, false},
		{"57P01 terminated, autocommit write sent", fatal("57P01"), false, true, true, true},
		{"57P02 crash shutdown", fatal("57P02"), false, false, true, false},
		{"57P03 cannot connect now", fatal("57P03"), false, true, true, true},
		{"08006 connection failure", fatal("08006"), false, false, true, false},
		{"PANIC", &pgconn.PgError{Severity: "PANIC", Code: "XX000"}, false, false, true, false},
		{"end of file, write sent", io.ErrUnexpectedEOF, false, true, true, true},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), false, false, true, false},
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, false, true, true, true},
		{"connect failure, write never sent", connectErr, false, true, true, false},
		{"conn closed before sending (safe to retry)", retryable{pgconn.ErrConnClosed}, false, true, true, false},
		{"25006 outside a ReadOnly transaction: a standby", pgError("25006"), false, true, true, false},
		{"25006 in a ReadOnly transaction: the caller's mistake", pgError("25006"), true, false, false, false},
		{"28P01 refused login", fatal("28P01"), false, false, false, false},
		{"3D000 missing database", fatal("3D000"), false, false, false, false},
		{"23505 unique violation", pgError("23505"), false, true, false, false},
		{"40001 serialization failure", pgError("40001"), false, true, false, false},
		{"55P03 lock timeout", pgError("55P03"), false, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := classify(context.Background(), tc.err, tc.readOnly, tc.written)
			if errors.Is(got, store.ErrUnavailable) != tc.unavailable || errors.Is(got, store.ErrCommitUnknown) != tc.unknown {
				t.Fatalf("classify(%v) = %v: ErrUnavailable %v, ErrCommitUnknown %v; want %v, %v", tc.err, got,
					errors.Is(got, store.ErrUnavailable), errors.Is(got, store.ErrCommitUnknown), tc.unavailable, tc.unknown)
			}
			if !errors.Is(got, tc.err) {
				t.Fatalf("classify lost the cause: %v", got)
			}
			// IsUnavailable cannot know whether a 25006 came from a ReadOnly transaction.
			if !isCode(tc.err, codeReadOnlyTransaction) && IsUnavailable(tc.err) != tc.unavailable {
				t.Fatalf("IsUnavailable(%v) = %v, want %v", tc.err, IsUnavailable(tc.err), tc.unavailable)
			}
		})
	}
	t.Run("the caller's context ended", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if got := classify(ctx, io.ErrUnexpectedEOF, false, true); errors.Is(got, store.ErrUnavailable) {
			t.Fatalf("a failure after the caller's context ended is %v, want not ErrUnavailable", got)
		}
	})
}

// TestRetryBeforeServer: an autocommit statement that never reached the
// server is run once more; one that may have run is not; a BEGIN is
// retried after any connection failure. All through the querier layer,
// with pgxmock standing in for the pool.
func TestRetryBeforeServer(t *testing.T) {
	t.Parallel()
	notSent := retryable{&net.OpError{Op: "write", Net: "tcp", Err: syscall.EPIPE}}
	t.Run("a statement that never left is run again", func(t *testing.T) {
		t.Parallel()
		mock, s := newMock(t, 0)
		mock.ExpectExec(`^DELETE FROM rbac_mappings WHERE id = \$1$`).WithArgs("rbac_1").WillReturnError(notSent)
		mock.ExpectExec(`^DELETE FROM rbac_mappings WHERE id = \$1$`).WithArgs("rbac_1").
			WillReturnResult(pgxmock.NewResult("DELETE", 1))
		if err := s.RBAC.Delete(t.Context(), "rbac_1"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a row that never left is read again", func(t *testing.T) {
		t.Parallel()
		mock, s := newMock(t, 0)
		mock.ExpectQuery(`FROM clusters WHERE id = \$1$`).WithArgs("clu_1").WillReturnError(notSent)
		mock.ExpectQuery(`FROM clusters WHERE id = \$1$`).WithArgs("clu_1").WillReturnError(notSent)
		_, err := s.Clusters.GetByID(t.Context(), "clu_1")
		if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrCommitUnknown) {
			t.Fatalf("read failing twice before the server: %v, want ErrUnavailable only", err)
		}
	})
	t.Run("a write that may have run is not run again", func(t *testing.T) {
		t.Parallel()
		mock, s := newMock(t, 0)
		mock.ExpectExec(`^DELETE FROM rbac_mappings WHERE id = \$1$`).WithArgs("rbac_1").WillReturnError(fatal("57P01"))
		err := s.RBAC.Delete(t.Context(), "rbac_1")
		if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, store.ErrCommitUnknown) {
			t.Fatalf("autocommit write cut by 57P01: %v, want ErrUnavailable and ErrCommitUnknown", err)
		}
	})
	t.Run("BEGIN is retried once after a dead connection", func(t *testing.T) {
		t.Parallel()
		mock, s := newMock(t, 0)
		mock.ExpectBeginTx(readCommitted).WillReturnError(fatal("57P01"))
		mock.ExpectBeginTx(readCommitted)
		mock.ExpectCommit()
		if err := s.WithTx(t.Context(), func(context.Context, *store.Store) error { return nil }); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("BEGIN failing twice is ErrUnavailable", func(t *testing.T) {
		t.Parallel()
		mock, s := newMock(t, 0)
		mock.ExpectBeginTx(readCommitted).WillReturnError(fatal("57P03"))
		mock.ExpectBeginTx(readCommitted).WillReturnError(fatal("57P03"))
		err := s.WithTx(t.Context(), func(context.Context, *store.Store) error { return nil })
		if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrCommitUnknown) {
			t.Fatalf("BEGIN refused twice: %v, want ErrUnavailable only", err)
		}
	})
	t.Run("a statement in a transaction is never retried and never commit-unknown", func(t *testing.T) {
		t.Parallel()
		mock, s := newMock(t, 0)
		mock.ExpectBeginTx(readCommitted)
		mock.ExpectExec(`^DELETE FROM rbac_mappings WHERE id = \$1$`).WithArgs("rbac_1").WillReturnError(notSent)
		mock.ExpectRollback()
		err := s.WithTx(t.Context(), func(ctx context.Context, tx *store.Store) error { return tx.RBAC.Delete(ctx, "rbac_1") })
		if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrCommitUnknown) {
			t.Fatalf("statement in a transaction on a dead connection: %v, want ErrUnavailable only", err)
		}
	})
	t.Run("25006 in a ReadOnly transaction stays the caller's mistake", func(t *testing.T) {
		t.Parallel()
		mock, s := newMock(t, 0)
		mock.ExpectBeginTx(readOnlyTx)
		mock.ExpectExec(`^DELETE FROM rbac_mappings WHERE id = \$1$`).WithArgs("rbac_1").WillReturnError(pgError("25006"))
		mock.ExpectRollback()
		err := s.WithTx(t.Context(), func(ctx context.Context, tx *store.Store) error {
			return tx.RBAC.Delete(ctx, "rbac_1")
		}, store.ReadOnly())
		var ve *store.ValidationError
		if !errors.As(err, &ve) || ve.Field != "transaction" || errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("write in a ReadOnly transaction: %v, want ErrInvalidArgument for \"transaction\"", err)
		}
	})
	t.Run("a cancelled context is not retried", func(t *testing.T) {
		t.Parallel()
		mock, s := newMock(t, 0)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		mock.ExpectExec(`^DELETE FROM rbac_mappings WHERE id = \$1$`).WithArgs("rbac_1").WillReturnError(retryable{context.Canceled})
		err := s.RBAC.Delete(ctx, "rbac_1")
		if !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("cancelled: %v, want context.Canceled and not ErrUnavailable", err)
		}
	})
}

// readOnlyTx is what Begin asks for with store.ReadOnly().
var readOnlyTx = txOptions(store.TxOptions{ReadOnly: true})

// TestEndedWhileIdle checks the probe on real sockets: an idle connection
// is alive; one the peer wrote to, or closed, has ended.
func TestEndedWhileIdle(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pair := func() (client, server net.Conn) {
		t.Helper()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, _ := ln.Accept()
			accepted <- c
		}()
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		server = <-accepted
		t.Cleanup(func() { client.Close(); server.Close() })
		return client, server
	}
	// eventually waits for what the peer sent to arrive (loopback: at once).
	eventually := func(c net.Conn) bool {
		deadline := time.Now().Add(5 * time.Second)
		for !endedWhileIdle(c) {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(time.Millisecond)
		}
		return true
	}

	client, _ := pair()
	if endedWhileIdle(client) {
		t.Fatal("an idle, open connection was reported ended")
	}
	// pgconn's background reader can leave a Read of an idle connection
	// pending; the probe must not wait for it (it did, holding a pool
	// checkout forever, when it used RawConn.Read).
	client, _ = pair()
	reading := make(chan struct{})
	go func() {
		close(reading)
		var b [1]byte
		_, _ = client.Read(b[:]) // returns when the cleanup closes client
	}()
	<-reading
	probed := make(chan bool)
	go func() {
		ended := false
		for range 100 { // the reader is parked in Read by the later calls
			ended = ended || endedWhileIdle(client)
		}
		probed <- ended
	}()
	select {
	case ended := <-probed:
		if ended {
			t.Fatal("an idle connection with a pending Read was reported ended")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the probe waited for a pending Read of the connection")
	}

	client, server := pair()
	if _, err := server.Write([]byte{'E'}); err != nil {
		t.Fatal(err)
	}
	if !eventually(client) {
		t.Fatal("a connection with an unread message was not reported ended")
	}
	var b [1]byte
	if n, err := client.Read(b[:]); n != 1 || b[0] != 'E' || err != nil {
		t.Fatalf("the probe consumed the byte: read %d %q %v", n, b[:n], err)
	}
	client, server = pair()
	server.Close()
	if !eventually(client) {
		t.Fatal("a connection closed by the peer was not reported ended")
	}
}
