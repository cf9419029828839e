package postgres_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// TestFaultDeadPooledConnections terminates every backend of an idle pool,
// as pg_terminate_backend, a restart or a failover does, and then uses the
// pool: each kind of call (an autocommit read, an autocommit write, a
// transaction's BEGIN, a Claim) must succeed on a fresh connection, since
// nothing it sent reached the dead ones. Before the pool checked the
// connections it hands out, each first call failed with 57P01
// "terminating connection due to administrator command" although nothing
// had run.
func TestFaultDeadPooledConnections(t *testing.T) {
	t.Parallel()
	env := newFaultEnv(t)
	const app = "ocpstore-fault-dead-pool"
	pool := env.pool(t, env.db.URL, app, nil)
	s := postgres.New(pool)
	ctx := t.Context()
	c, _ := seedJob(t, s, store.ClusterReady, store.JobPostConfigure)

	for _, call := range []struct {
		name string
		do   func() error
	}{
		{"autocommit read", func() error { _, err := s.Clusters.GetByID(ctx, c.ID); return err }},
		{"autocommit write", func() error {
			_, err := s.Clusters.Update(ctx, c.ID, store.ClusterUpdate{TTLHours: new(48)})
			return err
		}},
		{"transaction", func() error {
			return s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
				_, err := tx.Clusters.GetByIDForUpdate(ctx, c.ID)
				return err
			})
		}},
		{"claim", func() error {
			cl, err := s.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: faultWait})
			if err == nil {
				_, err = s.Finish(ctx, cl.Lock, store.Succeeded(nil))
			}
			return err
		}},
	} {
		t.Run(call.name, func(t *testing.T) {
			fillPool(t, pool)
			idle := pool.Stat().IdleConns()
			n, err := env.terminate(ctx, app)
			if err != nil || n != int(idle) {
				t.Fatalf("terminated %d of %d idle backends: %v", n, idle, err)
			}
			created := pool.Stat().NewConnsCount()
			if err := call.do(); err != nil {
				t.Fatalf("%s after the pool's backends were terminated: %v", call.name, err)
			}
			if pool.Stat().NewConnsCount() == created {
				t.Fatal("the call succeeded without a new connection: it ran on a terminated one?")
			}
		})
	}
	env.requireQuiet(t, pool, app)
}

// fillPool makes the pool hold its maximum of idle connections.
func fillPool(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	var conns []*pgxpool.Conn
	for range pool.Config().MaxConns {
		c, err := pool.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Release()
	}
}

// TestFaultUnavailableClassified: the failures a caller should wait out
// are store.ErrUnavailable, told apart from bugs with errors.Is, and those
// after which a write may have been applied are store.ErrCommitUnknown too.
func TestFaultUnavailableClassified(t *testing.T) {
	t.Parallel()
	env := newFaultEnv(t)
	ctx := t.Context()

	t.Run("ConnectionRefused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close() // nothing listens there now
		cfg, err := pgxpool.ParseConfig("postgres://postgres@127.0.0.1:" + strconv.Itoa(port) + "/x?sslmode=disable&connect_timeout=5")
		if err != nil {
			t.Fatal(err)
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg) // connects lazily
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		s := postgres.New(pool)
		_, readErr := s.Clusters.GetByID(ctx, "clu_x")
		writeErr := s.Clusters.Create(ctx, newFaultCluster(store.ClusterPending))
		txErr := s.WithTx(ctx, func(context.Context, *store.Store) error { return nil })
		for name, err := range map[string]error{"read": readErr, "write": writeErr, "transaction": txErr} {
			if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrCommitUnknown) {
				t.Errorf("%s on a refused connection: %v, want ErrUnavailable only (nothing was sent)", name, err)
			}
		}
		dcfg, err := postgres.DefaultConfig(cfg.ConnString())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := postgres.NewPool(ctx, dcfg); !postgres.IsUnavailable(err) {
			t.Errorf("NewPool on a refused connection: %v, want IsUnavailable", err)
		}
	})

	t.Run("ReadOnlyServer", func(t *testing.T) {
		// Sessions of the database start read-only, as on a standby or a
		// demoted primary; the store's pools open after the change.
		if _, err := env.admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{env.db.Name}.Sanitize()+
			" SET default_transaction_read_only = on"); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_, _ = env.admin.Exec(context.WithoutCancel(ctx), "ALTER DATABASE "+pgx.Identifier{env.db.Name}.Sanitize()+
				" RESET default_transaction_read_only")
		}()
		s := postgres.New(env.pool(t, env.db.URL, "ocpstore-fault-readonly", nil))
		err := s.Clusters.Create(ctx, newFaultCluster(store.ClusterPending))
		if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrInvalidArgument) || errors.Is(err, store.ErrCommitUnknown) {
			t.Errorf("autocommit write on a read-only server: %v, want ErrUnavailable only", err)
		}
		err = s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
			return tx.Clusters.Create(ctx, newFaultCluster(store.ClusterPending))
		}, store.ReadOnly())
		var ve *store.ValidationError
		if !errors.As(err, &ve) || ve.Field != "transaction" || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("write in the caller's ReadOnly transaction: %v, want ErrInvalidArgument for \"transaction\"", err)
		}
	})

	t.Run("TerminatedMidStatement", func(t *testing.T) {
		const app = "ocpstore-fault-mid-statement"
		s := postgres.New(env.pool(t, env.db.URL, app, nil))
		c := newFaultCluster(store.ClusterReady)
		if err := s.Clusters.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		for _, call := range []struct {
			name    string
			unknown bool // a write that was sent: it may have been applied
			do      func() error
		}{
			{"autocommit write", true, func() error {
				_, err := s.Clusters.Update(ctx, c.ID, store.ClusterUpdate{TTLHours: new(12)})
				return err
			}},
			{"autocommit locking read", false, func() error { _, err := s.Clusters.GetByIDForUpdate(ctx, c.ID); return err }},
			{"write in a transaction", false, func() error {
				return s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
					_, err := tx.Clusters.Update(ctx, c.ID, store.ClusterUpdate{TTLHours: new(12)})
					return err
				})
			}},
		} {
			release := env.holdRows(t, "SELECT 1 FROM clusters WHERE id = $1 FOR UPDATE", c.ID)
			done := make(chan error, 1)
			go func() { done <- call.do() }()
			env.waitForLockWait(t, app) // the statement is on the server, waiting
			if _, err := env.terminate(ctx, app); err != nil {
				t.Fatal(err)
			}
			err := <-done
			release()
			if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrCommitUnknown) != call.unknown {
				t.Errorf("%s cut by pg_terminate_backend: %v; want ErrUnavailable, ErrCommitUnknown %v", call.name, err, call.unknown)
			}
		}
	})
}
