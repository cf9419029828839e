package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// EnvFaultRestart opts in to TestFaultServerRestart, which restarts the
// PostgreSQL server every test shares.
const EnvFaultRestart = "OCPSTORE_FAULT_RESTART"

// restartHealthCheck is the pool's health-check period in
// TestFaultServerRestart: work must resume within it after the restart.
const restartHealthCheck = time.Second

// restartWrite is one write of TestFaultServerRestart and what the store
// said about it.
type restartWrite struct {
	id      string
	started time.Time
	err     error
}

// TestFaultServerRestart restarts the server (pg_ctlcluster … restart, a
// fast shutdown that ends every session) while writers commit through the
// store. Writes fail while it is down; work must resume by itself within
// the pool's health-check period once it is back; and afterwards every
// write the store acknowledged must be there, every write it reported as
// failed (other than store.ErrCommitUnknown) must be absent, and every
// write must be all there or not at all.
//
// It is opt-in (EnvFaultRestart=1) because the restart breaks every other
// test and program using the server for a few seconds. It needs a local
// Debian-style cluster (pg_ctlcluster and one version under
// /etc/postgresql) and the right to restart it.
func TestFaultServerRestart(t *testing.T) {
	if os.Getenv(EnvFaultRestart) != "1" {
		t.Skipf("restarting the shared PostgreSQL server disrupts every other test using it; set %s=1 to run this test", EnvFaultRestart)
	}
	restart := restartCommand(t)
	env := newFaultEnv(t)
	const app = "ocpstore-fault-restart"
	pool := env.pool(t, env.db.URL, app, func(c *postgres.Config) {
		c.PoolConfig.HealthCheckPeriod = restartHealthCheck
		c.PoolConfig.MinConns = 2
	})
	s := postgres.New(pool)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	var mu sync.Mutex
	var writes []restartWrite
	okAfter := func(since time.Time) int { // acknowledged writes started at or after since
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, w := range writes {
			if w.err == nil && !w.started.Before(since) {
				n++
			}
		}
		return n
	}
	progress := make(chan struct{}, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c := newFaultCluster(store.ClusterPending)
				w := restartWrite{id: c.ID, started: time.Now()}
				w.err = s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
					if err := tx.Clusters.Create(ctx, c); err != nil {
						return err
					}
					return tx.Audit.Log(ctx, &store.AuditEvent{Actor: "restart-test", Action: "cluster.create",
						TargetClusterID: &c.ID, Status: store.AuditSuccess})
				})
				mu.Lock()
				writes = append(writes, w)
				mu.Unlock()
				select {
				case progress <- struct{}{}:
				default:
				}
				if w.err != nil {
					wait(ctx, 10*time.Millisecond) // the server is down: do not spin
				}
			}
		})
	}
	// awaitOK waits for n acknowledged writes started at or after since.
	awaitOK := func(n int, since time.Time, deadline time.Time) bool {
		for okAfter(since) < n {
			select {
			case <-progress:
			case <-time.After(time.Until(deadline)):
				return false
			}
		}
		return true
	}

	if !awaitOK(20, time.Time{}, time.Now().Add(faultWait)) {
		t.Fatal("the writers made no progress before the restart")
	}
	began := time.Now()
	if out, err := restart.CombinedOutput(); err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("%s: %v\n%s", restart, err, out)
	}
	back := time.Now()
	t.Logf("%s took %s", restart, back.Sub(began).Round(time.Millisecond))
	resumed := awaitOK(1, back, back.Add(restartHealthCheck))
	resumedAfter := time.Since(back)
	ok := awaitOK(20, back, time.Now().Add(faultWait))
	close(stop)
	wg.Wait()
	if !resumed {
		t.Errorf("no write succeeded within the health-check period (%s) after the server was back", restartHealthCheck)
	} else {
		t.Logf("work resumed within %s of the server being back", resumedAfter.Round(time.Millisecond))
	}
	if !ok {
		t.Fatal("the writers did not get back to work after the restart")
	}

	// The truth, read on a new pool (the admin pool lost its connections
	// too).
	verify := postgres.New(env.pool(t, env.db.URL, "ocpstore-fault-verify", nil))
	counts := map[string]int{}
	for _, w := range writes {
		_, cerr := verify.Clusters.GetByID(ctx, w.id)
		if cerr != nil && !errors.Is(cerr, store.ErrNotFound) {
			t.Fatal(cerr)
		}
		_, events, aerr := verify.Audit.List(ctx, store.AuditFilters{ClusterID: &w.id})
		if aerr != nil {
			t.Fatal(aerr)
		}
		present := cerr == nil
		switch {
		case present != (events == 1):
			t.Errorf("write %s applied in part: cluster present %v, %d audit events (store said %v)", w.id, present, events, w.err)
		case w.err == nil && !present:
			t.Errorf("write %s was acknowledged but is lost", w.id)
		case w.err != nil && !errors.Is(w.err, store.ErrCommitUnknown) && present:
			t.Errorf("write %s was reported failed (%v) but committed", w.id, w.err)
		}
		switch {
		case w.err == nil:
			counts["acknowledged"]++
		case errors.Is(w.err, store.ErrCommitUnknown):
			counts[fmt.Sprintf("commit unknown (present %v): %v", present, w.err)]++
		default:
			counts["failed: "+digits.ReplaceAllString(w.err.Error(), "N")]++
		}
	}
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		t.Logf("%4d × %s", counts[k], k)
	}
	env.requireQuiet(t, pool, app)
}

// restartCommand returns the command that restarts the local server, or
// skips t when there is no single Debian-style cluster to restart.
func restartCommand(t *testing.T) *exec.Cmd {
	t.Helper()
	if _, err := exec.LookPath("pg_ctlcluster"); err != nil {
		t.Skipf("%s=1 but pg_ctlcluster is not available: %v", EnvFaultRestart, err)
	}
	versions, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(versions) != 1 {
		t.Skipf("%s=1 but /etc/postgresql does not hold exactly one cluster version (%d entries, %v)", EnvFaultRestart, len(versions), err)
	}
	return exec.CommandContext(t.Context(), "pg_ctlcluster", "--skip-systemctl-redirect", versions[0].Name(), "main", "restart")
}
