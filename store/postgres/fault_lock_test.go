package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// faultLockTimeout is the lock_timeout of TestFaultLockTimeout's pool.
const faultLockTimeout = 200 * time.Millisecond

// TestFaultLockTimeout parks a stuck holder on a row (another connection
// holding SELECT … FOR UPDATE in an open transaction, as a hung process or
// a debugger would) and checks that every worker operation that must wait
// for that row gives up after the pool's lock_timeout with an error
// matching postgres.ErrLockNotAvailable and store.ErrConflict, changes
// nothing, and is not retried by WithTx; and that Claim does not wait at
// all but skips the locked rows (SKIP LOCKED).
func TestFaultLockTimeout(t *testing.T) {
	t.Parallel()
	env := newFaultEnv(t)
	const app = "ocpstore-fault-lock"
	pool := env.pool(t, env.db.URL, app, func(c *postgres.Config) { c.LockTimeout = faultLockTimeout })
	clock := store.NewManualClock(faultEpoch)
	s := postgres.New(pool, postgres.WithClock(clock))
	direct := postgres.New(env.admin, postgres.WithClock(clock))
	ctx := t.Context()

	// timedOut checks that op returned a lock timeout: only the pool's
	// lock_timeout ends the wait with 55P03 (without it op would wait as
	// long as the holder), so the error proves it, with no clock in the
	// test (a wall-clock bound would fail on a loaded machine).
	timedOut := func(t *testing.T, what string, op func() error) {
		t.Helper()
		start := time.Now()
		err := op()
		elapsed := time.Since(start)
		if !errors.Is(err, postgres.ErrLockNotAvailable) || !errors.Is(err, store.ErrConflict) ||
			errors.Is(err, store.ErrSerialization) {
			t.Errorf("%s behind a stuck holder: got %v, want postgres.ErrLockNotAvailable (a store.ErrConflict)", what, err)
		}
		t.Logf("%s returned after %s: %v", what, elapsed.Round(time.Millisecond), err)
	}
	// noJob checks that Claim skips the locked rows: had it waited for
	// them, the lock_timeout would have ended it with 55P03, not ErrNoJob.
	noJob := func(t *testing.T) {
		t.Helper()
		c, err := s.Claim(ctx, store.ClaimParams{WorkerID: "skipper", LockTTL: time.Minute})
		if !errors.Is(err, store.ErrNoJob) {
			t.Errorf("Claim with the only runnable job's rows held: got %v (claimed %+v), want ErrNoJob (a lock timeout means it waited)", err, c)
		}
	}

	t.Run("ClusterRow", func(t *testing.T) {
		c, j := seedJob(t, direct, store.ClusterReady, store.JobHibernate)
		release := env.holdRows(t, "SELECT 1 FROM clusters WHERE id = $1 FOR UPDATE", c.ID)
		retries := s.Stats().Retries
		timedOut(t, "GetByIDForUpdate in WithTx", func() error {
			return s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
				_, err := tx.Clusters.GetByIDForUpdate(ctx, c.ID)
				return err
			})
		})
		if got := s.Stats().Retries; got != retries {
			t.Errorf("WithTx retried a lock timeout %d times; it is not a serialization failure", got-retries)
		}
		timedOut(t, "UpdateStatus", func() error {
			_, err := s.Clusters.UpdateStatus(ctx, c.ID, store.ClusterHibernating)
			return err
		})
		noJob(t)
		release()
		if got, err := direct.Clusters.GetByID(ctx, c.ID); err != nil || got.Status != store.ClusterReady {
			t.Errorf("cluster after the timeouts: %+v, %v; want unchanged (READY)", got, err)
		}
		claimed, err := s.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Minute})
		if err != nil || claimed.Job.ID != j.ID {
			t.Fatalf("Claim once the holder is gone: %+v, %v; want job %s", claimed, err, j.ID)
		}

		// Finish waits for the cluster row (to move it to the end status):
		// it must time out and leave the claimed job as it was.
		release = env.holdRows(t, "SELECT 1 FROM clusters WHERE id = $1 FOR UPDATE", c.ID)
		timedOut(t, "Finish", func() error {
			_, err := s.Finish(ctx, claimed.Lock, store.Succeeded(nil))
			return err
		})
		release()
		if got, err := direct.Jobs.GetByID(ctx, j.ID); err != nil || got.Status != store.JobRunning {
			t.Errorf("job after the timed-out Finish: %+v, %v; want still RUNNING", got, err)
		}
		if _, err := s.Finish(ctx, claimed.Lock, store.Succeeded(nil)); err != nil {
			t.Errorf("Finish with the same lock once the holder is gone: %v", err)
		}
	})

	t.Run("JobRow", func(t *testing.T) {
		_, j := seedJob(t, direct, store.ClusterReady, store.JobPostConfigure)
		release := env.holdRows(t, "SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE", j.ID)
		timedOut(t, "MarkStarted", func() error {
			_, err := s.Jobs.MarkStarted(ctx, j.ID)
			return err
		})
		timedOut(t, "Cancel", func() error {
			_, err := s.Jobs.Cancel(ctx, j.ID, "CANCELLED", "by the test")
			return err
		})
		noJob(t)
		release()
		if got, err := direct.Jobs.GetByID(ctx, j.ID); err != nil || got.Status != store.JobPending || got.Attempt != 0 {
			t.Errorf("job after the timeouts: %+v, %v; want unchanged (PENDING, attempt 0)", got, err)
		}
		if _, err := direct.Jobs.Cancel(ctx, j.ID, "CANCELLED", "cleanup"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("LockRow", func(t *testing.T) {
		_, j := seedJob(t, direct, store.ClusterReady, store.JobPostConfigure)
		claimed, err := s.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Minute})
		if err != nil || claimed.Job.ID != j.ID {
			t.Fatalf("Claim: %+v, %v; want job %s", claimed, err, j.ID)
		}
		release := env.holdRows(t, "SELECT 1 FROM job_locks WHERE cluster_id = $1 FOR UPDATE", j.ClusterID)
		timedOut(t, "Extend (the heartbeat)", func() error {
			_, err := s.JobLocks.Extend(ctx, claimed.Lock, time.Minute)
			return err
		})
		timedOut(t, "Requeue", func() error {
			_, err := s.Jobs.Requeue(ctx, j.ID)
			return err
		})
		release()
		l, err := direct.JobLocks.Get(ctx, j.ClusterID)
		if err != nil || *l != *claimed.Lock {
			t.Errorf("lock after the timeouts: %+v, %v; want unchanged %+v", l, err, claimed.Lock)
		}
		if _, err := s.Finish(ctx, claimed.Lock, store.Succeeded(nil)); err != nil {
			t.Errorf("Finish once the holder is gone: %v", err)
		}
	})
	env.requireQuiet(t, pool, app)
}
