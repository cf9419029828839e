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

// testCoalesce covers store.Coalescer on the backend: many workers
// claiming and finishing one job at a time through it keep every
// guarantee of Claim and Finish (each job claimed once, one holder per
// cluster, FIFO per cluster, fencing, audit events); a stale holder is
// refused alone; a caller that leaves loses no job; an empty queue is
// ErrNoJob. Whether calls were batched depends on timing; the batching
// itself is tested in package store.
func testCoalesce(t *testing.T, setup setupFunc) {
	t.Run("WorkersDrainTheQueue", func(t *testing.T) {
		t.Parallel()
		testCoalesceDrain(t, setup(t))
	})

	t.Run("EmptyQueueIsErrNoJob", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		co := newCoalescer(t, b.s)
		errs := race(8, func(int) error {
			_, err := co.Claim(b.ctx, store.ClaimParams{WorkerID: "proc", LockTTL: time.Minute})
			if !errors.Is(err, store.ErrNoJob) {
				return fmt.Errorf("claim on an empty queue: got %v, want ErrNoJob", err)
			}
			return nil
		})
		requireNoErr(t, errors.Join(errs...), "claims")
	})

	t.Run("StaleFinishRefusedAlone", func(t *testing.T) {
		t.Parallel()
		testCoalesceStale(t, setup(t))
	})

	t.Run("LeavingCallersLoseNoJob", func(t *testing.T) {
		t.Parallel()
		testCoalesceLeaving(t, setup(t))
	})

	t.Run("RefusesATransaction", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		err := b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
			_, err := store.NewCoalescer(tx, store.CoalescerOptions{})
			requireInvalid(t, err, "store")
			return nil
		})
		requireNoErr(t, err, "transaction")
	})
}

// newCoalescer returns a Coalescer over s, closed when t ends.
func newCoalescer(t *testing.T, s *store.Store) *store.Coalescer {
	t.Helper()
	co, err := store.NewCoalescer(s, store.CoalescerOptions{})
	requireNoErr(t, err, "new coalescer")
	t.Cleanup(co.Close)
	return co
}

// testCoalesceDrain drains a queue of day-2 jobs, several per cluster,
// with two processes (a Coalescer on each handle, one WorkerID each) of
// six workers each, every worker running Claim then Finish one job at a
// time. Every job is claimed once, no cluster has two claimed jobs at a
// time, each cluster's jobs are claimed in creation order, tokens are
// distinct, every job SUCCEEDED under its own lock, and each has its
// job.start and job.succeed events by the process that held it.
func testCoalesceDrain(t *testing.T, b *bundle) {
	const nClusters, perCluster, perProc = 16, 4, 6
	created := map[string][]string{} // cluster ID -> its job IDs, oldest first
	clusters := make([]*store.Cluster, nClusters)
	for i := range clusters {
		clusters[i] = b.readyCluster(t)
	}
	for range perCluster {
		for _, c := range clusters {
			created[c.ID] = append(created[c.ID], b.job(t, c.ID, store.JobPostConfigure).ID)
		}
		b.clock.Advance(time.Second)
	}
	procs := []*store.Coalescer{newCoalescer(t, b.s), newCoalescer(t, b.s2)}

	var mu sync.Mutex
	holder := map[string]string{}  // job ID -> the process that claimed it
	order := map[string][]string{} // cluster ID -> job IDs in claim order
	running := map[string]bool{}   // cluster ID -> a worker holds one of its jobs
	tokens := map[int64]string{}   // token -> job ID
	errs := race(2*perProc, func(w int) error {
		co, proc := procs[w%2], fmt.Sprintf("proc-%d", w%2)
		for range nClusters * perCluster {
			cl, err := co.Claim(b.ctx, store.ClaimParams{WorkerID: proc, LockTTL: time.Hour})
			if errors.Is(err, store.ErrNoJob) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("claim: %w", err)
			}
			if cl.Lock.LockedBy != proc || cl.Lock.JobID != cl.Job.ID || cl.Job.Status != store.JobRunning {
				return fmt.Errorf("claimed job %s %s under lock %+v, want RUNNING under a lock of %s",
					cl.Job.ID, cl.Job.Status, cl.Lock, proc)
			}
			mu.Lock()
			if running[cl.Job.ClusterID] {
				err = fmt.Errorf("job %s claimed while another job of cluster %s was held", cl.Job.ID, cl.Job.ClusterID)
			}
			if other, dup := tokens[cl.Lock.Token]; dup {
				err = errors.Join(err, fmt.Errorf("jobs %s and %s got token %d", other, cl.Job.ID, cl.Lock.Token))
			}
			if _, dup := holder[cl.Job.ID]; dup {
				err = errors.Join(err, fmt.Errorf("job %s claimed twice", cl.Job.ID))
			}
			running[cl.Job.ClusterID], tokens[cl.Lock.Token], holder[cl.Job.ID] = true, cl.Job.ID, proc
			order[cl.Job.ClusterID] = append(order[cl.Job.ClusterID], cl.Job.ID)
			mu.Unlock()
			if err != nil {
				return err
			}
			mu.Lock()
			running[cl.Job.ClusterID] = false // before Finish releases the lock
			mu.Unlock()
			j, err := co.Finish(b.ctx, cl.Lock, store.Succeeded(map[string]string{"by": proc}))
			if err != nil {
				return fmt.Errorf("finish %s: %w", cl.Job.ID, err)
			}
			if j.ID != cl.Job.ID || j.Status != store.JobSucceeded || j.Metadata["by"] != proc {
				return fmt.Errorf("finish of %s returned job %s %s %v", cl.Job.ID, j.ID, j.Status, j.Metadata)
			}
		}
		return errors.New("never ran out of jobs")
	})
	for w, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", w, err)
		}
	}
	if len(holder) != nClusters*perCluster {
		t.Errorf("%d distinct jobs claimed, want %d", len(holder), nClusters*perCluster)
	}
	for id, want := range created {
		if !slices.Equal(want, order[id]) {
			t.Errorf("cluster %s: jobs claimed in order %v, want creation order %v", id, order[id], want)
		}
	}
	for id, proc := range holder {
		evs, _, err := b.s.Audit.List(b.ctx, store.AuditFilters{JobID: &id, Limit: store.MaxLimit})
		requireNoErr(t, err, "list audit events")
		got := make([]string, len(evs))
		for i, e := range evs {
			got[len(evs)-1-i] = e.Action + " by " + e.Actor
		}
		requireEqual(t, []string{store.ActionJobStart + " by " + proc, store.ActionJobSucceed + " by " + proc}, got,
			"job "+id+"'s audit")
	}
	_, succeeded, err := b.s.Jobs.List(b.ctx, store.JobFilters{Status: ptr(store.JobSucceeded), Limit: 1})
	requireNoErr(t, err, "count succeeded jobs")
	if succeeded != nClusters*perCluster {
		t.Fatalf("%d jobs SUCCEEDED, want %d", succeeded, nClusters*perCluster)
	}
}

// testCoalesceStale: three jobs claimed through a Coalescer, one of which
// was requeued and claimed by another worker meanwhile, are finished
// concurrently through it: the stale holder's Finish is ErrLockLost and
// changes nothing, the other two finish.
func testCoalesceStale(t *testing.T, b *bundle) {
	for range 3 {
		b.job(t, b.readyCluster(t).ID, store.JobPostConfigure)
	}
	co := newCoalescer(t, b.s)
	p := store.ClaimParams{WorkerID: "proc-1", LockTTL: time.Minute}
	got := make([]*store.Claimed, 3)
	for i := range got {
		cl, err := co.Claim(b.ctx, p)
		requireNoErr(t, err, "claim")
		got[i] = cl
	}
	b.clock.Advance(2 * time.Minute)
	for _, i := range []int{0, 2} {
		_, err := b.s.JobLocks.Extend(b.ctx, got[i].Lock, time.Hour)
		requireNoErr(t, err, "extend an expired lock nobody took over")
	}
	n, err := b.s.RecoverStuck(b.ctx, "janitor", 10)
	requireNoErr(t, err, "recover stuck")
	if n != 1 {
		t.Fatalf("recovered %d jobs, want 1", n)
	}
	current, err := b.s2.Claim(b.ctx, store.ClaimParams{WorkerID: "proc-2", LockTTL: time.Hour})
	requireNoErr(t, err, "claim the requeued job")
	if current.Job.ID != got[1].Job.ID {
		t.Fatalf("claimed %s again, want %s", current.Job.ID, got[1].Job.ID)
	}
	errs := race(3, func(i int) error {
		j, err := co.Finish(b.ctx, got[i].Lock, store.Succeeded(nil))
		switch {
		case i == 1 && !errors.Is(err, store.ErrLockLost):
			return fmt.Errorf("stale holder's finish: got %v, want ErrLockLost", err)
		case i != 1 && err != nil:
			return fmt.Errorf("finish %d: %w", i, err)
		case i != 1 && j.Status != store.JobSucceeded:
			return fmt.Errorf("finish %d: job %s", i, j.Status)
		}
		return nil
	})
	requireNoErr(t, errors.Join(errs...), "finishes")
	requireEqual(t, current.Job, b.getJob(t, current.Job.ID), "the stale item's job")
	l, err := b.s.JobLocks.Get(b.ctx, current.Job.ClusterID)
	requireNoErr(t, err, "the new holder's lock")
	requireEqual(t, current.Lock, l, "the new holder's lock")
}

// testCoalesceLeaving: callers whose contexts end at once, while their
// Claims are queued or in flight, return ctx.Err() or a job; after Close,
// every job is RUNNING only if a caller got it, and otherwise runnable
// (PENDING, or RETRYING with code ErrCodeClaimAbandoned and a job.retry
// event by the process), never held by a lock nobody has.
func testCoalesceLeaving(t *testing.T, b *bundle) {
	const n = 12
	all := map[string]bool{}
	for range n {
		all[b.job(t, b.readyCluster(t).ID, store.JobPostConfigure).ID] = true
	}
	co, err := store.NewCoalescer(b.s, store.CoalescerOptions{})
	requireNoErr(t, err, "new coalescer")
	var mu sync.Mutex
	kept := map[string]bool{} // jobs a caller got
	errs := race(n, func(int) error {
		ctx, cancel := context.WithCancel(b.ctx)
		go cancel() // ends while the call is queued, in flight or done
		cl, err := co.Claim(ctx, store.ClaimParams{WorkerID: "proc", LockTTL: time.Hour})
		switch {
		case err == nil:
			mu.Lock()
			kept[cl.Job.ID] = true
			mu.Unlock()
		case errors.Is(err, context.Canceled), errors.Is(err, store.ErrNoJob):
		default:
			return fmt.Errorf("claim: %w", err)
		}
		return nil
	})
	requireNoErr(t, errors.Join(errs...), "claims")
	co.Close()
	st := co.Stats()
	t.Logf("coalescer: %+v", st)
	if st.AbandonFailures != 0 {
		t.Fatalf("stats %+v: an abandoned job could not be finished", st)
	}
	for id := range all {
		j := b.getJob(t, id)
		switch {
		case kept[id]:
			if j.Status != store.JobRunning {
				t.Errorf("job %s a caller got is %s, want RUNNING", id, j.Status)
			}
		case j.Status == store.JobPending:
		case j.Status == store.JobRetrying && j.ErrorCode != nil && *j.ErrorCode == store.ErrCodeClaimAbandoned:
			requireEqual(t, []string{store.ActionJobStart, store.ActionJobRetry}, b.auditActions(t, id),
				"abandoned job "+id+"'s audit")
			if _, err := b.s.JobLocks.Get(b.ctx, j.ClusterID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("abandoned job %s's cluster lock: got %v, want it released", id, err)
			}
		default:
			t.Errorf("job %s nobody got is %s (code %v), want PENDING or RETRYING %s",
				id, j.Status, j.ErrorCode, store.ErrCodeClaimAbandoned)
		}
	}
}
