//go:build linux

package postgres_test

import (
	"testing"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
	"github.com/ocpctl/ocpstore/storetest"
)

// TestTortureProcesses runs the lock torture test across
// storetest.TortureProcesses OS processes (this test binary, re-executed),
// each with its own pool on one fresh database, as worker processes on
// several machines would have; their histories are checked together.
// OCPSTORE_TORTURE_DURATION or OCPSTORE_TORTURE_OPS make it long.
func TestTortureProcesses(t *testing.T) {
	t.Parallel()
	storetest.RunTortureProcesses(t, func(t *testing.T) string { return postgrestest.New(t).URL },
		func(t *testing.T, dsn string, clock store.Clock) *store.Store {
			cfg, err := postgres.DefaultConfig(dsn)
			if err != nil {
				t.Fatal(err)
			}
			cfg.PoolConfig.MaxConns, cfg.PoolConfig.MinConns = postgrestest.PoolMaxConns, 0
			pool, err := postgres.NewPool(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			return postgres.New(pool, postgres.WithClock(clock))
		})
}
