package memory_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// runnable returns the job IDs LockRunnable returns in a transaction.
func runnable(t *testing.T, f *fixture, q store.RunnableQuery) []string {
	t.Helper()
	var ids []string
	must(t, f.s.WithTx(f.ctx, func(ctx context.Context, tx *store.Store) error {
		rs, err := tx.Jobs.LockRunnable(ctx, q)
		for _, r := range rs {
			if r.Cluster.ID != r.Job.ClusterID {
				t.Fatalf("runnable %s comes with cluster %s", r.Job.ID, r.Cluster.ID)
			}
			ids = append(ids, r.Job.ID)
		}
		return err
	}))
	return ids
}

// TestLockRunnable: per cluster only the oldest open job may run, and only
// when it is due, wanted and its cluster unlocked; oldest first.
func TestLockRunnable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tick := func() { f.clock.Advance(time.Second) }

	a := f.cluster(t, ready)
	a1 := f.job(t, a.ID, store.JobPostConfigure)
	tick()
	f.job(t, a.ID, store.JobConfigureEFS) // behind a1
	tick()

	b := f.cluster(t, ready) // an older RUNNING job blocks the next
	b1 := f.job(t, b.ID, store.JobPostConfigure)
	bl := get(f.s.JobLocks.Acquire(f.ctx, b.ID, b1.ID, "w", time.Minute))(t)
	get(f.s.Jobs.MarkStarted(f.ctx, b1.ID))(t)
	tick()
	b2 := f.job(t, b.ID, store.JobPostConfigure)
	tick()

	c := f.cluster(t, ready) // RETRYING, due later, blocks the next
	c1 := f.job(t, c.ID, store.JobPostConfigure)
	cl := get(f.s.JobLocks.Acquire(f.ctx, c.ID, c1.ID, "w", time.Minute))(t)
	get(f.s.Jobs.MarkStarted(f.ctx, c1.ID))(t)
	get(f.s.Jobs.MarkRetry(f.ctx, cl, "E", "m", 90*time.Second))(t)
	must(t, f.s.JobLocks.Release(f.ctx, cl))
	tick()
	f.job(t, c.ID, store.JobPostConfigure) // behind c1
	tick()

	d := f.cluster(t) // PENDING cluster, CREATE job
	d1 := f.job(t, d.ID, store.JobCreate)
	tick()

	if got, want := runnable(t, f, store.RunnableQuery{Limit: 10}), []string{a1.ID, d1.ID}; !slices.Equal(got, want) {
		t.Fatalf("runnable = %v, want %v", got, want)
	}
	if got := runnable(t, f, store.RunnableQuery{Limit: 1}); !slices.Equal(got, []string{a1.ID}) {
		t.Fatalf("limit 1 = %v", got)
	}
	if got := runnable(t, f, store.RunnableQuery{JobTypes: []store.JobType{store.JobConfigureEFS}, Limit: 10}); len(got) != 0 {
		t.Fatalf("a job of a wanted type behind an unwanted older one ran: %v", got)
	}

	// A lock on a cluster without a running job still keeps its jobs back.
	get(f.s.JobLocks.Acquire(f.ctx, d.ID, d1.ID, "w", time.Hour))(t)
	// The RETRYING job becomes due; the RUNNING job finishes (its lock
	// expired, but nobody took it over, so its token is still current).
	f.clock.Advance(2 * time.Minute)
	get(f.s.Jobs.MarkSucceeded(f.ctx, bl, nil))(t)
	must(t, f.s.JobLocks.Release(f.ctx, bl))
	if got, want := runnable(t, f, store.RunnableQuery{Limit: 10}), []string{a1.ID, b2.ID, c1.ID}; !slices.Equal(got, want) {
		t.Fatalf("runnable after changes = %v, want %v", got, want)
	}
}

// TestClaimConcurrently: concurrent claimers on two handles get disjoint
// jobs on distinct clusters, and every job is claimed once.
func TestClaimConcurrently(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const clusters, perCluster = 8, 3
	for range clusters {
		c := f.cluster(t, ready)
		for range perCluster {
			f.job(t, c.ID, store.JobPostConfigure)
		}
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for w := range 6 {
		s := f.handle(w)
		wg.Go(func() {
			for {
				cl, err := s.Claim(f.ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Minute})
				if errors.Is(err, store.ErrNoJob) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[cl.Job.ID] {
					t.Errorf("job %s claimed twice", cl.Job.ID)
				}
				seen[cl.Job.ID] = true
				mu.Unlock()
				if _, err := s.Finish(f.ctx, cl.Lock, store.Succeeded(nil)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != clusters*perCluster {
		t.Fatalf("%d jobs claimed, want %d", len(seen), clusters*perCluster)
	}
}

// TestStuckAndRequeue: ListStuck finds RUNNING jobs without a live lock of
// their own; Requeue refuses a live one and retries or abandons the rest.
func TestStuckAndRequeue(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	start := func(maxAttempts int) (*store.Job, *store.JobLock) {
		c := f.cluster(t, ready)
		j := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure, MaxAttempts: maxAttempts}
		must(t, f.s.Jobs.Create(f.ctx, j))
		l := get(f.s.JobLocks.Acquire(f.ctx, c.ID, j.ID, "w", time.Minute))(t)
		j = get(f.s.Jobs.MarkStarted(f.ctx, j.ID))(t)
		f.clock.Advance(time.Second)
		return j, l
	}
	retry, _ := start(3)
	abandon, _ := start(1)
	live, _ := start(3)
	f.clock.Advance(time.Minute - time.Second) // the first two expire
	get(f.s.JobLocks.Extend(f.ctx, get(f.s.JobLocks.Get(f.ctx, live.ClusterID))(t), time.Minute))(t)

	stuck := get(f.s2.Jobs.ListStuck(f.ctx, 10))(t)
	if len(stuck) != 2 || stuck[0].ID != retry.ID || stuck[1].ID != abandon.ID {
		t.Fatalf("stuck = %v", stuck)
	}
	_, err := f.s.Jobs.Requeue(f.ctx, live.ID)
	wantErr(t, err, store.ErrConflict, "requeue a live job")
	r := get(f.s.Jobs.Requeue(f.ctx, retry.ID))(t)
	if r.Status != store.JobRetrying || r.RetryAt == nil || !r.RetryAt.Equal(f.clock.Now()) {
		t.Fatalf("requeued = %+v", r)
	}
	if _, err := f.s.JobLocks.Get(f.ctx, retry.ClusterID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired lock kept: %v", err)
	}
	a := get(f.s.Jobs.Requeue(f.ctx, abandon.ID))(t)
	if a.Status != store.JobFailed || a.ErrorCode == nil || *a.ErrorCode != store.ErrCodeAbandoned || a.EndedAt == nil {
		t.Fatalf("abandoned = %+v", a)
	}
	_, err = f.s.Jobs.Requeue(f.ctx, a.ID)
	var te *store.TransitionError
	if !errors.As(err, &te) || te.Entity != "job" || te.From != string(store.JobFailed) {
		t.Fatalf("requeue a failed job: %v", err)
	}
}

// TestLockRunnableSeesTxWrites: inside a transaction LockRunnable sees the
// transaction's own writes: a cancelled head uncovers the next job, and new
// clusters and jobs count.
func TestLockRunnableSeesTxWrites(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.cluster(t, ready)
	a1 := f.job(t, a.ID, store.JobPostConfigure)
	f.clock.Advance(time.Second)
	a2 := f.job(t, a.ID, store.JobPostConfigure)
	f.clock.Advance(time.Second)
	rollback := errors.New("roll back")
	err := f.s.WithTx(f.ctx, func(ctx context.Context, tx *store.Store) error {
		get(tx.Jobs.Cancel(ctx, a1.ID, "C", "cancelled"))(t)
		c := newCluster(ready)
		must(t, tx.Clusters.Create(ctx, c))
		j := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
		must(t, tx.Jobs.Create(ctx, j))
		rs := get(tx.Jobs.LockRunnable(ctx, store.RunnableQuery{Limit: 10}))(t)
		if len(rs) != 2 || rs[0].Job.ID != a2.ID || rs[1].Job.ID != j.ID {
			t.Fatalf("runnable in tx = %+v", rs)
		}
		return rollback
	})
	wantErr(t, err, rollback, "WithTx")
	if got := runnable(t, f, store.RunnableQuery{Limit: 10}); !slices.Equal(got, []string{a1.ID}) {
		t.Fatalf("runnable after rollback = %v", got)
	}
}
