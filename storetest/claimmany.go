package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// testClaimMany covers Store.ClaimMany and Store.FinishMany: the fields
// they write, order and the batch size, FIFO per cluster, unstartable jobs,
// concurrent batch claimers over both handles, per-item fencing, every
// outcome, and input validation.
func testClaimMany(t *testing.T, setup setupFunc) {
	t.Run("ConcurrentBatchClaimersGetDisjointJobs", func(t *testing.T) {
		t.Parallel()
		testClaimManyRace(t, setup(t))
	})

	t.Run("ClaimManyFields", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pending, ready := b.cluster(t), b.readyCluster(t)
		create := b.job(t, pending.ID, store.JobCreate)
		post := b.job(t, ready.ID, store.JobPostConfigure)
		b.clock.Advance(time.Minute)
		got, err := b.s2.ClaimMany(b.ctx, store.ClaimParams{WorkerID: "w1", LockTTL: 5 * time.Minute}, 10)
		requireNoErr(t, err, "claim many")
		if len(got) != 2 {
			t.Fatalf("claimed %d jobs, want 2", len(got))
		}
		now := b.clock.Now()
		for i, tc := range []struct {
			job     *store.Job
			cluster *store.Cluster
			status  store.ClusterStatus
		}{{create, pending, store.ClusterCreating}, {post, ready, store.ClusterReady}} {
			cl := got[i]
			wantJob := *tc.job
			wantJob.Status, wantJob.Attempt, wantJob.StartedAt, wantJob.UpdatedAt = store.JobRunning, 1, &now, now
			requireEqual(t, &wantJob, cl.Job, "claimed job")
			requireEqual(t, &wantJob, b.getJob(t, tc.job.ID), "claimed job read back")
			wantCluster := *tc.cluster
			if wantCluster.Status != tc.status {
				wantCluster.Status, wantCluster.UpdatedAt = tc.status, now
			}
			requireEqual(t, &wantCluster, cl.Cluster, "claimed job's cluster")
			requireEqual(t, &wantCluster, b.getCluster(t, tc.cluster.ID), "claimed job's cluster read back")
			wantLock := &store.JobLock{ClusterID: tc.cluster.ID, JobID: tc.job.ID, LockedBy: "w1", Token: cl.Lock.Token,
				LockedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
			requireEqual(t, wantLock, cl.Lock, "claimed job's lock")
			l, err := b.s.JobLocks.Get(b.ctx, tc.cluster.ID)
			requireNoErr(t, err, "get lock")
			requireEqual(t, wantLock, l, "claimed job's lock read back")
			requireAuditEvent(t, b, tc.job.ID, &store.AuditEvent{Actor: "w1", Action: store.ActionJobStart,
				TargetClusterID: &tc.cluster.ID, TargetJobID: &tc.job.ID, Status: store.AuditSuccess, CreatedAt: now,
				Metadata: map[string]string{"job_type": string(tc.job.JobType), "job_status": string(store.JobRunning),
					"attempt": "1", "token": fmt.Sprint(cl.Lock.Token)}})
		}
		if got[0].Lock.Token == got[1].Lock.Token {
			t.Fatalf("two claims share token %d", got[0].Lock.Token)
		}
		_, err = b.s.ClaimMany(b.ctx, store.ClaimParams{WorkerID: "w2", LockTTL: time.Minute}, 10)
		requireErrIs(t, err, store.ErrNoJob, "claim many with every cluster locked")
	})

	t.Run("OldestFirstUpToMax", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var want []string
		for range 5 {
			want = append(want, b.job(t, b.readyCluster(t).ID, store.JobPostConfigure).ID)
			b.clock.Advance(time.Second)
		}
		p := store.ClaimParams{WorkerID: "w1", LockTTL: time.Minute}
		first, err := b.s.ClaimMany(b.ctx, p, 3)
		requireNoErr(t, err, "claim 3")
		requireIDs(t, want[:3], claimedIDs(first), "first batch")
		rest, err := b.s2.ClaimMany(b.ctx, p, store.MaxLimit)
		requireNoErr(t, err, "claim the rest")
		requireIDs(t, want[3:], claimedIDs(rest), "second batch")
		_, err = b.s.ClaimMany(b.ctx, p, 1)
		requireErrIs(t, err, store.ErrNoJob, "claim many with nothing runnable")
	})

	t.Run("FIFOPerCluster", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		busy, other := b.readyCluster(t), b.readyCluster(t)
		var queue []string
		for range 3 {
			queue = append(queue, b.job(t, busy.ID, store.JobPostConfigure).ID)
			b.clock.Advance(time.Second)
		}
		lone := b.job(t, other.ID, store.JobConfigureEFS)
		p := store.ClaimParams{WorkerID: "w1", LockTTL: time.Minute}
		for i, id := range queue {
			got, err := b.s.ClaimMany(b.ctx, p, 10)
			requireNoErr(t, err, "claim many")
			want := []string{id}
			if i == 0 {
				want = append(want, lone.ID)
			}
			requireIDs(t, want, claimedIDs(got), fmt.Sprintf("batch %d", i))
			jobs, errs, err := b.s2.FinishMany(b.ctx, completions(got, store.Succeeded(nil)))
			requireNoErr(t, err, "finish many")
			requireNoItemErrs(t, errs)
			if len(jobs) != len(got) {
				t.Fatalf("finish many returned %d jobs for %d items", len(jobs), len(got))
			}
		}
		b.requireNoJob(t)
	})

	t.Run("UnstartableJobsAreFailed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		create := b.job(t, c.ID, store.JobCreate) // a CREATE cannot start from READY
		post := b.job(t, c.ID, store.JobPostConfigure)
		got, err := b.s.ClaimMany(b.ctx, store.ClaimParams{WorkerID: "w1", LockTTL: time.Minute}, 5)
		requireNoErr(t, err, "claim many")
		requireIDs(t, []string{post.ID}, claimedIDs(got), "claimed past the unstartable job")
		j := b.getJob(t, create.ID)
		if j.Status != store.JobFailed || j.ErrorCode == nil || *j.ErrorCode != store.ErrCodeInvalidTransition {
			t.Fatalf("unstartable job: status %s code %v, want FAILED %s", j.Status, j.ErrorCode, store.ErrCodeInvalidTransition)
		}
		requireEqual(t, []string{store.ActionJobReject}, b.auditActions(t, create.ID), "unstartable job's audit")
	})

	t.Run("InsideTransaction", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		j := b.job(t, b.readyCluster(t).ID, store.JobPostConfigure)
		rollback := errors.New("roll back")
		err := b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
			got, err := tx.ClaimMany(ctx, store.ClaimParams{WorkerID: "w1", LockTTL: time.Minute}, 2)
			requireNoErr(t, err, "claim many in a transaction")
			requireIDs(t, []string{j.ID}, claimedIDs(got), "claimed in a transaction")
			return rollback
		})
		requireErrIs(t, err, rollback, "rolled-back transaction")
		if got := b.getJob(t, j.ID); got.Status != store.JobPending {
			t.Fatalf("job after a rolled-back ClaimMany: %s, want PENDING", got.Status)
		}
		b.claim(t, "w2")
	})

	t.Run("FinishManyOutcomes", func(t *testing.T) { t.Parallel(); testFinishManyOutcomes(t, setup(t)) })
	t.Run("FinishManyRefusesAStaleItemAlone", func(t *testing.T) { t.Parallel(); testFinishManyStale(t, setup(t)) })

	t.Run("FinishManyIsAllOrNothingPastTheFence", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		moved, other := b.cluster(t), b.cluster(t)
		b.job(t, moved.ID, store.JobCreate)
		b.job(t, other.ID, store.JobCreate)
		got, err := b.s.ClaimMany(b.ctx, store.ClaimParams{WorkerID: "w1", LockTTL: time.Hour}, 2)
		requireNoErr(t, err, "claim many")
		if len(got) != 2 {
			t.Fatalf("claimed %d jobs, want 2", len(got))
		}
		// Moved by hand to FAILED, from which a CREATE's success (READY)
		// is refused: the whole batch fails and nothing is committed.
		_, err = b.s.Clusters.UpdateStatus(b.ctx, moved.ID, store.ClusterFailed)
		requireNoErr(t, err, "move the cluster by hand")
		_, _, err = b.s2.FinishMany(b.ctx, completions(got, store.Succeeded(nil)))
		requireTransition(t, err, "cluster", moved.ID, string(store.ClusterFailed), string(store.ClusterReady))
		for _, c := range got {
			if j := b.getJob(t, c.Job.ID); j.Status != store.JobRunning {
				t.Fatalf("job %s after a failed FinishMany: %s, want RUNNING", j.ID, j.Status)
			}
			l, err := b.s.JobLocks.Get(b.ctx, c.Job.ClusterID)
			requireNoErr(t, err, "lock after a failed FinishMany")
			requireEqual(t, c.Lock, l, "lock after a failed FinishMany")
		}
		if c := b.getCluster(t, other.ID); c.Status != store.ClusterCreating {
			t.Fatalf("the other cluster after a failed FinishMany: %s, want CREATING", c.Status)
		}
		requireEqual(t, []string{store.ActionJobStart}, b.auditActions(t, got[1].Job.ID), "the other job's audit")
	})

	t.Run("Validation", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := store.ClaimParams{WorkerID: "w1", LockTTL: time.Minute}
		for _, max := range []int{0, -1, store.MaxLimit + 1} {
			_, err := b.s.ClaimMany(b.ctx, p, max)
			requireInvalid(t, err, "max")
		}
		_, err := b.s.ClaimMany(b.ctx, store.ClaimParams{LockTTL: time.Minute}, 1)
		requireInvalid(t, err, "worker_id")
		_, err = b.s.ClaimMany(b.ctx, store.ClaimParams{WorkerID: "w1"}, 1)
		requireInvalid(t, err, "lock_ttl")

		lock := &store.JobLock{ClusterID: "clu_1", JobID: "job_1", LockedBy: "w1", Token: 1}
		ok := store.Completion{Lock: lock, Outcome: store.Succeeded(nil)}
		for _, tc := range []struct {
			items []store.Completion
			field string
		}{
			{nil, "items"},
			{make([]store.Completion, store.MaxLimit+1), "items"},
			{[]store.Completion{ok, {Outcome: store.Succeeded(nil)}}, "items[1].lock"},
			{[]store.Completion{{Lock: &store.JobLock{ClusterID: "clu_1", JobID: "job_1"}, Outcome: store.Succeeded(nil)}},
				"items[0].lock.token"},
			{[]store.Completion{{Lock: lock}}, "items[0].outcome"},
			{[]store.Completion{{Lock: lock, Outcome: store.Failed("", "no code")}}, "items[0].outcome.code"},
			{[]store.Completion{ok, ok}, "items[1].lock.job_id"},
		} {
			_, _, err := b.s.FinishMany(b.ctx, tc.items)
			requireInvalid(t, err, tc.field)
		}
	})
}

// testClaimManyRace drains a queue of day-2 jobs, several per cluster,
// with batch claimers split over both handles. Every job is claimed once,
// no cluster has two claimed jobs at a time, and each cluster's jobs are
// claimed in creation order.
func testClaimManyRace(t *testing.T, b *bundle) {
	const nClusters, perCluster, nClaimers, batch = 24, 4, 6, 5
	clusters := make([]*store.Cluster, nClusters)
	for i := range clusters {
		clusters[i] = b.readyCluster(t)
	}
	created := map[string][]string{} // cluster ID -> its job IDs, oldest first
	for range perCluster {
		for _, c := range clusters {
			created[c.ID] = append(created[c.ID], b.job(t, c.ID, store.JobPostConfigure).ID)
		}
		b.clock.Advance(time.Second)
	}

	var mu sync.Mutex
	claims := map[string]int{}     // job ID -> times claimed
	order := map[string][]string{} // cluster ID -> job IDs in claim order
	running := map[string]bool{}   // cluster ID -> a claimer holds one of its jobs
	tokens := map[int64]string{}   // token -> job ID
	errs := race(nClaimers, func(w int) error {
		s, worker := b.handle(w), fmt.Sprintf("batcher-%d", w)
		for range nClusters * perCluster {
			got, err := s.ClaimMany(b.ctx, store.ClaimParams{WorkerID: worker, LockTTL: time.Hour}, batch)
			if errors.Is(err, store.ErrNoJob) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("claim many: %w", err)
			}
			if len(got) > batch {
				return fmt.Errorf("claimed %d jobs, asked for at most %d", len(got), batch)
			}
			mu.Lock()
			for _, cl := range got {
				claims[cl.Job.ID]++
				order[cl.Job.ClusterID] = append(order[cl.Job.ClusterID], cl.Job.ID)
				if running[cl.Job.ClusterID] {
					err = errors.Join(err, fmt.Errorf("job %s claimed while another job of cluster %s was held",
						cl.Job.ID, cl.Job.ClusterID))
				}
				if other, dup := tokens[cl.Lock.Token]; dup {
					err = errors.Join(err, fmt.Errorf("jobs %s and %s got token %d", other, cl.Job.ID, cl.Lock.Token))
				}
				running[cl.Job.ClusterID], tokens[cl.Lock.Token] = true, cl.Job.ID
			}
			for _, cl := range got {
				running[cl.Job.ClusterID] = false
			}
			mu.Unlock()
			if err != nil {
				return err
			}
			_, itemErrs, err := s.FinishMany(b.ctx, completions(got, store.Succeeded(map[string]string{"by": worker})))
			if err != nil {
				return fmt.Errorf("finish many: %w", err)
			}
			if err := errors.Join(itemErrs...); err != nil {
				return fmt.Errorf("finish many: %w", err)
			}
		}
		return errors.New("never ran out of jobs")
	})
	for w, err := range errs {
		if err != nil {
			t.Errorf("batch claimer %d: %v", w, err)
		}
	}
	if len(claims) != nClusters*perCluster {
		t.Errorf("%d distinct jobs claimed, want %d", len(claims), nClusters*perCluster)
	}
	for id, n := range claims {
		if n != 1 {
			t.Errorf("job %s claimed %d times", id, n)
		}
	}
	for id, want := range created {
		if !slices.Equal(want, order[id]) {
			t.Errorf("cluster %s: jobs claimed in order %v, want creation order %v", id, order[id], want)
		}
	}
	_, succeeded, err := b.s.Jobs.List(b.ctx, store.JobFilters{Status: ptr(store.JobSucceeded), Limit: 1})
	requireNoErr(t, err, "count succeeded jobs")
	if succeeded != nClusters*perCluster {
		t.Fatalf("%d jobs SUCCEEDED, want %d", succeeded, nClusters*perCluster)
	}
}
