package postgrestest

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store/postgres"
)

// Killer terminates every client connection to a test database, again and
// again, as a server restart or a failover does to a program's
// connections: for tests that a program rides them out. Make one with
// DB.KillConnections.
type Killer struct {
	t      testing.TB
	stop   chan struct{}
	wg     sync.WaitGroup
	rounds atomic.Int64
	kills  atomic.Int64
	err    atomic.Value // the first failure of a round other than its own connection's loss
}

// killerApp is the application_name of the Killer's own connection, which
// it spares.
const killerApp = "postgrestest-killer"

// KillConnections starts terminating (pg_terminate_backend) every client
// connection to d except its own, at intervals drawn between every and
// 2.5×every from a generator seeded with seed, until Stop. The interval is
// the fault's cadence, not a synchronisation.
func (d *DB) KillConnections(t testing.TB, every time.Duration, seed uint64) *Killer {
	t.Helper()
	cfg, err := postgres.DefaultConfig(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.PoolConfig.ConnConfig.RuntimeParams["application_name"] = killerApp
	cfg.PoolConfig.MinConns, cfg.PoolConfig.MaxConns = 0, 1
	admin, err := postgres.NewPool(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	k := &Killer{t: t, stop: make(chan struct{})}
	k.wg.Go(func() {
		defer admin.Close()
		rng := rand.New(rand.NewPCG(seed, 1))
		for {
			select {
			case <-k.stop:
				return
			case <-time.After(every + time.Duration(rng.Int64N(int64(every)*3/2))):
			}
			var n int64
			err := admin.QueryRow(context.WithoutCancel(t.Context()), `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
				FROM pg_stat_activity WHERE datname = $1 AND application_name <> $2 AND backend_type = 'client backend'`,
				d.Name, killerApp).Scan(&n)
			if err != nil && !postgres.IsUnavailable(err) {
				k.err.CompareAndSwap(nil, err)
			}
			k.kills.Add(n)
			k.rounds.Add(1)
		}
	})
	return k
}

// Stop stops the Killer and returns how many rounds it ran and how many
// connections it terminated. It fails the test if a round failed for
// another reason than a lost connection of its own.
func (k *Killer) Stop() (rounds, kills int64) {
	k.t.Helper()
	close(k.stop)
	k.wg.Wait()
	if err, _ := k.err.Load().(error); err != nil {
		k.t.Fatalf("postgrestest: the killer failed: %v", err)
	}
	return k.rounds.Load(), k.kills.Load()
}
