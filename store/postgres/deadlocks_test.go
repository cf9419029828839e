package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// watcherApp is the application_name of a test's watcher pool (see
// watchDeadlocks), which stays open until the test's other pools are
// closed.
const watcherApp = "ocpstore-test-watcher"

// watcherPool opens a pool on db named watcherApp, closed when t ends.
// Open it before the pools under test, so that it is closed after them.
func watcherPool(t *testing.T, db *postgrestest.DB) *pgxpool.Pool {
	t.Helper()
	cfg, err := postgres.DefaultConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.PoolConfig.MaxConns, cfg.PoolConfig.MinConns = postgrestest.PoolMaxConns, 0
	cfg.PoolConfig.ConnConfig.RuntimeParams["application_name"] = watcherApp
	pool, err := postgres.NewPool(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// watchDeadlocks fails t if PostgreSQL detects a deadlock in database name
// while t runs: its pg_stat_database.deadlocks must not move. A backend
// reports its statistics when it goes idle (at most once a second) and when
// it exits, so the check waits, at the end of t, for every backend of the
// database but watcher's to be gone (the test's pools are closed by then:
// open watcher, and call this, before them) and then reads the counter.
func watchDeadlocks(t *testing.T, watcher *pgxpool.Pool, name string) {
	t.Helper()
	count := func(ctx context.Context) (int64, error) {
		var n int64
		err := watcher.QueryRow(ctx, "SELECT deadlocks FROM pg_stat_database WHERE datname = $1", name).Scan(&n)
		return n, err
	}
	before, err := count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), faultWait)
		defer cancel()
		for {
			var others int
			err := watcher.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1
				AND backend_type = 'client backend' AND application_name <> $2`, name, watcherApp).Scan(&others)
			if err != nil {
				t.Errorf("deadlock check: %v", err)
				return
			}
			if others == 0 {
				break
			}
			if ctx.Err() != nil {
				t.Errorf("deadlock check: %d backends of database %s still open at the end of the test", others, name)
				return
			}
			time.Sleep(5 * time.Millisecond) // bounded polling of server state
		}
		after, err := count(ctx)
		switch {
		case err != nil:
			t.Errorf("deadlock check: %v", err)
		case after != before:
			t.Errorf("PostgreSQL detected %d deadlocks in database %s during the test (pg_stat_database.deadlocks %d -> %d)",
				after-before, name, before, after)
		default:
			t.Logf("pg_stat_database.deadlocks of %s did not move (%d)", name, after)
		}
	})
}
