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
		name        string
		breakStores func(store.Stores) store.Stores
	}{
		{"ReleaseWithoutTokenCheck", func(s store.Stores) store.Stores {
			s.JobLocks = looseRelease{s.JobLocks}
			return s
		}},
		{"AcquireStealsLiveLock", func(s store.Stores) store.Stores {
			s.JobLocks = stealingAcquire{s.JobLocks}
			return s
		}},
		{"FencedWriteChecksJobNotToken", func(s store.Stores) store.Stores {
			s.Jobs = looseFencing{s.Jobs, s.JobLocks}
			return s
		}},
		{"ExtendRevivesDeletedLock", func(s store.Stores) store.Stores {
			s.JobLocks = revivingExtend{s.JobLocks}
			return s
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := store.NewManualClock(time.Date(2031, time.March, 4, 5, 6, 7, 891011000, time.UTC))
			b := brokenBackend{memory.NewBackend(memory.WithClock(clock)), tc.breakStores}
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

// brokenBackend is a memory Backend with some sub-stores replaced by
// breakStores, outside transactions and in them.
type brokenBackend struct {
	*memory.Backend
	breakStores func(store.Stores) store.Stores
}

func (b brokenBackend) Stores() store.Stores { return b.breakStores(b.Backend.Stores()) }

func (b brokenBackend) Begin(ctx context.Context, opts store.TxOptions) (store.BackendTx, error) {
	tx, err := b.Backend.Begin(ctx, opts)
	if err != nil {
		return nil, err
	}
	return brokenTx{tx, b.breakStores}, nil
}

// brokenTx is a transaction of a brokenBackend.
type brokenTx struct {
	store.BackendTx
	breakStores func(store.Stores) store.Stores
}

func (t brokenTx) Stores() store.Stores { return t.breakStores(t.BackendTx.Stores()) }

// looseRelease releases whatever lock the cluster has, whoever asks: a
// Release without the token check (the DELETE lost its "AND token = $3").
type looseRelease struct{ store.JobLockStore }

func (s looseRelease) Release(ctx context.Context, lock *store.JobLock) error {
	cur, err := s.Get(ctx, lock.ClusterID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no lock: %w", store.ErrLockLost)
	}
	if err != nil {
		return err
	}
	return s.JobLockStore.Release(ctx, cur)
}

// stealingAcquire takes a live lock from its holder: an Acquire that forgot
// to compare expires_at with now.
type stealingAcquire struct{ store.JobLockStore }

func (s stealingAcquire) Acquire(ctx context.Context, clusterID, jobID, workerID string, ttl time.Duration) (*store.JobLock, error) {
	l, err := s.JobLockStore.Acquire(ctx, clusterID, jobID, workerID, ttl)
	if !errors.Is(err, store.ErrLockHeld) {
		return l, err
	}
	if cur, err := s.Get(ctx, clusterID); err == nil {
		_ = s.JobLockStore.Release(ctx, cur) // ErrLockLost if it changed meanwhile: try anyway
	}
	return s.JobLockStore.Acquire(ctx, clusterID, jobID, workerID, ttl)
}

// looseFencing lets a fenced write through when the lock row is for the
// same job, whatever its token: fencing by job instead of by token, so a
// stale holder of the job overwrites the new holder's work.
type looseFencing struct {
	store.JobStore
	locks store.JobLockStore
}

func (s looseFencing) MarkRetry(ctx context.Context, lock *store.JobLock, code, message string, after time.Duration) (*store.Job, error) {
	if cur, err := s.locks.Get(ctx, lock.ClusterID); err == nil && cur.JobID == lock.JobID {
		lock = cur
	}
	return s.JobStore.MarkRetry(ctx, lock, code, message, after)
}

// revivingExtend lets a holder whose lock row was released or deleted
// extend it anyway, by acquiring it again: a heartbeat that upserts.
type revivingExtend struct{ store.JobLockStore }

func (s revivingExtend) Extend(ctx context.Context, lock *store.JobLock, ttl time.Duration) (*store.JobLock, error) {
	l, err := s.JobLockStore.Extend(ctx, lock, ttl)
	if !errors.Is(err, store.ErrLockLost) {
		return l, err
	}
	if _, gerr := s.Get(ctx, lock.ClusterID); !errors.Is(gerr, store.ErrNotFound) {
		return nil, err
	}
	if l, aerr := s.Acquire(ctx, lock.ClusterID, lock.JobID, lock.LockedBy, ttl); aerr == nil {
		return l, nil
	}
	return nil, err
}
