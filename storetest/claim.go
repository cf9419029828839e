package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// testClaim covers Store.Claim and Store.Finish: concurrent claimers, retry
// timing, FIFO per cluster, locked clusters, unstartable jobs, the state
// machine on claim and finish, exhausted attempts, the type filter, audit
// events, and the manual pattern Claim packages.
func testClaim(t *testing.T, setup setupFunc) {
	t.Run("ConcurrentClaimersDrainEveryJobOnce", func(t *testing.T) { t.Parallel(); testClaimRace(t, setup(t)) })

	t.Run("ClaimAndFinishFields", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.cluster(t)
		j := b.job(t, c.ID, store.JobCreate)
		b.clock.Advance(time.Minute)
		cl, err := b.s2.Claim(b.ctx, store.ClaimParams{WorkerID: "w1", LockTTL: 5 * time.Minute})
		requireNoErr(t, err, "claim")
		now := b.clock.Now()
		wantJob := *j
		wantJob.Status, wantJob.Attempt, wantJob.StartedAt, wantJob.UpdatedAt = store.JobRunning, 1, &now, now
		requireEqual(t, &wantJob, cl.Job, "claimed job")
		requireEqual(t, &wantJob, b.getJob(t, j.ID), "claimed job read back")
		wantCluster := *c
		wantCluster.Status, wantCluster.UpdatedAt = store.ClusterCreating, now
		requireEqual(t, &wantCluster, cl.Cluster, "claimed job's cluster")
		requireEqual(t, &wantCluster, b.getCluster(t, c.ID), "claimed job's cluster read back")
		wantLock := &store.JobLock{ClusterID: c.ID, JobID: j.ID, LockedBy: "w1", Token: cl.Lock.Token,
			LockedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
		requireEqual(t, wantLock, cl.Lock, "claimed job's lock")
		l, err := b.s.JobLocks.Get(b.ctx, c.ID)
		requireNoErr(t, err, "get lock")
		requireEqual(t, wantLock, l, "claimed job's lock read back")

		b.clock.Advance(time.Minute)
		done, err := b.s.Finish(b.ctx, cl.Lock, store.Succeeded(map[string]string{"api": "https://api"}))
		requireNoErr(t, err, "finish")
		wantJob.Status, wantJob.EndedAt, wantJob.UpdatedAt = store.JobSucceeded, ptr(b.clock.Now()), b.clock.Now()
		wantJob.Metadata = map[string]string{"api": "https://api"}
		requireEqual(t, &wantJob, done, "finished job")
		requireEqual(t, &wantJob, b.getJob(t, j.ID), "finished job read back")
		if got := b.getCluster(t, c.ID); got.Status != store.ClusterReady || !got.UpdatedAt.Equal(b.clock.Now()) {
			t.Fatalf("cluster after CREATE succeeded: status %q updated %v, want READY at %v", got.Status, got.UpdatedAt, b.clock.Now())
		}
		_, err = b.s.JobLocks.Get(b.ctx, c.ID)
		requireErrIs(t, err, store.ErrNotFound, "lock after Finish")
		b.requireNoJob(t)
	})

	t.Run("RetryWaitsForRetryAt", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.cluster(t)
		create := b.job(t, c.ID, store.JobCreate)
		post := b.job(t, c.ID, store.JobPostConfigure) // behind the CREATE
		cl := b.claim(t, "w1")
		done, err := b.s.Finish(b.ctx, cl.Lock, store.Retry("TRANSIENT", "cloud API timeout", 10*time.Minute))
		requireNoErr(t, err, "finish with retry")
		if done.Status != store.JobRetrying || done.Attempt != 1 || done.EndedAt != nil {
			t.Fatalf("retried job: %+v", done)
		}
		requireTimePtr(t, b.clock.Now().Add(10*time.Minute), done.RetryAt, "RetryAt")
		if got := b.getCluster(t, c.ID); got.Status != store.ClusterCreating {
			t.Fatalf("cluster after a retry: %q, want it left CREATING", got.Status)
		}
		_, err = b.s.JobLocks.Get(b.ctx, c.ID)
		requireErrIs(t, err, store.ErrNotFound, "lock after a retry")

		b.requireNoJob(t)
		b.clock.Advance(10*time.Minute - time.Microsecond)
		b.requireNoJob(t)
		b.clock.Advance(time.Microsecond)
		cl = b.claim(t, "w2")
		if cl.Job.ID != create.ID || cl.Job.Attempt != 2 || cl.Cluster.Status != store.ClusterCreating {
			t.Fatalf("claimed %s attempt %d on a %s cluster, want %s attempt 2 resuming CREATING",
				cl.Job.ID, cl.Job.Attempt, cl.Cluster.Status, create.ID)
		}
		if got := b.getJob(t, post.ID); got.Status != store.JobPending {
			t.Fatalf("the job behind the retrying CREATE: %q, want PENDING", got.Status)
		}
		_, err = b.s.Finish(b.ctx, cl.Lock, store.Succeeded(nil))
		requireNoErr(t, err, "finish")
		if cl = b.claim(t, "w3"); cl.Job.ID != post.ID {
			t.Fatalf("claimed %s, want %s once the CREATE succeeded", cl.Job.ID, post.ID)
		}
	})

	t.Run("LockedClusterDoesNotBlockOthers", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		x, y := b.readyCluster(t), b.readyCluster(t)
		jx := b.job(t, x.ID, store.JobPostConfigure)
		jy := b.job(t, y.ID, store.JobPostConfigure)
		lock, err := b.s.JobLocks.Acquire(b.ctx, x.ID, jx.ID, "someone", time.Hour)
		requireNoErr(t, err, "lock cluster x")
		if cl := b.claim(t, "w1"); cl.Job.ID != jy.ID {
			t.Fatalf("claimed %s, want %s of the unlocked cluster", cl.Job.ID, jy.ID)
		}
		b.requireNoJob(t)
		requireNoErr(t, b.s.JobLocks.Release(b.ctx, lock), "release")
		if cl := b.claim(t, "w1"); cl.Job.ID != jx.ID {
			t.Fatalf("claimed %s, want %s once its cluster is unlocked", cl.Job.ID, jx.ID)
		}
	})

	t.Run("FIFOPerCluster", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		x, y := b.readyCluster(t), b.readyCluster(t)
		first := b.job(t, x.ID, store.JobPostConfigure)
		second := b.job(t, x.ID, store.JobConfigureEFS)
		other := b.job(t, y.ID, store.JobPostConfigure)
		cl := b.claim(t, "w1")
		if cl.Job.ID != first.ID {
			t.Fatalf("claimed %s, want the oldest job %s", cl.Job.ID, first.ID)
		}
		if c2 := b.claim(t, "w2"); c2.Job.ID != other.ID {
			t.Fatalf("claimed %s, want %s: %s waits for %s", c2.Job.ID, other.ID, second.ID, first.ID)
		}
		b.requireNoJob(t)
		_, err := b.s.Finish(b.ctx, cl.Lock, store.Failed("BROKEN", "permanent"))
		requireNoErr(t, err, "finish the first job as failed")
		if c3 := b.claim(t, "w3"); c3.Job.ID != second.ID {
			t.Fatalf("claimed %s, want %s once the job before it ended", c3.Job.ID, second.ID)
		}
	})

	t.Run("UnstartableJobIsFailedAndDoesNotBlock", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pending := b.cluster(t)
		hibernate := b.job(t, pending.ID, store.JobHibernate) // a PENDING cluster cannot hibernate
		ready := b.readyCluster(t)
		post := b.job(t, ready.ID, store.JobPostConfigure)
		create := b.job(t, pending.ID, store.JobCreate)

		b.clock.Advance(time.Minute)
		if cl := b.claim(t, "w1"); cl.Job.ID != post.ID {
			t.Fatalf("claimed %s, want %s after failing the unstartable %s", cl.Job.ID, post.ID, hibernate.ID)
		}
		got := b.getJob(t, hibernate.ID)
		if got.Status != store.JobFailed || got.ErrorCode == nil || *got.ErrorCode != store.ErrCodeInvalidTransition ||
			got.ErrorMessage == nil || got.Attempt != 0 {
			t.Fatalf("unstartable job: %+v, want FAILED with code %s", got, store.ErrCodeInvalidTransition)
		}
		requireTimePtr(t, b.clock.Now(), got.EndedAt, "unstartable job's EndedAt")
		if c := b.getCluster(t, pending.ID); c.Status != store.ClusterPending {
			t.Fatalf("cluster of the unstartable job: %q, want PENDING", c.Status)
		}
		if a := b.auditActions(t, hibernate.ID); !slices.Equal(a, []string{store.ActionJobReject}) {
			t.Fatalf("audit of the unstartable job: %v, want [%s]", a, store.ActionJobReject)
		}
		if cl := b.claim(t, "w2"); cl.Job.ID != create.ID || cl.Cluster.Status != store.ClusterCreating {
			t.Fatalf("claimed %s on a %s cluster, want %s on CREATING", cl.Job.ID, cl.Cluster.Status, create.ID)
		}
	})

	t.Run("StateMachineOnClaimAndFinish", func(t *testing.T) { t.Parallel(); testClaimStateMachine(t, setup(t)) })

	t.Run("RetryWithAttemptsExhaustedFails", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.cluster(t)
		j := b.job(t, c.ID, store.JobCreate, maxAttempts(2))
		cl := b.claim(t, "w1")
		done, err := b.s.Finish(b.ctx, cl.Lock, store.Retry("TRANSIENT", "first", time.Minute))
		requireNoErr(t, err, "first retry")
		if done.Status != store.JobRetrying {
			t.Fatalf("after attempt 1 of 2: %q, want RETRYING", done.Status)
		}
		b.clock.Advance(time.Minute)
		cl = b.claim(t, "w1")
		if cl.Job.ID != j.ID || cl.Job.Attempt != 2 {
			t.Fatalf("claimed %s attempt %d, want %s attempt 2", cl.Job.ID, cl.Job.Attempt, j.ID)
		}
		done, err = b.s.Finish(b.ctx, cl.Lock, store.Retry("TRANSIENT", "second", time.Minute))
		requireNoErr(t, err, "second retry")
		if done.Status != store.JobFailed || done.ErrorCode == nil || *done.ErrorCode != "TRANSIENT" || done.RetryAt != nil {
			t.Fatalf("after attempt 2 of 2: %+v, want FAILED with code TRANSIENT", done)
		}
		requireTimePtr(t, b.clock.Now(), done.EndedAt, "EndedAt")
		requireEqual(t, done, b.getJob(t, j.ID), "failed job read back")
		if got := b.getCluster(t, c.ID); got.Status != store.ClusterFailed {
			t.Fatalf("cluster after its CREATE ran out of attempts: %q, want FAILED", got.Status)
		}
		b.clock.Advance(time.Hour)
		b.requireNoJob(t)
	})

	t.Run("JobTypesFilter", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		create := b.job(t, b.cluster(t).ID, store.JobCreate)
		post := b.job(t, b.readyCluster(t).ID, store.JobPostConfigure)
		if cl := b.claim(t, "w1", store.JobPostConfigure, store.JobHibernate); cl.Job.ID != post.ID {
			t.Fatalf("claimed %s, want %s, the only job of the asked types", cl.Job.ID, post.ID)
		}
		b.requireNoJob(t, store.JobPostConfigure, store.JobHibernate)
		if got := b.getJob(t, create.ID); got.Status != store.JobPending {
			t.Fatalf("job of another type: %q, want PENDING", got.Status)
		}
		if cl := b.claim(t, "w2", store.JobCreate); cl.Job.ID != create.ID {
			t.Fatalf("claimed %s, want %s", cl.Job.ID, create.ID)
		}
	})

	t.Run("AuditEvents", func(t *testing.T) { t.Parallel(); testClaimAudit(t, setup(t)) })
	t.Run("ManualPattern", func(t *testing.T) { t.Parallel(); testManualPattern(t, setup(t)) })
}

// testClaimRace runs 20 claimers (10 per handle) over 100 day-2 jobs on 30
// READY clusters until each runs out of work. Every job must be claimed
// exactly once, no cluster may run two jobs at once, and every job must end
// SUCCEEDED.
func testClaimRace(t *testing.T, b *bundle) {
	const nClusters, nJobs, nClaimers = 30, 100, 20
	day2 := []store.JobType{store.JobPostConfigure, store.JobConfigureEFS, store.JobProvisionSharedStorage,
		store.JobCreateWindowsSnapshot, store.JobPoolClean}
	clusters := make([]*store.Cluster, nClusters)
	for i := range clusters {
		clusters[i] = b.readyCluster(t)
	}
	for i := range nJobs {
		b.job(t, clusters[i%nClusters].ID, day2[i%len(day2)])
	}

	var mu sync.Mutex
	claims := map[string]int{}   // job ID -> times claimed
	running := map[string]bool{} // cluster ID -> a claimer is running one of its jobs
	errs := race(nClaimers, func(w int) error {
		s, worker := b.handle(w), fmt.Sprintf("claimer-%d", w)
		for range nJobs + 1 {
			cl, err := s.Claim(b.ctx, store.ClaimParams{WorkerID: worker, LockTTL: time.Hour})
			if errors.Is(err, store.ErrNoJob) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("claim: %w", err)
			}
			if cl.Job.Status != store.JobRunning || cl.Job.Attempt != 1 || cl.Cluster.ID != cl.Job.ClusterID ||
				cl.Lock.JobID != cl.Job.ID || cl.Lock.ClusterID != cl.Job.ClusterID || cl.Lock.LockedBy != worker {
				return fmt.Errorf("inconsistent claim: job %+v cluster %s lock %+v", cl.Job, cl.Cluster.ID, cl.Lock)
			}
			mu.Lock()
			claims[cl.Job.ID]++
			busy := running[cl.Job.ClusterID]
			running[cl.Job.ClusterID] = true
			mu.Unlock()
			if busy {
				return fmt.Errorf("job %s claimed while another job of cluster %s was running", cl.Job.ID, cl.Job.ClusterID)
			}
			mu.Lock()
			running[cl.Job.ClusterID] = false
			mu.Unlock()
			if _, err := s.Finish(b.ctx, cl.Lock, store.Succeeded(map[string]string{"by": worker})); err != nil {
				return fmt.Errorf("finish %s: %w", cl.Job.ID, err)
			}
		}
		return errors.New("never ran out of jobs")
	})
	for w, err := range errs {
		if err != nil {
			t.Errorf("claimer %d: %v", w, err)
		}
	}
	if len(claims) != nJobs {
		t.Errorf("%d distinct jobs claimed, want %d", len(claims), nJobs)
	}
	for id, n := range claims {
		if n != 1 {
			t.Errorf("job %s claimed %d times", id, n)
		}
	}
	_, succeeded, err := b.s.Jobs.List(b.ctx, store.JobFilters{Status: ptr(store.JobSucceeded), Limit: 1})
	requireNoErr(t, err, "count succeeded jobs")
	if succeeded != nJobs {
		t.Fatalf("%d jobs SUCCEEDED, want %d", succeeded, nJobs)
	}
	_, ready, err := b.s.Clusters.List(b.ctx, store.ClusterFilters{Status: ptr(store.ClusterReady), Limit: 1})
	requireNoErr(t, err, "count ready clusters")
	if ready != nClusters {
		t.Fatalf("%d clusters READY after day-2 jobs, want %d", ready, nClusters)
	}
}

// testClaimStateMachine claims and finishes one job of every type from
// every status it may start from, once succeeding and once failing, and
// checks the cluster's status at each step against store.Transitions.
func testClaimStateMachine(t *testing.T, b *bundle) {
	for _, tr := range store.Transitions() {
		for _, from := range tr.From {
			for _, ok := range []bool{true, false} {
				what := fmt.Sprintf("%s from %s (success %v)", tr.JobType, from, ok)
				c := b.cluster(t, withStatus(from))
				j := b.job(t, c.ID, tr.JobType)
				cl := b.claim(t, "w1")
				if cl.Job.ID != j.ID {
					t.Fatalf("%s: claimed %s, want %s", what, cl.Job.ID, j.ID)
				}
				if cl.Cluster.Status != tr.Running || b.getCluster(t, c.ID).Status != tr.Running {
					t.Fatalf("%s: cluster %q while running, want %q", what, cl.Cluster.Status, tr.Running)
				}
				for _, step := range tr.Steps {
					_, err := b.s.Clusters.UpdateStatus(b.ctx, c.ID, step)
					requireNoErr(t, err, what+": step to "+string(step))
				}
				b.clock.Advance(time.Second)
				outcome, wantJob, wantCluster := store.Succeeded(nil), store.JobSucceeded, tr.Success
				if !ok {
					outcome, wantJob, wantCluster = store.Failed("FAILED", "it broke"), store.JobFailed, tr.Failure
				}
				done, err := b.s.Finish(b.ctx, cl.Lock, outcome)
				requireNoErr(t, err, what+": finish")
				got := b.getCluster(t, c.ID)
				if done.Status != wantJob || got.Status != wantCluster {
					t.Fatalf("%s: job %q cluster %q, want job %q cluster %q", what, done.Status, got.Status, wantJob, wantCluster)
				}
				if wantCluster == store.ClusterDestroyed {
					requireTimePtr(t, b.clock.Now(), got.DestroyedAt, what+": DestroyedAt")
				} else if got.DestroyedAt != nil {
					t.Fatalf("%s: DestroyedAt %v set on a %s cluster", what, got.DestroyedAt, got.Status)
				}
			}
		}
	}
	b.requireNoJob(t)
}
