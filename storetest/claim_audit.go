package storetest

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// The Claim group's audit events and the manual worker pattern.

// testClaimAudit checks the audit events Claim, Finish and RecoverStuck
// record, one per step, in the step's transaction.
func testClaimAudit(t *testing.T, b *bundle) {
	outcomes := []struct {
		outcome store.Outcome
		action  string
		status  store.AuditStatus
	}{
		{store.Succeeded(nil), store.ActionJobSucceed, store.AuditSuccess},
		{store.Failed("E", "failed"), store.ActionJobFail, store.AuditFailure},
		{store.Retry("E", "again", time.Hour), store.ActionJobRetry, store.AuditFailure},
	}
	for _, o := range outcomes {
		c := b.readyCluster(t)
		j := b.job(t, c.ID, store.JobPostConfigure)
		cl := b.claim(t, "worker-7")
		_, err := b.s.Finish(b.ctx, cl.Lock, o.outcome)
		requireNoErr(t, err, "finish")
		evs, total, err := b.s2.Audit.List(b.ctx, store.AuditFilters{JobID: &j.ID})
		requireNoErr(t, err, "list audit events")
		if total != 2 || len(evs) != 2 {
			t.Fatalf("%d audit events for job %s, want 2", total, j.ID)
		}
		end, start := evs[0], evs[1]
		if start.Action != store.ActionJobStart || start.Status != store.AuditSuccess || end.Action != o.action || end.Status != o.status {
			t.Fatalf("audit events %s/%s and %s/%s, want %s/SUCCESS and %s/%s",
				start.Action, start.Status, end.Action, end.Status, store.ActionJobStart, o.action, o.status)
		}
		for _, e := range evs {
			if e.Actor != "worker-7" || e.TargetClusterID == nil || *e.TargetClusterID != c.ID ||
				e.TargetJobID == nil || *e.TargetJobID != j.ID || e.Metadata["token"] != strconv.FormatInt(cl.Lock.Token, 10) {
				t.Fatalf("audit event %+v does not name worker-7, cluster %s, job %s and token %d", e, c.ID, j.ID, cl.Lock.Token)
			}
		}
	}
}

// testManualPattern runs the seed README's worker pattern by hand: BeginTx,
// GetByIDForUpdate, the transition check, Acquire, MarkStarted,
// UpdateStatus, Commit; and checks that a refused step rolled back leaves
// everything as it was.
func testManualPattern(t *testing.T, b *bundle) {
	c := b.cluster(t)
	j := b.job(t, c.ID, store.JobCreate)
	start := func(s *store.Store, worker string) (*store.JobLock, error) {
		tx, err := s.BeginTx(b.ctx)
		if err != nil {
			return nil, err
		}
		defer func() { _ = tx.Rollback(b.ctx) }()
		cluster, err := tx.Clusters.GetByIDForUpdate(b.ctx, c.ID)
		if err != nil {
			return nil, err
		}
		job, err := tx.Jobs.GetByID(b.ctx, j.ID)
		if err != nil {
			return nil, err
		}
		tr, _ := store.TransitionFor(job.JobType)
		to, ok := tr.StartStatus(cluster.Status, job.Attempt > 0)
		if !ok {
			return nil, fmt.Errorf("cannot start %s on a %s cluster", job.JobType, cluster.Status)
		}
		lock, err := tx.JobLocks.Acquire(b.ctx, c.ID, j.ID, worker, time.Hour)
		if err != nil {
			return nil, err
		}
		if _, err := tx.Jobs.MarkStarted(b.ctx, j.ID); err != nil {
			return nil, err
		}
		if _, err := tx.Clusters.UpdateStatus(b.ctx, c.ID, to); err != nil {
			return nil, err
		}
		if got := b.getJob(t, j.ID); got.Status != store.JobPending {
			return nil, fmt.Errorf("uncommitted MarkStarted visible outside the transaction: %q", got.Status)
		}
		return lock, tx.Commit(b.ctx)
	}

	lock, err := start(b.s, "w1")
	requireNoErr(t, err, "manual start")
	if got := b.getJob(t, j.ID); got.Status != store.JobRunning || got.Attempt != 1 {
		t.Fatalf("job after the manual start: %q attempt %d", got.Status, got.Attempt)
	}
	if got := b.getCluster(t, c.ID); got.Status != store.ClusterCreating {
		t.Fatalf("cluster after the manual start: %q, want CREATING", got.Status)
	}
	l, err := b.s2.JobLocks.Get(b.ctx, c.ID)
	requireNoErr(t, err, "get lock")
	requireEqual(t, lock, l, "committed lock")

	// A second worker: the lock is held, it rolls back, nothing changes.
	jobBefore, clusterBefore := b.getJob(t, j.ID), b.getCluster(t, c.ID)
	b.clock.Advance(time.Minute)
	_, err = start(b.s2, "w2")
	requireErrIs(t, err, store.ErrLockHeld, "manual start by a second worker")
	requireEqual(t, jobBefore, b.getJob(t, j.ID), "job after the rolled-back start")
	requireEqual(t, clusterBefore, b.getCluster(t, c.ID), "cluster after the rolled-back start")

	_, err = b.s.Finish(b.ctx, lock, store.Succeeded(nil))
	requireNoErr(t, err, "finish a manually started job")
	if got := b.getCluster(t, c.ID); got.Status != store.ClusterReady {
		t.Fatalf("cluster after finishing: %q, want READY", got.Status)
	}
}
