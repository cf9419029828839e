package store_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/ocpctl/ocpstore/store"
)

// How the Coalescer batches Finishes, over gateBackend (see coalesce_test.go).

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
