package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// faultDeadline is the context deadline of the operations that
// TestFaultContext blocks on a row lock. The pool's lock_timeout stays
// the production default (10s), so the deadline, not lock_timeout, ends
// the wait.
const faultDeadline = 150 * time.Millisecond

// TestFaultContext cancels contexts and lets deadlines expire in the
// middle of transactions: between statements inside WithTx, during COMMIT,
// and while a statement is blocked on a row lock (the only way to hold a
// statement of a store transaction in flight, since the store does not
// expose its connection), inside WithTx, in Claim, in Finish and in an
// autocommit write. Each time the store must return the context's error,
// roll back, leave no connection checked out and no server backend still
// working or holding locks for it, and change nothing: the write the
// caller was told failed must never land later.
func TestFaultContext(t *testing.T) {
	t.Parallel()
	env := newFaultEnv(t)
	const app = "ocpstore-fault-ctx"
	pool := env.pool(t, env.db.URL, app, nil)
	clock := store.NewManualClock(faultEpoch)
	s := postgres.New(pool, postgres.WithClock(clock))
	direct := postgres.New(env.admin, postgres.WithClock(clock))

	// requireCtxErr checks that err is the context's error and not a
	// misleading one.
	requireCtxErr := func(t *testing.T, what string, err, want error) {
		t.Helper()
		switch {
		case !errors.Is(err, want) || errors.Is(err, store.ErrCommitUnknown):
			t.Errorf("%s: got %v, want an error matching %v (and not ErrCommitUnknown)", what, err, want)
		case strings.Contains(err.Error(), "(rollback:"):
			t.Errorf("%s: %v: the rollback of a transaction whose connection is gone must not fail", what, err)
		default:
			t.Logf("%s: %v", what, err)
		}
	}
	// requireAbsent checks that a cluster a failed transaction created
	// does not exist.
	requireAbsent := func(t *testing.T, id string) {
		t.Helper()
		if c, err := direct.Clusters.GetByID(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("cluster %s of the failed transaction: got %+v, %v; want ErrNotFound", id, c, err)
		}
	}
	// requireStatus checks a cluster's status.
	requireStatus := func(t *testing.T, id string, want store.ClusterStatus) {
		t.Helper()
		if c, err := direct.Clusters.GetByID(t.Context(), id); err != nil || c.Status != want {
			t.Errorf("cluster %s: got %+v, %v; want status %s", id, c, err, want)
		}
	}

	t.Run("CancelBetweenStatements", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		c := newFaultCluster(store.ClusterPending)
		err := s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
			if err := tx.Clusters.Create(ctx, c); err != nil {
				return err
			}
			cancel()
			_, err := tx.Clusters.GetByID(ctx, c.ID)
			return err
		})
		requireCtxErr(t, "WithTx cancelled between statements", err, context.Canceled)
		requireAbsent(t, c.ID)
		env.requireQuiet(t, pool, app)
	})

	t.Run("CancelBeforeCommit", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		c := newFaultCluster(store.ClusterPending)
		err := s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
			if err := tx.Clusters.Create(ctx, c); err != nil {
				return err
			}
			cancel() // fn succeeds, so WithTx commits with a cancelled context
			return nil
		})
		requireCtxErr(t, "WithTx committing with a cancelled context", err, context.Canceled)
		requireAbsent(t, c.ID)
		env.requireQuiet(t, pool, app)
	})

	t.Run("DeadlineBlockedInTx", func(t *testing.T) {
		c := newFaultCluster(store.ClusterReady)
		if err := direct.Clusters.Create(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		release := env.holdRows(t, "SELECT 1 FROM clusters WHERE id = $1 FOR UPDATE", c.ID)
		ctx, cancel := context.WithTimeout(t.Context(), faultDeadline)
		defer cancel()
		other := newFaultCluster(store.ClusterPending)
		err := s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
			if err := tx.Clusters.Create(ctx, other); err != nil {
				return err
			}
			_, err := tx.Clusters.UpdateStatus(ctx, c.ID, store.ClusterHibernating)
			return err
		})
		requireCtxErr(t, "WithTx blocked on a row lock past its deadline", err, context.DeadlineExceeded)
		// While the holder still holds the row, nothing may still be
		// waiting for it on the server on the caller's behalf.
		env.requireQuiet(t, pool, app)
		release()
		requireAbsent(t, other.ID)
		requireStatus(t, c.ID, store.ClusterReady)
	})

	t.Run("DeadlineBlockedAutocommit", func(t *testing.T) {
		c := newFaultCluster(store.ClusterReady)
		if err := direct.Clusters.Create(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		release := env.holdRows(t, "SELECT 1 FROM clusters WHERE id = $1 FOR UPDATE", c.ID)
		ctx, cancel := context.WithTimeout(t.Context(), faultDeadline)
		defer cancel()
		_, err := s.Clusters.UpdateStatus(ctx, c.ID, store.ClusterHibernating)
		requireCtxErr(t, "UpdateStatus blocked on a row lock past its deadline", err, context.DeadlineExceeded)
		env.requireQuiet(t, pool, app)
		// The holder lets go. An UPDATE abandoned by the client but still
		// queued on the server would now apply, after its caller was
		// told it failed.
		release()
		env.requireQuiet(t, pool, app)
		requireStatus(t, c.ID, store.ClusterReady)
	})

	t.Run("DeadlineInClaim", func(t *testing.T) {
		c, j := seedJob(t, direct, store.ClusterPending, store.JobCreate)
		// Claim locks the job and cluster rows (LockRunnable), then blocks
		// inserting the lock row.
		release := env.holdRows(t, "LOCK TABLE job_locks IN EXCLUSIVE MODE")
		ctx, cancel := context.WithTimeout(t.Context(), faultDeadline)
		defer cancel()
		claimed, err := s.Claim(ctx, store.ClaimParams{WorkerID: "w-deadline", LockTTL: time.Minute})
		requireCtxErr(t, "Claim blocked past its deadline", err, context.DeadlineExceeded)
		if claimed != nil {
			t.Errorf("Claim returned %+v with its error", claimed)
		}
		// Nothing may still hold the job and cluster rows: another
		// claimer must find the job (it blocks on the table lock too, so
		// look at the server's row locks instead).
		env.requireQuiet(t, pool, app)
		release()
		if got, err := direct.Jobs.GetByID(t.Context(), j.ID); err != nil || got.Status != store.JobPending || got.Attempt != 0 {
			t.Errorf("job after the failed claim: %+v, %v; want PENDING, attempt 0", got, err)
		}
		if l, err := direct.JobLocks.Get(t.Context(), c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("lock after the failed claim: %+v, %v; want ErrNotFound", l, err)
		}
		requireStatus(t, c.ID, store.ClusterPending)
		again, err := s.Claim(t.Context(), store.ClaimParams{WorkerID: "w-after", LockTTL: time.Minute})
		if err != nil || again.Job.ID != j.ID {
			t.Fatalf("Claim after the failed one: %+v, %v; want job %s", again, err, j.ID)
		}
		if _, err := s.Finish(t.Context(), again.Lock, store.Failed("TEST", "done")); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("CancelBlockedInFinish", func(t *testing.T) {
		c, j := seedJob(t, direct, store.ClusterReady, store.JobHibernate)
		claimed, err := s.Claim(t.Context(), store.ClaimParams{WorkerID: "w-cancel", LockTTL: time.Minute})
		if err != nil || claimed.Job.ID != j.ID {
			t.Fatalf("Claim: %+v, %v; want job %s", claimed, err, j.ID)
		}
		// Finish writes the job, then blocks locking the cluster row; the
		// context is cancelled once the server shows it waiting.
		release := env.holdRows(t, "SELECT 1 FROM clusters WHERE id = $1 FOR UPDATE", c.ID)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := s.Finish(ctx, claimed.Lock, store.Succeeded(nil))
			done <- err
		}()
		env.waitForLockWait(t, app)
		cancel()
		requireCtxErr(t, "Finish cancelled while blocked", <-done, context.Canceled)
		env.requireQuiet(t, pool, app)
		release()
		if got, err := direct.Jobs.GetByID(t.Context(), j.ID); err != nil || got.Status != store.JobRunning {
			t.Errorf("job after the cancelled Finish: %+v, %v; want still RUNNING", got, err)
		}
		if l, err := direct.JobLocks.Get(t.Context(), c.ID); err != nil || *l != *claimed.Lock {
			t.Errorf("lock after the cancelled Finish: %+v, %v; want unchanged %+v", l, err, claimed.Lock)
		}
		requireStatus(t, c.ID, store.ClusterHibernating)
		if _, err := s.Finish(t.Context(), claimed.Lock, store.Succeeded(nil)); err != nil {
			t.Errorf("Finish again with the same lock: %v", err)
		}
		requireStatus(t, c.ID, store.ClusterHibernated)
	})
}
