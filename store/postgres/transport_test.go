package postgres_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/ocpctl/ocpstore/store/postgres"
)

// secretPW is the password of the connection strings below: no error or
// log record may contain it.
const secretPW = "s3cr3t-pw-0xdeadbeef"

// newPoolLog runs NewPool on connString with a debug logger and a context
// already canceled (so it never waits on a network), and returns its
// log and its error.
func newPoolLog(t *testing.T, connString string) (log string, err error) {
	t.Helper()
	cfg, err := postgres.DefaultConfig(connString)
	if err != nil {
		t.Fatalf("DefaultConfig(%s): %v", connString, err)
	}
	var buf bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.PoolConfig.MinConns = 0
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	pool, err := postgres.NewPool(ctx, cfg)
	if err == nil {
		pool.Close()
		t.Fatalf("NewPool(%s) with a canceled context succeeded", connString)
	}
	return buf.String(), err
}

// TestNewPoolWarnsWithoutTLSVerification: NewPool warns when a host other
// than this machine is reached without verifying its certificate, and only
// then.
func TestNewPoolWarnsWithoutTLSVerification(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, conn string
		warn       string // the hosts the warning names; "" for no warning
	}{
		{"LoopbackDisable", "postgres://app:" + secretPW + "@127.0.0.1:5432/db?sslmode=disable", ""},
		{"LocalhostDisable", "postgres://app:" + secretPW + "@localhost:5432/db?sslmode=disable", ""},
		{"IPv6LoopbackDisable", "postgres://app:" + secretPW + "@[::1]:5432/db?sslmode=disable", ""},
		{"UnixSocket", "host=/var/run/postgresql user=app password=" + secretPW + " dbname=db sslmode=disable", ""},
		{"RemoteDisable", "postgres://app:" + secretPW + "@192.0.2.10:5432/db?sslmode=disable", "192.0.2.10:5432"},
		{"RemoteRequire", "postgres://app:" + secretPW + "@db.example.com:5432/db?sslmode=require", "db.example.com:5432"},
		{"RemotePreferByDefault", "postgres://app:" + secretPW + "@db.example.com/db", "db.example.com:5432"},
		{"RemoteVerifyFull", "postgres://app:" + secretPW + "@db.example.com:5432/db?sslmode=verify-full", ""},
		{"RemoteVerifyCA", "postgres://app:" + secretPW + "@db.example.com:5432/db?sslmode=verify-ca", ""},
		{"OneOfTwoHostsRemote", "postgres://app:" + secretPW + "@127.0.0.1:5432,192.0.2.11:5433/db?sslmode=disable", "192.0.2.11:5433"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			log, err := newPoolLog(t, c.conn)
			warned := strings.Contains(log, "level=WARN") && strings.Contains(log, "sslmode=verify-full")
			switch {
			case c.warn == "" && warned:
				t.Errorf("warned about a verified or local connection:\n%s", log)
			case c.warn != "" && (!warned || !strings.Contains(log, "hosts="+c.warn)):
				t.Errorf("no warning naming %s:\n%s", c.warn, log)
			}
			if strings.Contains(err.Error(), secretPW) || strings.Contains(log, secretPW) {
				t.Errorf("the password appears in the error %q or the log:\n%s", err, log)
			}
		})
	}
}

// TestNoPasswordInConnectionErrors: a connection that fails (a closed
// port) or a connection string that does not parse gives an error, and a
// debug log, without the password, whichever form the string has.
func TestNoPasswordInConnectionErrors(t *testing.T) {
	t.Parallel()
	for _, conn := range []string{
		"postgres://app:" + secretPW + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=5",
		"host=127.0.0.1 port=1 user=app password=" + secretPW + " dbname=db sslmode=disable connect_timeout=5",
	} {
		cfg, err := postgres.DefaultConfig(conn)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		cfg.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		cfg.PoolConfig.MinConns = 0
		pool, err := postgres.NewPool(t.Context(), cfg)
		if err == nil {
			pool.Close()
			t.Fatalf("NewPool on a closed port succeeded")
		}
		if strings.Contains(err.Error(), secretPW) || strings.Contains(buf.String(), secretPW) {
			t.Errorf("the password appears in the error %q or the log:\n%s", err, buf.String())
		}
		if !strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("the error %q does not name the host", err)
		}
		if !strings.Contains(buf.String(), "pgx: Connect") {
			t.Errorf("the debug log did not record the failed connection, so it proves nothing:\n%s", buf.String())
		}
	}
	for _, bad := range []string{
		"postgres://app:" + secretPW + "@127.0.0.1:notaport/db",
		"postgres://app:" + secretPW + "@127.0.0.1/db?sslmode=bogus",
		"host=127.0.0.1 password=" + secretPW + " sslmode=bogus",
		"host=127.0.0.1 password='" + secretPW + "' port=x",
	} {
		_, err := postgres.DefaultConfig(bad)
		if err == nil {
			t.Fatalf("DefaultConfig accepted %q", bad)
		}
		if strings.Contains(err.Error(), secretPW) {
			t.Errorf("the password appears in DefaultConfig's error: %v", err)
		}
	}
}
