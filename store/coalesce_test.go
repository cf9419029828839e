package store_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// These tests drive the Coalescer over gateBackend, whose JobsClaim and
// JobsFinish hand each call to the test and wait for its reply, so the
// test decides when a batch returns and sees every batch the Coalescer
// sends: what it proves is the batching itself (how many backend calls,
// with what, answered to whom). The semantics of the jobs are the
// conformance suite's (storetest/coalesce.go), on the real backends.

// gateBackend is a store.Backend whose JobsClaim and JobsFinish calls go
// to the test through channels; every other operation panics.
type gateBackend struct {
	claims   chan *gateClaim
	finishes chan *gateFinish
}

// gateClaim is one JobsClaim waiting for the test's reply.
type gateClaim struct {
	p     store.JobsClaimParams
	reply chan gateClaimReply
}

type gateClaimReply struct {
	got []*store.Claimed
	err error
}

// gateFinish is one JobsFinish waiting for the test's reply.
type gateFinish struct {
	p     store.JobsFinishParams
	reply chan gateFinishReply
}

type gateFinishReply struct {
	res []store.JobsFinishResult
	err error
}

func newGateBackend() *gateBackend {
	return &gateBackend{claims: make(chan *gateClaim), finishes: make(chan *gateFinish)}
}

func (*gateBackend) Name() string               { return "gate" }
func (g *gateBackend) Executor() store.Executor { return gateExecutor{g: g} }
func (*gateBackend) Begin(context.Context, store.TxOptions) (store.ExecutorTx, error) {
	return &refusingTx{}, nil
}

// gateExecutor panics (nil interface) on everything but the two worker
// operations. It waits for the test's reply whatever its context: the
// test always replies, and a reply after a cancellation stands for a
// commit that won the race.
type gateExecutor struct {
	store.Executor
	g *gateBackend
}

func (x gateExecutor) JobsClaim(_ context.Context, p store.JobsClaimParams) ([]*store.Claimed, error) {
	c := &gateClaim{p: p, reply: make(chan gateClaimReply, 1)}
	x.g.claims <- c
	r := <-c.reply
	return r.got, r.err
}

func (x gateExecutor) JobsFinish(_ context.Context, p store.JobsFinishParams) ([]store.JobsFinishResult, error) {
	f := &gateFinish{p: p, reply: make(chan gateFinishReply, 1)}
	x.g.finishes <- f
	r := <-f.reply
	return r.res, r.err
}

// coalesceBundle is a Coalescer over a gateBackend.
type coalesceBundle struct {
	t    *testing.T
	g    *gateBackend
	s    *store.Store
	co   *store.Coalescer
	ctx  context.Context
	wait sync.WaitGroup
}

func newCoalesceBundle(t *testing.T, opts store.CoalescerOptions) *coalesceBundle {
	t.Helper()
	g := newGateBackend()
	s := store.New(g)
	co, err := store.NewCoalescer(s, opts)
	if err != nil {
		t.Fatalf("NewCoalescer: %v", err)
	}
	b := &coalesceBundle{t: t, g: g, s: s, co: co, ctx: t.Context()}
	t.Cleanup(func() {
		b.wait.Wait()
		co.Close()
	})
	return b
}

// claimResult is what one caller's Claim returned.
type claimResult struct {
	caller int
	c      *store.Claimed
	err    error
}

// claim starts caller's Claim with p and ctx; its result arrives on out.
func (b *coalesceBundle) claim(ctx context.Context, caller int, p store.ClaimParams, out chan<- claimResult) {
	b.wait.Add(1)
	go func() {
		defer b.wait.Done()
		c, err := b.co.Claim(ctx, p)
		out <- claimResult{caller: caller, c: c, err: err}
	}()
}

// finishResult is what one caller's Finish returned.
type finishResult struct {
	lock *store.JobLock
	job  *store.Job
	err  error
}

func (b *coalesceBundle) finish(ctx context.Context, lock *store.JobLock, o store.Outcome, out chan<- finishResult) {
	b.wait.Add(1)
	go func() {
		defer b.wait.Done()
		j, err := b.co.Finish(ctx, lock, o)
		out <- finishResult{lock: lock, job: j, err: err}
	}()
}

// queued waits until n calls are queued behind the batch in flight.
func (b *coalesceBundle) queued(n int) {
	b.t.Helper()
	for store.CoalescerQueued(b.co) != n {
		if b.ctx.Err() != nil {
			b.t.Fatalf("waiting for %d queued calls: %v", n, b.ctx.Err())
		}
		runtime.Gosched()
	}
}

func claimParams(worker string) store.ClaimParams {
	return store.ClaimParams{WorkerID: worker, LockTTL: time.Minute,
		JobTypes: []store.JobType{store.JobPostConfigure, store.JobDestroy}}
}

// fakeClaimed makes n claimed jobs, each on a cluster of its own.
func fakeClaimed(n int, worker string) []*store.Claimed {
	out := make([]*store.Claimed, n)
	for i := range out {
		cl, job := store.NewID(store.PrefixCluster), store.NewID(store.PrefixJob)
		out[i] = &store.Claimed{Job: &store.Job{ID: job, ClusterID: cl, Status: store.JobRunning, Attempt: 1},
			Cluster: &store.Cluster{ID: cl},
			Lock:    &store.JobLock{ClusterID: cl, JobID: job, LockedBy: worker, Token: int64(i + 1)}}
	}
	return out
}

// TestCoalescerClaimsTogether: a lone Claim goes out at once as a
// ClaimMany of one; the Claims arriving while it is in flight go out
// together as one ClaimMany of as many, whose jobs are handed out one per
// caller, and the callers left without a job get ErrNoJob.
func TestCoalescerClaimsTogether(t *testing.T) {
	b := newCoalesceBundle(t, store.CoalescerOptions{})
	p := claimParams("proc-1")
	out := make(chan claimResult, 8)
	b.claim(b.ctx, 0, p, out)
	first := <-b.g.claims
	if first.p.Max != 1 || first.p.WorkerID != "proc-1" || first.p.LockTTL != time.Minute {
		t.Fatalf("lone claim sent %+v, want Max 1 for proc-1", first.p)
	}
	for i := 1; i <= 5; i++ {
		b.claim(b.ctx, i, p, out)
	}
	b.queued(5)
	first.reply <- gateClaimReply{got: fakeClaimed(1, "proc-1")}
	if r := <-out; r.caller != 0 || r.err != nil {
		t.Fatalf("lone caller got %+v", r)
	}
	second := <-b.g.claims
	if second.p.Max != 5 {
		t.Fatalf("the five queued claims went out with Max %d, want one ClaimMany of 5", second.p.Max)
	}
	jobs := fakeClaimed(3, "proc-1")
	second.reply <- gateClaimReply{got: jobs}
	seen := map[string]bool{}
	noJob := 0
	for range 5 {
		r := <-out
		switch {
		case errors.Is(r.err, store.ErrNoJob):
			noJob++
		case r.err != nil:
			t.Fatalf("caller %d: %v", r.caller, r.err)
		case seen[r.c.Job.ID]:
			t.Fatalf("job %s handed out twice", r.c.Job.ID)
		default:
			seen[r.c.Job.ID] = true
		}
	}
	if len(seen) != 3 || noJob != 2 {
		t.Fatalf("got %d jobs and %d ErrNoJob, want 3 and 2", len(seen), noJob)
	}
	b.wait.Wait()
	b.co.Close()
	if st := b.co.Stats(); st.ClaimBatches != 2 || st.Claims != 6 {
		t.Fatalf("stats %+v, want 2 claim batches of 6 claims", st)
	}
}

// TestCoalescerClaimsByParams: Claims with other params (another worker,
// TTL or set of job types) do not share a ClaimMany, which records one
// worker and TTL for all its locks; the same set of types in another order
// does.
func TestCoalescerClaimsByParams(t *testing.T) {
	b := newCoalesceBundle(t, store.CoalescerOptions{})
	out := make(chan claimResult, 8)
	p := claimParams("proc-1")
	b.claim(b.ctx, 0, p, out)
	lead := <-b.g.claims
	// Each of these finds no batch of its params in flight: each is sent
	// at once, while lead is still in flight.
	other := []store.ClaimParams{claimParams("proc-2"), {WorkerID: "proc-1", LockTTL: time.Hour, JobTypes: p.JobTypes},
		{WorkerID: "proc-1", LockTTL: time.Minute}}
	for i, q := range other {
		b.claim(b.ctx, i+1, q, out)
		c := <-b.g.claims
		if c.p.WorkerID != q.WorkerID || c.p.LockTTL != q.LockTTL || len(c.p.JobTypes) != len(q.JobTypes) {
			t.Fatalf("claim %d sent as %+v, want %+v", i+1, c.p, q)
		}
		c.reply <- gateClaimReply{}
		if r := <-out; !errors.Is(r.err, store.ErrNoJob) {
			t.Fatalf("claim %d: got %v, want ErrNoJob", i+1, r.err)
		}
	}
	// The same types in another order, with a duplicate, wait for lead.
	b.claim(b.ctx, 9, store.ClaimParams{WorkerID: "proc-1", LockTTL: time.Minute,
		JobTypes: []store.JobType{store.JobDestroy, store.JobPostConfigure, store.JobDestroy}}, out)
	b.queued(1)
	lead.reply <- gateClaimReply{}
	<-out
	next := <-b.g.claims
	if next.p.Max != 1 {
		t.Fatalf("queued claim sent with Max %d", next.p.Max)
	}
	next.reply <- gateClaimReply{}
	<-out
}

// TestCoalescerMaxBatch: a batch takes at most MaxBatch calls.
func TestCoalescerMaxBatch(t *testing.T) {
	b := newCoalesceBundle(t, store.CoalescerOptions{MaxBatch: 2})
	out := make(chan claimResult, 8)
	p := claimParams("proc-1")
	b.claim(b.ctx, 0, p, out)
	lead := <-b.g.claims
	for i := 1; i <= 4; i++ {
		b.claim(b.ctx, i, p, out)
	}
	b.queued(4)
	lead.reply <- gateClaimReply{}
	for range 2 {
		c := <-b.g.claims
		if c.p.Max != 2 {
			t.Fatalf("batch sent with Max %d, want 2", c.p.Max)
		}
		c.reply <- gateClaimReply{}
	}
	for range 5 {
		<-out
	}
}

// TestCoalescerMaxInFlight: with MaxInFlight 2, a Claim arriving while one
// batch is in flight starts a second at once; the next waits for either.
func TestCoalescerMaxInFlight(t *testing.T) {
	b := newCoalesceBundle(t, store.CoalescerOptions{MaxInFlight: 2})
	out := make(chan claimResult, 8)
	p := claimParams("proc-1")
	b.claim(b.ctx, 0, p, out)
	first := <-b.g.claims
	b.claim(b.ctx, 1, p, out)
	second := <-b.g.claims // sent while first is in flight
	for i := 2; i <= 4; i++ {
		b.claim(b.ctx, i, p, out)
	}
	b.queued(3)
	second.reply <- gateClaimReply{}
	<-out
	third := <-b.g.claims
	if first.p.Max != 1 || second.p.Max != 1 || third.p.Max != 3 {
		t.Fatalf("batches of %d, %d, %d claims, want 1, 1, 3", first.p.Max, second.p.Max, third.p.Max)
	}
	third.reply <- gateClaimReply{}
	first.reply <- gateClaimReply{}
	for range 4 {
		<-out
	}
}

// TestCoalescerQueuedClaimCancelled: a caller that leaves while queued
// gets ctx.Err() and nothing is sent for it.
func TestCoalescerQueuedClaimCancelled(t *testing.T) {
	b := newCoalesceBundle(t, store.CoalescerOptions{})
	out := make(chan claimResult, 8)
	p := claimParams("proc-1")
	b.claim(b.ctx, 0, p, out)
	lead := <-b.g.claims
	ctx, cancel := context.WithCancel(b.ctx)
	b.claim(ctx, 1, p, out)
	b.queued(1)
	cancel()
	if r := <-out; r.caller != 1 || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled queued caller got %+v, want context.Canceled", r)
	}
	lead.reply <- gateClaimReply{}
	<-out
	b.wait.Wait()
	b.co.Close() // would hang on a second batch, which nobody replies to
	if st := b.co.Stats(); st.ClaimBatches != 1 {
		t.Fatalf("%d claim batches, want 1: the cancelled caller's claim was sent", st.ClaimBatches)
	}
}

// TestCoalescerFlyingClaimHandedOver: a caller that leaves while its claim
// is in flight gets ctx.Err(), and the job claimed for it goes to a caller
// queued for the next batch, which needs no batch then.
func TestCoalescerFlyingClaimHandedOver(t *testing.T) {
	b := newCoalesceBundle(t, store.CoalescerOptions{})
	out := make(chan claimResult, 8)
	p := claimParams("proc-1")
	ctx, cancel := context.WithCancel(b.ctx)
	b.claim(ctx, 0, p, out)
	lead := <-b.g.claims
	cancel()
	if r := <-out; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled flying caller got %+v, want context.Canceled", r)
	}
	b.claim(b.ctx, 1, p, out)
	b.queued(1)
	job := fakeClaimed(1, "proc-1")
	lead.reply <- gateClaimReply{got: job}
	if r := <-out; r.caller != 1 || r.err != nil || r.c != job[0] {
		t.Fatalf("queued caller got %+v, want the job claimed for the one that left", r)
	}
	b.wait.Wait()
	b.co.Close()
	if st := b.co.Stats(); st.ClaimBatches != 1 || st.Abandoned != 0 {
		t.Fatalf("stats %+v, want one claim batch and nothing abandoned", st)
	}
}

// TestCoalescerFlyingClaimAbandoned: when nobody can take the job claimed
// for a caller that left, the job is finished at once as a Retry with
// code ErrCodeClaimAbandoned, fenced by its lock.
func TestCoalescerFlyingClaimAbandoned(t *testing.T) {
	b := newCoalesceBundle(t, store.CoalescerOptions{})
	out := make(chan claimResult, 1)
	ctx, cancel := context.WithCancel(b.ctx)
	b.claim(ctx, 0, claimParams("proc-1"), out)
	lead := <-b.g.claims
	cancel()
	if r := <-out; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled caller got %+v", r)
	}
	job := fakeClaimed(1, "proc-1")
	lead.reply <- gateClaimReply{got: job} // the claim committed before it saw the cancellation
	f := <-b.g.finishes
	if len(f.p.Items) != 1 {
		t.Fatalf("abandon finished %d items", len(f.p.Items))
	}
	it := f.p.Items[0]
	if it.Lock != job[0].Lock || it.Status != store.JobRetrying || it.Code != store.ErrCodeClaimAbandoned || it.RetryAfter != 0 {
		t.Fatalf("abandoned job finished as %+v, want a Retry now with code %s under its lock", it, store.ErrCodeClaimAbandoned)
	}
	f.reply <- gateFinishReply{res: []store.JobsFinishResult{{Job: job[0].Job}}}
	b.co.Close()
	if st := b.co.Stats(); st.Abandoned != 1 || st.AbandonFailures != 0 {
		t.Fatalf("stats %+v, want one job abandoned", st)
	}
}

// TestCoalescerFinishesTogether: the Finishes arriving while one is in
// flight go out as one FinishMany; each caller gets its own item's job or
// error (a stale holder's ErrLockLost does not touch the others).
func TestCoalescerFinishesTogether(t *testing.T) {
	b := newCoalesceBundle(t, store.CoalescerOptions{})
	jobs := fakeClaimed(5, "proc-1")
	out := make(chan finishResult, 8)
	b.finish(b.ctx, jobs[0].Lock, store.Succeeded(nil), out)
	lead := <-b.g.finishes
	if len(lead.p.Items) != 1 {
		t.Fatalf("lone finish sent %d items", len(lead.p.Items))
	}
	for _, j := range jobs[1:] {
		b.finish(b.ctx, j.Lock, store.Failed("E", "m"), out)
	}
	b.queued(4)
	lead.reply <- gateFinishReply{res: []store.JobsFinishResult{{Job: jobs[0].Job}}}
	if r := <-out; r.err != nil || r.job != jobs[0].Job {
		t.Fatalf("lone finish got %+v", r)
	}
	batch := <-b.g.finishes
	if len(batch.p.Items) != 4 {
		t.Fatalf("the four queued finishes went out as %d items, want one FinishMany of 4", len(batch.p.Items))
	}
	stale := batch.p.Items[2].Lock.JobID
	res := make([]store.JobsFinishResult, 4)
	for i, it := range batch.p.Items {
		if it.Status != store.JobFailed || it.Code != "E" {
			t.Fatalf("item %d is %+v, want its caller's outcome", i, it)
		}
		if it.Lock.JobID == stale {
			res[i].Err = fmt.Errorf("fenced: %w", store.ErrLockLost)
		} else {
			res[i].Job = &store.Job{ID: it.Lock.JobID}
		}
	}
	batch.reply <- gateFinishReply{res: res}
	for range 4 {
		r := <-out
		switch {
		case r.lock.JobID == stale:
			if !errors.Is(r.err, store.ErrLockLost) {
				t.Fatalf("stale holder got %v, want ErrLockLost", r.err)
			}
		case r.err != nil || r.job == nil || r.job.ID != r.lock.JobID:
			t.Fatalf("finish of %s got %+v, want its own job", r.lock.JobID, r)
		}
	}
}

// TestCoalescerFinishSameJobApart: two Finishes of one job never share a
// batch (FinishMany refuses a job twice): the second waits for the next.
func TestCoalescerFinishSameJobApart(t *testing.T) {
	b := newCoalesceBundle(t, store.CoalescerOptions{})
	jobs := fakeClaimed(3, "proc-1")
	out := make(chan finishResult, 8)
	b.finish(b.ctx, jobs[0].Lock, store.Succeeded(nil), out)
	lead := <-b.g.finishes
	b.finish(b.ctx, jobs[1].Lock, store.Succeeded(nil), out)
	b.queued(1)
	b.finish(b.ctx, jobs[1].Lock, store.Succeeded(nil), out)
	b.queued(2)
	b.finish(b.ctx, jobs[2].Lock, store.Succeeded(nil), out)
	b.queued(3)
	lead.reply <- gateFinishReply{res: []store.JobsFinishResult{{Job: jobs[0].Job}}}
	var sizes []int
	for range 2 {
		f := <-b.g.finishes
		sizes = append(sizes, len(f.p.Items))
		res := make([]store.JobsFinishResult, len(f.p.Items))
		for i := range res {
			res[i].Job = &store.Job{}
		}
		f.reply <- gateFinishReply{res: res}
	}
	if !slices.Equal(sizes, []int{2, 1}) {
		t.Fatalf("batches of %v items, want [2 1]: the job's second finish must wait", sizes)
	}
	for range 4 {
		<-out
	}
}

// TestCoalescerFinishErrors: a whole-call error of the database goes to
// every caller of the batch; a refused cluster transition, which may be
// one item's, makes each caller finish its item alone, so only that item
// gets it.
func TestCoalescerFinishErrors(t *testing.T) {
	b := newCoalesceBundle(t, store.CoalescerOptions{})
	jobs := fakeClaimed(4, "proc-1")
	out := make(chan finishResult, 8)
	b.finish(b.ctx, jobs[0].Lock, store.Succeeded(nil), out)
	lead := <-b.g.finishes
	for _, j := range jobs[1:] {
		b.finish(b.ctx, j.Lock, store.Succeeded(nil), out)
	}
	b.queued(3)
	down := fmt.Errorf("dial: %w", store.ErrUnavailable)
	lead.reply <- gateFinishReply{err: down}
	if r := <-out; !errors.Is(r.err, store.ErrUnavailable) {
		t.Fatalf("lone finish got %v, want ErrUnavailable", r.err)
	}
	batch := <-b.g.finishes
	refused := batch.p.Items[1].Lock.JobID
	batch.reply <- gateFinishReply{err: &store.TransitionError{Entity: "cluster", ID: "x", From: "A", To: "B"}}
	for range 3 { // each item again, alone
		f := <-b.g.finishes
		if len(f.p.Items) != 1 {
			t.Fatalf("after a refused transition, an item went out with %d others", len(f.p.Items)-1)
		}
		if f.p.Items[0].Lock.JobID == refused {
			f.reply <- gateFinishReply{err: &store.TransitionError{Entity: "cluster", ID: "x", From: "A", To: "B"}}
		} else {
			f.reply <- gateFinishReply{res: []store.JobsFinishResult{{Job: &store.Job{ID: f.p.Items[0].Lock.JobID}}}}
		}
	}
	for range 3 {
		r := <-out
		if r.lock.JobID == refused {
			if !errors.Is(r.err, store.ErrInvalidStateTransition) {
				t.Fatalf("item at fault got %v", r.err)
			}
		} else if r.err != nil {
			t.Fatalf("finish of %s got %v, want its job: the refusal was another item's", r.lock.JobID, r.err)
		}
	}
}

// TestCoalescerRefuses: a transaction-bound Store, a bad MaxBatch, bad
// input (before the backend, which the gate would hang on) and calls after
// Close are refused.
func TestCoalescerRefuses(t *testing.T) {
	ctx := t.Context()
	s := store.New(newGateBackend())
	err := s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
		_, err := store.NewCoalescer(tx, store.CoalescerOptions{})
		if !isInvalid(err, "store") {
			t.Errorf("NewCoalescer on a transaction-bound Store: got %v, want ErrInvalidArgument for \"store\"", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{-1, store.MaxLimit + 1} {
		if _, err := store.NewCoalescer(s, store.CoalescerOptions{MaxBatch: n}); !isInvalid(err, "max_batch") {
			t.Errorf("MaxBatch %d: got %v", n, err)
		}
	}
	for _, n := range []int{-1, store.MaxLimit + 1} {
		if _, err := store.NewCoalescer(s, store.CoalescerOptions{MaxInFlight: n}); !isInvalid(err, "max_in_flight") {
			t.Errorf("MaxInFlight %d: got %v", n, err)
		}
	}
	co, err := store.NewCoalescer(s, store.CoalescerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := co.Claim(ctx, store.ClaimParams{LockTTL: time.Minute}); !isInvalid(err, "worker_id") {
		t.Errorf("Claim without a worker: got %v", err)
	}
	if _, err := co.Finish(ctx, nil, store.Succeeded(nil)); !isInvalid(err, "lock") {
		t.Errorf("Finish without a lock: got %v", err)
	}
	lock := fakeClaimed(1, "w")[0].Lock
	if _, err := co.Finish(ctx, lock, store.Retry("E", "m", time.Nanosecond)); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("Finish with a bad outcome: got %v", err)
	}
	err = s.WithTx(ctx, func(txCtx context.Context, _ *store.Store) error {
		if _, err := co.Claim(txCtx, claimParams("w")); !isInvalid(err, "store") {
			t.Errorf("Claim with the context of the Store's live transaction: got %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	co.Close()
	if _, err := co.Claim(ctx, claimParams("w")); !errors.Is(err, store.ErrCoalescerClosed) {
		t.Errorf("Claim after Close: got %v", err)
	}
	if _, err := co.Finish(ctx, lock, store.Succeeded(nil)); !errors.Is(err, store.ErrCoalescerClosed) {
		t.Errorf("Finish after Close: got %v", err)
	}
}
