package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// testRecoverStuck covers Store.RecoverStuck: a claimed job whose lock
// expired is found by ListStuck and requeued, its old holder is fenced
// off, and a job with no attempts left is failed as abandoned together
// with its cluster.
func testRecoverStuck(t *testing.T, setup setupFunc) {
	claimShort := func(t *testing.T, b *bundle) *store.Claimed {
		t.Helper()
		cl, err := b.s.Claim(b.ctx, store.ClaimParams{WorkerID: "dead-worker", LockTTL: time.Minute})
		requireNoErr(t, err, "claim")
		return cl
	}

	t.Run("RequeuesAndFencesTheOldHolder", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.cluster(t)
		j := b.job(t, c.ID, store.JobCreate)
		cl := claimShort(t, b)

		b.clock.Advance(time.Minute - time.Microsecond)
		stuck, err := b.s.Jobs.ListStuck(b.ctx, 10)
		requireNoErr(t, err, "list stuck")
		requireIDs(t, nil, ids(stuck, jobID), "stuck jobs while the lock is live")
		n, err := b.s.RecoverStuck(b.ctx, "janitor", 10)
		requireNoErr(t, err, "recover while the lock is live")
		if n != 0 {
			t.Fatalf("RecoverStuck recovered %d jobs whose lock is live", n)
		}

		b.clock.Advance(time.Microsecond)
		stuck, err = b.s2.Jobs.ListStuck(b.ctx, 10)
		requireNoErr(t, err, "list stuck")
		requireIDs(t, []string{j.ID}, ids(stuck, jobID), "stuck jobs once the lock expired")
		n, err = b.s2.RecoverStuck(b.ctx, "janitor", 10)
		requireNoErr(t, err, "recover")
		if n != 1 {
			t.Fatalf("RecoverStuck recovered %d jobs, want 1", n)
		}
		requeued := b.getJob(t, j.ID)
		if requeued.Status != store.JobRetrying || requeued.Attempt != 1 {
			t.Fatalf("requeued job: status %q attempt %d, want RETRYING 1", requeued.Status, requeued.Attempt)
		}
		requireTimePtr(t, b.clock.Now(), requeued.RetryAt, "requeued job's RetryAt")
		if got := b.getCluster(t, c.ID); got.Status != store.ClusterCreating {
			t.Fatalf("cluster of a requeued job: %q, want it left CREATING", got.Status)
		}
		_, err = b.s.JobLocks.Get(b.ctx, c.ID)
		requireErrIs(t, err, store.ErrNotFound, "the requeued job's lock")

		_, err = b.s.Finish(b.ctx, cl.Lock, store.Succeeded(nil))
		requireErrIs(t, err, store.ErrLockLost, "the old holder's Finish")
		requireEqual(t, requeued, b.getJob(t, j.ID), "job after the old holder's Finish")
		_, err = b.s.JobLocks.Extend(b.ctx, cl.Lock, time.Hour)
		requireErrIs(t, err, store.ErrLockLost, "the old holder's Extend")

		if a := b.auditActions(t, j.ID); !slices.Equal(a, []string{store.ActionJobStart, store.ActionJobRequeue}) {
			t.Fatalf("audit actions %v, want [%s %s]", a, store.ActionJobStart, store.ActionJobRequeue)
		}
		evs, _, err := b.s.Audit.List(b.ctx, store.AuditFilters{Action: ptr(store.ActionJobRequeue)})
		requireNoErr(t, err, "list requeue events")
		if len(evs) != 1 || evs[0].Actor != "janitor" {
			t.Fatalf("requeue events %+v, want one by janitor", evs)
		}

		again := b.claim(t, "w2")
		if again.Job.ID != j.ID || again.Job.Attempt != 2 || again.Cluster.Status != store.ClusterCreating {
			t.Fatalf("reclaimed %s attempt %d on a %s cluster, want %s attempt 2 on CREATING",
				again.Job.ID, again.Job.Attempt, again.Cluster.Status, j.ID)
		}
		if again.Lock.Token <= cl.Lock.Token {
			t.Fatalf("new token %d, want more than the old %d", again.Lock.Token, cl.Lock.Token)
		}
	})

	t.Run("NoAttemptsLeftFailsAbandoned", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.cluster(t)
		j := b.job(t, c.ID, store.JobCreate, maxAttempts(1))
		cl := claimShort(t, b)
		b.clock.Advance(time.Hour)
		n, err := b.s.RecoverStuck(b.ctx, "janitor", 10)
		requireNoErr(t, err, "recover")
		if n != 1 {
			t.Fatalf("RecoverStuck recovered %d jobs, want 1", n)
		}
		got := b.getJob(t, j.ID)
		if got.Status != store.JobFailed || got.ErrorCode == nil || *got.ErrorCode != store.ErrCodeAbandoned {
			t.Fatalf("abandoned job: status %q code %v, want FAILED %s", got.Status, got.ErrorCode, store.ErrCodeAbandoned)
		}
		requireTimePtr(t, b.clock.Now(), got.EndedAt, "abandoned job's EndedAt")
		if gotC := b.getCluster(t, c.ID); gotC.Status != store.ClusterFailed {
			t.Fatalf("cluster of an abandoned CREATE: %q, want FAILED", gotC.Status)
		}
		_, err = b.s.Finish(b.ctx, cl.Lock, store.Succeeded(nil))
		requireErrIs(t, err, store.ErrLockLost, "the old holder's Finish")
		requireEqual(t, got, b.getJob(t, j.ID), "job after the old holder's Finish")
		b.requireNoJob(t)
		stuck, err := b.s.Jobs.ListStuck(b.ctx, 10)
		requireNoErr(t, err, "list stuck")
		requireIDs(t, nil, ids(stuck, jobID), "stuck jobs after recovery")
	})
}
