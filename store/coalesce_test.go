package store_test

import (
	"context"
	"errors"
	"runtime"
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
