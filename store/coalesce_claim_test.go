package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// How the Coalescer batches Claims, over gateBackend (see coalesce_test.go).

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
