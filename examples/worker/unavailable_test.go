package main

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestCommandPostgresUnderConnectionKills runs the example as the README's
// second command does, on a test database whose every backend is
// terminated every 200 to 500 ms, from before the command connects until
// it has exited: migration, the producer, the workers, the janitor and the
// verification all meet killed connections. It must still finish, verify
// its invariants and exit 0, and its report counts the errors it rode out.
func TestCommandPostgresUnderConnectionKills(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	killer := db.KillConnections(t, 200*time.Millisecond, 1)
	code, stdout, stderr := runCLI(t, t.Context(), "-database-url", db.URL, "-clusters", "60", "-workers", "4")
	rounds, kills := killer.Stop()
	t.Logf("%d rounds of kills, %d backends terminated\n%s", rounds, kills, stdout)
	wantPassed(t, code, stdout, stderr)
	if rounds < 3 || kills == 0 {
		t.Fatalf("%d rounds of kills terminated %d backends: the run was not under fire", rounds, kills)
	}
	number(t, stdout, `rode out (\d+) errors of an unavailable database`)
}

// TestRidesOutAnUnavailableDatabase runs the example on a store whose
// calls fail now and then as an unavailable database's do (flakyBackend),
// deterministically, whatever the timing: transactions and claims that
// never reached the database, and transactions, claims and finishes that
// were applied but reported as of unknown outcome. The producer must
// resolve its unknown commits by reading back, a claim whose reply was
// lost leaves a job only the janitor can requeue, and the run must still
// verify.
func TestRidesOutAnUnavailableDatabase(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), store.New(&flakyBackend{Backend: memory.NewBackend()}), 5, 3, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	report := out.String()
	t.Logf("\n%s", report)
	rodeOut := number(t, report, `rode out (\d+) errors`)
	unknown := number(t, report, `of unknown outcome: (\d+)`)
	requeued := number(t, report, `(\d+) jobs requeued by the janitor`)
	if rodeOut <= unknown || unknown == 0 || requeued == 0 {
		t.Errorf("rode out %d errors, %d of unknown outcome, %d jobs requeued: the injected faults were not all met",
			rodeOut, unknown, requeued)
	}
}

// Every failEvery-th call of a kind fails before it reaches the database;
// every unknownEvery-th call that did something is applied and then
// reported as of unknown outcome, as when the connection breaks while the
// reply is on its way.
const failEvery, unknownEvery = 5, 4

var (
	errRefused = fmt.Errorf("injected: connection refused: %w", store.ErrUnavailable)
	errUnknown = fmt.Errorf("injected: connection reset: %w: %w", store.ErrUnavailable, store.ErrCommitUnknown)
)

// flakyBackend injects those failures into transactions (the producer's),
// claims and finishes.
type flakyBackend struct {
	store.Backend
	begins, commits, claims, claimed, finishes atomic.Int64
}

func (b *flakyBackend) Begin(ctx context.Context, opts store.TxOptions) (store.ExecutorTx, error) {
	if b.begins.Add(1)%failEvery == 0 {
		return nil, errRefused
	}
	tx, err := b.Backend.Begin(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &flakyTx{ExecutorTx: tx, b: b}, nil
}

func (b *flakyBackend) Executor() store.Executor {
	return flakyExecutor{Executor: b.Backend.Executor(), b: b}
}

type flakyTx struct {
	store.ExecutorTx
	b *flakyBackend
}

func (t *flakyTx) Commit(ctx context.Context) error {
	err := t.ExecutorTx.Commit(ctx)
	if err == nil && t.b.commits.Add(1)%unknownEvery == 0 {
		return errUnknown
	}
	return err
}

type flakyExecutor struct {
	store.Executor
	b *flakyBackend
}

func (x flakyExecutor) JobsClaim(ctx context.Context, p store.JobsClaimParams) ([]*store.Claimed, error) {
	if x.b.claims.Add(1)%failEvery == 0 {
		return nil, errRefused
	}
	got, err := x.Executor.JobsClaim(ctx, p)
	if err == nil && len(got) > 0 && x.b.claimed.Add(1)%unknownEvery == 0 {
		return nil, errUnknown // the job is RUNNING, and its worker does not know
	}
	return got, err
}

func (x flakyExecutor) JobsFinish(ctx context.Context, p store.JobsFinishParams) ([]store.JobsFinishResult, error) {
	n := x.b.finishes.Add(1)
	if n%failEvery == 0 {
		return nil, errRefused
	}
	got, err := x.Executor.JobsFinish(ctx, p)
	if err == nil && n%unknownEvery == 0 {
		return nil, errUnknown
	}
	return got, err
}
