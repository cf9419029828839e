package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestCommandPostgresUnderConnectionKills runs the command on a test
// database while every backend of that database is terminated every 200 to
// 500 ms, from before the command connects until it has exited: setup,
// seeding, the fleet, verification and the schema's drop all meet killed
// connections. It must still finish, verify its invariants and exit 0, and
// its report counts the errors it rode out. Before the store classified
// them (store.ErrUnavailable) the verifier died on the first killed read and
// the command exited 1 or 2.
func TestCommandPostgresUnderConnectionKills(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	killer := db.KillConnections(t, 200*time.Millisecond, testSeed)
	var stdout, stderr bytes.Buffer
	code := run([]string{"-database-url", db.URL, "-clusters", "6", "-workers", "3", "-seed", "3"}, &stdout, &stderr)
	rounds, kills := killer.Stop()
	t.Logf("%d rounds of kills, %d backends terminated\n%s", rounds, kills, stdout.String())
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr.String())
	}
	if rounds < 3 || kills == 0 {
		t.Fatalf("%d rounds of kills terminated %d backends: the run was not under fire", rounds, kills)
	}
	if !strings.Contains(stdout.String(), "all checks passed") || !strings.Contains(stdout.String(), "calls met an unavailable database") {
		t.Fatalf("unexpected output:\n%s", stdout.String())
	}
}

// flakyBackend wraps a backend so that the database seems to come and go:
// every beginEvery-th BEGIN fails before it reaches the database, and every
// commitEvery-th COMMIT is applied and then reported as unknown, as when
// the connection breaks while COMMIT's reply is on its way.
type flakyBackend struct {
	store.Backend
	begins, commits atomic.Int64
}

const beginEvery, commitEvery = 5, 7

func (b *flakyBackend) Begin(ctx context.Context, opts store.TxOptions) (store.ExecutorTx, error) {
	if b.begins.Add(1)%beginEvery == 0 {
		return nil, fmt.Errorf("injected: connection refused: %w", store.ErrUnavailable)
	}
	tx, err := b.Backend.Begin(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &flakyTx{ExecutorTx: tx, b: b}, nil
}

type flakyTx struct {
	store.ExecutorTx
	b *flakyBackend
}

func (t *flakyTx) Commit(ctx context.Context) error {
	if err := t.ExecutorTx.Commit(ctx); err != nil {
		return err
	}
	if t.b.commits.Add(1)%commitEvery == 0 {
		return fmt.Errorf("injected: connection reset: %w: %w", store.ErrUnavailable, store.ErrCommitUnknown)
	}
	return nil
}

// TestSimulationRidesOutAnUnavailableDatabase runs the simulation on a
// store whose transactions fail now and then as an unavailable database's
// do (flakyBackend), deterministically, whatever the timing: the seeder,
// the workers' claims and finishes and the janitor must wait them out, and
// resolve the commits of unknown outcome by reading back, and the run must
// still verify.
func TestSimulationRidesOutAnUnavailableDatabase(t *testing.T) {
	t.Parallel()
	b := &flakyBackend{Backend: memory.NewBackend()}
	rep, err := Run(t.Context(), store.New(b), Config{Clusters: 8, Workers: 3, Seed: testSeed, FaultRate: 0.1,
		LockTTL: 100 * time.Millisecond, WorkMin: time.Millisecond, WorkMax: 10 * time.Millisecond, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep.Print(&out)
	if !rep.OK() {
		t.Fatalf("verification failed:\n%s", out.String())
	}
	t.Logf("\n%s", out.String())
	if rep.RodeOut == 0 || rep.UnknownOutcomes == 0 {
		t.Fatalf("rode out %d errors, %d of unknown outcome; the injected faults were not met", rep.RodeOut, rep.UnknownOutcomes)
	}
}
