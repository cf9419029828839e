package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// The Jobs group's runnable selection (LockRunnable) and the stuck jobs
// (ListStuck, Requeue).

// testLockRunnable checks which jobs LockRunnable returns: PENDING or
// RETRYING with RetryAt passed, of the asked types, behind no older
// non-terminal job of their cluster, on an unlocked cluster; oldest first,
// one per cluster, at most Limit.
func testLockRunnable(t *testing.T, b *bundle) {
	ready := func() string { return b.readyCluster(t).ID }

	c1 := ready()
	j1a := b.job(t, c1, store.JobPostConfigure)
	j1b := b.job(t, c1, store.JobConfigureEFS) // behind j1a

	_, lock := b.start(t, b.job(t, ready(), store.JobPostConfigure), "w", time.Hour)
	retryLater, err := b.s.Jobs.MarkRetry(b.ctx, lock, "E", "later", time.Hour)
	requireNoErr(t, err, "mark retry (1h)")
	requireNoErr(t, b.s.JobLocks.Release(b.ctx, lock), "release")

	locked := b.job(t, ready(), store.JobPostConfigure)
	_, err = b.s.JobLocks.Acquire(b.ctx, locked.ClusterID, locked.ID, "w", time.Hour)
	requireNoErr(t, err, "lock a cluster")

	pendingCluster := b.cluster(t)
	create := b.job(t, pendingCluster.ID, store.JobCreate)

	_, lock = b.start(t, b.job(t, ready(), store.JobPostConfigure), "w", time.Hour)
	retrySoon, err := b.s.Jobs.MarkRetry(b.ctx, lock, "E", "soon", time.Minute)
	requireNoErr(t, err, "mark retry (1m)")
	requireNoErr(t, b.s.JobLocks.Release(b.ctx, lock), "release")

	c6 := ready()
	_, lock = b.start(t, b.job(t, c6, store.JobPostConfigure), "w", time.Hour)
	done, err := b.s.Jobs.MarkSucceeded(b.ctx, lock, nil)
	requireNoErr(t, err, "mark succeeded")
	requireNoErr(t, b.s.JobLocks.Release(b.ctx, lock), "release")
	afterDone := b.job(t, c6, store.JobConfigureEFS)

	hibernate := b.job(t, ready(), store.JobHibernate)
	b.clock.Advance(time.Minute) // retrySoon is due, retryLater is not

	cases := []struct {
		name string
		q    store.RunnableQuery
		want []*store.Job
	}{
		{"All", store.RunnableQuery{Limit: store.MaxLimit}, []*store.Job{j1a, create, retrySoon, afterDone, hibernate}},
		{"Limit", store.RunnableQuery{Limit: 2}, []*store.Job{j1a, create}},
		{"OneType", store.RunnableQuery{JobTypes: []store.JobType{store.JobHibernate}, Limit: 10}, []*store.Job{hibernate}},
		{"TwoTypes", store.RunnableQuery{JobTypes: []store.JobType{store.JobCreate, store.JobHibernate}, Limit: 10},
			[]*store.Job{create, hibernate}},
		{"BehindAnOlderJobOfAnotherType", store.RunnableQuery{JobTypes: []store.JobType{store.JobConfigureEFS}, Limit: 10},
			[]*store.Job{afterDone}},
	}
	for _, tc := range cases {
		err := b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
			got, err := tx.Jobs.LockRunnable(ctx, tc.q)
			requireNoErr(t, err, tc.name)
			var gotIDs []string
			for _, r := range got {
				gotIDs = append(gotIDs, r.Job.ID)
				if r.Cluster == nil || r.Cluster.ID != r.Job.ClusterID {
					t.Fatalf("%s: runnable job %s comes with cluster %+v", tc.name, r.Job.ID, r.Cluster)
				}
			}
			requireIDs(t, ids(tc.want, jobID), gotIDs, tc.name+" runnable jobs")
			return nil
		})
		requireNoErr(t, err, tc.name+" transaction")
	}
	for _, j := range []*store.Job{j1a, j1b, retryLater, locked, create, retrySoon, done, afterDone, hibernate} {
		requireEqual(t, j, b.getJob(t, j.ID), "job after LockRunnable")
	}
}

// testStuckAndRequeue checks ListStuck (RUNNING jobs whose cluster lock is
// expired, missing or another job's; oldest start first) and Requeue.
func testStuckAndRequeue(t *testing.T, b *bundle) {
	expired, _ := b.startedJob(t, "w1", time.Minute)
	b.clock.Advance(time.Second)
	unlocked, lock := b.startedJob(t, "w2", time.Hour)
	requireNoErr(t, b.s.JobLocks.Release(b.ctx, lock), "release")
	b.clock.Advance(time.Second)
	takenOver, oldLock := b.startedJob(t, "w3", time.Minute)
	b.clock.Advance(time.Second)
	live, _ := b.startedJob(t, "w4", time.Hour)
	b.clock.Advance(2 * time.Minute)
	newer := b.job(t, takenOver.ClusterID, store.JobConfigureEFS)
	newLock, err := b.s.JobLocks.Acquire(b.ctx, newer.ClusterID, newer.ID, "w5", time.Hour)
	requireNoErr(t, err, "take over an expired lock")

	got, err := b.s2.Jobs.ListStuck(b.ctx, store.MaxLimit)
	requireNoErr(t, err, "list stuck")
	requireIDs(t, []string{expired.ID, unlocked.ID, takenOver.ID}, ids(got, jobID), "stuck jobs")
	got, err = b.s.Jobs.ListStuck(b.ctx, 2)
	requireNoErr(t, err, "list stuck, limit 2")
	requireIDs(t, []string{expired.ID, unlocked.ID}, ids(got, jobID), "stuck jobs, limit 2")

	// A live holder's job is not taken back; a job not RUNNING neither.
	_, err = b.s.Jobs.Requeue(b.ctx, live.ID)
	requireErrIs(t, err, store.ErrConflict, "requeue a job whose lock is live")
	requireEqual(t, live, b.getJob(t, live.ID), "live job after a refused Requeue")
	pending := b.job(t, b.readyCluster(t).ID, store.JobPostConfigure)
	_, err = b.s.Jobs.Requeue(b.ctx, pending.ID)
	requireTransition(t, err, "job", pending.ID, string(store.JobPending), "")
	requireEqual(t, pending, b.getJob(t, pending.ID), "pending job after a refused Requeue")

	// Attempts left: RETRYING, runnable now, the expired lock deleted.
	requeued, err := b.s2.Jobs.Requeue(b.ctx, expired.ID)
	requireNoErr(t, err, "requeue")
	want := *expired
	want.Status, want.RetryAt, want.UpdatedAt = store.JobRetrying, ptr(b.clock.Now()), b.clock.Now()
	requireEqual(t, &want, requeued, "requeued job")
	requireEqual(t, &want, b.getJob(t, expired.ID), "requeued job read back")
	_, err = b.s.JobLocks.Get(b.ctx, expired.ClusterID)
	requireErrIs(t, err, store.ErrNotFound, "the requeued job's expired lock")

	// Another job's live lock on the cluster is left alone.
	requeued, err = b.s.Jobs.Requeue(b.ctx, takenOver.ID)
	requireNoErr(t, err, "requeue a job whose lock was taken over")
	if requeued.Status != store.JobRetrying {
		t.Fatalf("requeued job status %q, want RETRYING", requeued.Status)
	}
	l, err := b.s.JobLocks.Get(b.ctx, takenOver.ClusterID)
	requireNoErr(t, err, "get the new holder's lock")
	requireEqual(t, newLock, l, "new holder's lock after requeueing the old job")
	_, err = b.s.Jobs.MarkFailed(b.ctx, oldLock, "LATE", "old holder")
	requireErrIs(t, err, store.ErrLockLost, "old holder's fenced write")

	// No attempts left: FAILED, ABANDONED.
	last := b.job(t, b.readyCluster(t).ID, store.JobPostConfigure, maxAttempts(1))
	last, _ = b.start(t, last, "w6", time.Minute)
	b.clock.Advance(2 * time.Minute)
	abandoned, err := b.s.Jobs.Requeue(b.ctx, last.ID)
	requireNoErr(t, err, "requeue a job with no attempts left")
	if abandoned.Status != store.JobFailed || abandoned.ErrorCode == nil || *abandoned.ErrorCode != store.ErrCodeAbandoned {
		t.Fatalf("abandoned job: status %q code %v, want FAILED %s", abandoned.Status, abandoned.ErrorCode, store.ErrCodeAbandoned)
	}
	requireTimePtr(t, b.clock.Now(), abandoned.EndedAt, "abandoned job's EndedAt")

	got, err = b.s.Jobs.ListStuck(b.ctx, store.MaxLimit)
	requireNoErr(t, err, "list stuck again")
	requireIDs(t, []string{unlocked.ID}, ids(got, jobID), "stuck jobs after the requeues")
}
