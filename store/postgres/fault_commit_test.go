package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// TestFaultCommitCut cuts the connection while COMMIT is in flight, through
// an in-process proxy (faultProxy), in the two ways a client cannot tell
// apart: before the server received COMMIT (nothing committed) and after it
// committed but before the reply arrived (everything committed). For WithTx,
// a manual Tx, Claim, Finish and an autocommit operation that runs its own
// transaction (Requeue), the store must return store.ErrCommitUnknown, never
// retry on its own, and leave the pool working; re-reading through a direct
// pool then tells which way it went, and the transaction is all there or
// not at all.
func TestFaultCommitCut(t *testing.T) {
	t.Parallel()
	env := newFaultEnv(t)
	proxy, proxyURL := newFaultProxy(t, env.db.URL)
	const app = "ocpstore-fault-commit"
	pool := env.pool(t, proxyURL, app, nil)
	clock := store.NewManualClock(faultEpoch)
	s := postgres.New(pool, postgres.WithClock(clock))
	direct := postgres.New(env.admin, postgres.WithClock(clock))

	// cut runs op with the proxy armed and checks that it returned
	// ErrCommitUnknown, after the proxy cut the COMMIT, and that the pool
	// cleaned up and still works.
	cut := func(t *testing.T, mode cutMode, what string, op func() error) {
		t.Helper()
		done := proxy.arm(mode)
		retries := s.Stats().Retries
		err := op()
		select {
		case <-done:
		default:
			t.Fatalf("%s: no COMMIT went through the proxy (err %v)", what, err)
		}
		if !errors.Is(err, store.ErrCommitUnknown) {
			t.Fatalf("%s with the connection cut during COMMIT: got %v, want store.ErrCommitUnknown", what, err)
		}
		t.Logf("%s: %v", what, err)
		if got := s.Stats().Retries; got != retries {
			t.Errorf("%s: retried %d times after an ambiguous commit", what, got-retries)
		}
		env.requireQuiet(t, pool, app)
		if _, _, err := s.Clusters.List(t.Context(), store.ClusterFilters{}); err != nil {
			t.Errorf("the pool does not work after the cut: %v", err)
		}
	}
	// audits returns how many events action has for job jobID.
	audits := func(t *testing.T, jobID, action string) int {
		t.Helper()
		_, n, err := direct.Audit.List(t.Context(), store.AuditFilters{JobID: &jobID, Action: &action})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// claim claims a job of type jt (the types keep the subtests' jobs
	// apart).
	claim := func(t *testing.T, worker string, jt store.JobType) (*store.Claimed, error) {
		return s.Claim(t.Context(), store.ClaimParams{WorkerID: worker, LockTTL: time.Minute, JobTypes: []store.JobType{jt}})
	}

	for _, mode := range []struct {
		name      string
		mode      cutMode
		committed bool
	}{{"BeforeCommit", cutBeforeCommit, false}, {"AfterCommit", cutAfterCommit, true}} {
		t.Run("WithTx/"+mode.name, func(t *testing.T) {
			c := newFaultCluster(store.ClusterPending)
			runs := 0
			cut(t, mode.mode, "WithTx", func() error {
				return s.WithTx(t.Context(), func(ctx context.Context, tx *store.Store) error {
					runs++
					if err := tx.Clusters.Create(ctx, c); err != nil {
						return err
					}
					return tx.Audit.Log(ctx, &store.AuditEvent{Actor: "test", Action: "cluster.create",
						TargetClusterID: &c.ID, Status: store.AuditSuccess})
				})
			})
			if runs != 1 {
				t.Errorf("fn ran %d times, want once", runs)
			}
			_, err := direct.Clusters.GetByID(t.Context(), c.ID)
			_, events, err2 := direct.Audit.List(t.Context(), store.AuditFilters{ClusterID: &c.ID})
			if err2 != nil {
				t.Fatal(err2)
			}
			if got := err == nil; got != mode.committed || events != map[bool]int{true: 1}[mode.committed] {
				t.Errorf("after the cut: cluster found %v (%v), %d audit events; want committed = %v, all or nothing",
					got, err, events, mode.committed)
			}
		})

		t.Run("Tx/"+mode.name, func(t *testing.T) {
			c := newFaultCluster(store.ClusterPending)
			tx, err := s.BeginTx(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := tx.Rollback(t.Context()); err != nil {
					t.Errorf("Rollback after an ambiguous Commit: %v, want nil", err)
				}
			}()
			if err := tx.Clusters.Create(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			cut(t, mode.mode, "Tx.Commit", func() error { return tx.Commit(t.Context()) })
			if _, err := direct.Clusters.GetByID(t.Context(), c.ID); (err == nil) != mode.committed {
				t.Errorf("after the cut: cluster lookup %v; want committed = %v", err, mode.committed)
			}
		})

		t.Run("Claim/"+mode.name, func(t *testing.T) {
			c, j := seedJob(t, direct, store.ClusterPending, store.JobCreate)
			worker := "worker-claim-" + mode.name
			cut(t, mode.mode, "Claim", func() error {
				claimed, err := claim(t, worker, store.JobCreate)
				if claimed != nil {
					t.Errorf("Claim returned %+v with its error", claimed)
				}
				return err
			})
			// Re-read what happened: all of the claim or none of it.
			job, err := direct.Jobs.GetByID(t.Context(), j.ID)
			if err != nil {
				t.Fatal(err)
			}
			cl, err := direct.Clusters.GetByID(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			lock, lockErr := direct.JobLocks.Get(t.Context(), c.ID)
			starts := audits(t, j.ID, store.ActionJobStart)
			if mode.committed {
				if job.Status != store.JobRunning || job.Attempt != 1 || lockErr != nil || lock.LockedBy != worker ||
					cl.Status != store.ClusterCreating || starts != 1 {
					t.Fatalf("claim committed only in part: job %s attempt %d, lock %+v (%v), cluster %s, %d job.start events",
						job.Status, job.Attempt, lock, lockErr, cl.Status, starts)
				}
			} else {
				if job.Status != store.JobPending || job.Attempt != 0 || !errors.Is(lockErr, store.ErrNotFound) ||
					cl.Status != store.ClusterPending || starts != 0 {
					t.Fatalf("claim rolled back only in part: job %s attempt %d, lock %+v (%v), cluster %s, %d job.start events",
						job.Status, job.Attempt, lock, lockErr, cl.Status, starts)
				}
				// Not claimed: it is still there to claim.
				claimed, err := claim(t, worker, store.JobCreate)
				if err != nil || claimed.Job.ID != j.ID {
					t.Fatalf("Claim again: %+v, %v; want job %s", claimed, err, j.ID)
				}
				lock = claimed.Lock
			}
			// Either way the worker now holds the job and can finish it.
			if _, err := s.Finish(t.Context(), lock, store.Succeeded(nil)); err != nil {
				t.Fatalf("Finish the resolved claim: %v", err)
			}
		})

		t.Run("Finish/"+mode.name, func(t *testing.T) {
			c, j := seedJob(t, direct, store.ClusterReady, store.JobHibernate)
			claimed, err := claim(t, "worker-finish", store.JobHibernate)
			if err != nil || claimed.Job.ID != j.ID {
				t.Fatalf("Claim: %+v, %v; want job %s", claimed, err, j.ID)
			}
			cut(t, mode.mode, "Finish", func() error {
				_, err := s.Finish(t.Context(), claimed.Lock, store.Succeeded(nil))
				return err
			})
			job, err := direct.Jobs.GetByID(t.Context(), j.ID)
			if err != nil {
				t.Fatal(err)
			}
			cl, err := direct.Clusters.GetByID(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			_, lockErr := direct.JobLocks.Get(t.Context(), c.ID)
			succeeded := audits(t, j.ID, store.ActionJobSucceed)
			if mode.committed {
				if job.Status != store.JobSucceeded || !errors.Is(lockErr, store.ErrNotFound) ||
					cl.Status != store.ClusterHibernated || succeeded != 1 {
					t.Fatalf("finish committed only in part: job %s, lock %v, cluster %s, %d job.succeed events",
						job.Status, lockErr, cl.Status, succeeded)
				}
				// What a worker does to find out: Finish again is refused,
				// because the first one released the lock.
				if _, err := s.Finish(t.Context(), claimed.Lock, store.Succeeded(nil)); !errors.Is(err, store.ErrLockLost) {
					t.Errorf("Finish again after a committed Finish: got %v, want ErrLockLost", err)
				}
			} else {
				if job.Status != store.JobRunning || lockErr != nil || cl.Status != store.ClusterHibernating || succeeded != 0 {
					t.Fatalf("finish rolled back only in part: job %s, lock %v, cluster %s, %d job.succeed events",
						job.Status, lockErr, cl.Status, succeeded)
				}
				if _, err := s.Finish(t.Context(), claimed.Lock, store.Succeeded(nil)); err != nil {
					t.Errorf("Finish again after a rolled-back Finish: %v", err)
				}
			}
		})

		t.Run("Requeue/"+mode.name, func(t *testing.T) {
			c, j := seedJob(t, direct, store.ClusterReady, store.JobResume)
			if _, err := direct.Clusters.UpdateStatus(t.Context(), c.ID, store.ClusterHibernating); err != nil {
				t.Fatal(err)
			}
			if _, err := direct.Clusters.UpdateStatus(t.Context(), c.ID, store.ClusterHibernated); err != nil {
				t.Fatal(err)
			}
			claimed, err := claim(t, "worker-requeue", store.JobResume)
			if err != nil || claimed.Job.ID != j.ID {
				t.Fatalf("Claim: %+v, %v; want job %s", claimed, err, j.ID)
			}
			clock.Advance(2 * time.Minute) // the worker died: its lock expired
			cut(t, mode.mode, "Requeue", func() error {
				_, err := s.Jobs.Requeue(t.Context(), j.ID)
				return err
			})
			job, err := direct.Jobs.GetByID(t.Context(), j.ID)
			if err != nil {
				t.Fatal(err)
			}
			_, lockErr := direct.JobLocks.Get(t.Context(), c.ID)
			if requeued := job.Status == store.JobRetrying && errors.Is(lockErr, store.ErrNotFound); requeued != mode.committed ||
				(!mode.committed && (job.Status != store.JobRunning || lockErr != nil)) {
				t.Fatalf("after the cut: job %s, lock %v; want requeued = %v, all or nothing", job.Status, lockErr, mode.committed)
			}
			if !mode.committed {
				if _, err := s.Jobs.Requeue(t.Context(), j.ID); err != nil {
					t.Fatalf("Requeue again: %v", err)
				}
			}
			if _, err := direct.Jobs.Cancel(t.Context(), j.ID, "TEST", "done"); err != nil {
				t.Fatal(err)
			}
		})
	}
}
