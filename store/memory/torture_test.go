package memory_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
	"github.com/ocpctl/ocpstore/storetest"
)

// TestTorture runs the lock torture test on one memory Backend shared by
// two Stores (two processes on one database). Set
// OCPSTORE_TORTURE_DURATION or OCPSTORE_TORTURE_OPS for a long run.
func TestTorture(t *testing.T) {
	t.Parallel()
	storetest.RunTorture(t, func(t *testing.T, clock store.Clock) (*store.Store, *store.Store) {
		b := memory.NewBackend(memory.WithClock(clock))
		return store.New(b), store.New(b)
	})
}

// TestTortureCatchesBrokenLocks proves the torture test can fail: over a
// memory Backend whose locks are deliberately broken, each in one way a
// real backend could be, Torture must report a violation.
func TestTortureCatchesBrokenLocks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		broke func(store.Executor) store.Executor
	}{
		{"ReleaseWithoutTokenCheck", func(x store.Executor) store.Executor { return looseRelease{x} }},
		{"AcquireStealsLiveLock", func(x store.Executor) store.Executor { return stealingAcquire{x} }},
		{"FencedWriteChecksJobNotToken", func(x store.Executor) store.Executor { return looseFencing{x} }},
		{"ExtendRevivesDeletedLock", func(x store.Executor) store.Executor { return revivingExtend{x} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := store.NewManualClock(time.Date(2031, time.March, 4, 5, 6, 7, 891011000, time.UTC))
			b := brokenBackend{memory.NewBackend(memory.WithClock(clock)), tc.broke}
			dir := t.TempDir()
			res, err := storetest.Torture(t.Context(), store.New(b), store.New(b), clock,
				storetest.TortureConfig{Ops: 20000, VisualizationDir: dir})
			t.Logf("torture over a broken lock: %v", res)
			if !errors.Is(err, storetest.ErrTortureViolation) {
				t.Fatalf("torture over a broken lock: got error %v, want a violation", err)
			}
			t.Logf("violation found: %v", err)
			if strings.Contains(err.Error(), "not linearizable") {
				files, _ := filepath.Glob(filepath.Join(dir, "*.html"))
				if len(files) != 1 || !strings.Contains(err.Error(), files[0]) {
					t.Fatalf("visualizations written %v, want one, named in the error", files)
				}
				if fi, err := os.Stat(files[0]); err != nil || fi.Size() == 0 {
					t.Fatalf("visualization %s: %v, empty: %v", files[0], err, fi != nil && fi.Size() == 0)
				}
			}
		})
	}
}

// brokenBackend is a memory Backend whose executors broke wraps, outside
// transactions and in them.
type brokenBackend struct {
	*memory.Backend
	broke func(store.Executor) store.Executor
}

func (b brokenBackend) Executor() store.Executor { return b.broke(b.Backend.Executor()) }

func (b brokenBackend) Begin(ctx context.Context, opts store.TxOptions) (store.ExecutorTx, error) {
	tx, err := b.Backend.Begin(ctx, opts)
	if err != nil {
		return nil, err
	}
	return brokenTx{b.broke(tx), tx}, nil
}

// brokenTx is a transaction of a brokenBackend.
type brokenTx struct {
	store.Executor
	tx store.ExecutorTx
}

func (t brokenTx) Commit(ctx context.Context) error   { return t.tx.Commit(ctx) }
func (t brokenTx) Rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }

// looseRelease releases whatever lock the cluster has, whoever asks: a
// Release without the token check (the UPDATE lost its "AND token = $3").
type looseRelease struct{ store.Executor }

func (s looseRelease) JobLockRelease(ctx context.Context, lock *store.JobLock) error {
	cur, err := s.JobLockGet(ctx, lock.ClusterID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no lock: %w", store.ErrLockLost)
	}
	if err != nil {
		return err
	}
	return s.Executor.JobLockRelease(ctx, cur)
}

// stealingAcquire takes a live lock from its holder: an Acquire that forgot
// to compare expires_at with now.
type stealingAcquire struct{ store.Executor }

func (s stealingAcquire) JobLockAcquire(ctx context.Context, p store.JobLockAcquireParams) (*store.JobLock, error) {
	l, err := s.Executor.JobLockAcquire(ctx, p)
	if !errors.Is(err, store.ErrLockHeld) {
		return l, err
	}
	if cur, err := s.JobLockGet(ctx, p.ClusterID); err == nil {
		_ = s.Executor.JobLockRelease(ctx, cur) // ErrLockLost if it changed meanwhile: try anyway
	}
	return s.Executor.JobLockAcquire(ctx, p)
}

// looseFencing lets a fenced write through when the lock row is for the
// same job, whatever its token: fencing by job instead of by token, so a
// stale holder of the job overwrites the new holder's work.
type looseFencing struct{ store.Executor }

func (s looseFencing) JobMarkRetry(ctx context.Context, p store.JobMarkRetryParams) (*store.Job, error) {
	if cur, err := s.JobLockGet(ctx, p.Lock.ClusterID); err == nil && cur.JobID == p.Lock.JobID {
		p.Lock = cur
	}
	return s.Executor.JobMarkRetry(ctx, p)
}

// revivingExtend lets a holder whose lock row was released or deleted
// extend it anyway, by acquiring it again: a heartbeat that upserts.
type revivingExtend struct{ store.Executor }

func (s revivingExtend) JobLockExtend(ctx context.Context, lock *store.JobLock, ttl time.Duration) (*store.JobLock, error) {
	l, err := s.Executor.JobLockExtend(ctx, lock, ttl)
	if !errors.Is(err, store.ErrLockLost) {
		return l, err
	}
	if _, gerr := s.JobLockGet(ctx, lock.ClusterID); !errors.Is(gerr, store.ErrNotFound) {
		return nil, err
	}
	p := store.JobLockAcquireParams{ClusterID: lock.ClusterID, JobID: lock.JobID, TTL: ttl, WorkerID: lock.LockedBy}
	if l, aerr := s.JobLockAcquire(ctx, p); aerr == nil {
		return l, nil
	}
	return nil, err
}
