package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// The coalescer. A statement and a commit per job cannot keep up with a
// job queue such as River at eight workers (issue 11): River fetches for
// all its idle workers in one statement and completes in batches. The
// Coalescer does the same for workers that call Claim and Finish one job
// at a time, without changing what each call means: concurrent Claims go
// out as one ClaimMany, concurrent Finishes as one FinishMany, and each
// caller gets its own job or result.
//
// The shape is leader/follower, not a timer: a call that finds no batch of
// its kind in flight starts one at once (a lone caller waits for nothing
// but its own round trip), and calls arriving while a batch is in flight
// queue up and go out together, up to MaxBatch, as soon as it returns
// (with MaxInFlight n, as soon as fewer than n batches are in flight).
// Batches run on a goroutine of their own, which exits when its queue is
// empty, so a caller can always leave when its context ends.

// ErrCodeClaimAbandoned is the error code of a job the Coalescer claimed
// for a caller that had left (its context ended while the claim was in
// flight) and that no other waiting caller could take: the job is finished
// at once as a Retry with this code, so it is runnable again (an attempt
// is counted, as for any job whose worker gave up, and a job with no
// attempts left is failed), rather than held by a lock nobody heartbeats.
const ErrCodeClaimAbandoned = "CLAIM_ABANDONED"

// ErrCoalescerClosed: a Claim or Finish on a Coalescer after Close.
var ErrCoalescerClosed = errors.New("coalescer closed")

// CoalescerOptions configures a Coalescer.
type CoalescerOptions struct {
	// MaxBatch bounds how many calls one batch takes (the max of its
	// ClaimMany, the items of its FinishMany): 0 means MaxLimit, else
	// between 1 and MaxLimit.
	MaxBatch int
	// MaxInFlight bounds how many batches of one kind (the Claims of one
	// ClaimParams, the Finishes) are in flight at once: 0 means 1, the
	// River-like shape in which every call arriving during a batch waits
	// for the next. More lets a call start a batch of its own while
	// fewer are in flight: smaller batches, but more of the database's
	// connections and cores at work. At most MaxLimit.
	MaxInFlight int
}

// Coalescer combines the Claim and Finish calls that the workers of one
// process make concurrently into batches: the concurrent Claims with equal
// ClaimParams become one Store.ClaimMany, the concurrent Finishes one
// Store.FinishMany, each one backend call and one commit however many
// workers are waiting. Make one per process with NewCoalescer and share it
// among the workers; it is safe for concurrent use.
//
// Each call means exactly what the Store method of its name means, for its
// caller: its own job, lock, fencing token and audit events; a stale
// holder's Finish is refused with ErrLockLost while the batch's other
// items finish. Claims are coalesced only when their ClaimParams are equal
// (WorkerID, LockTTL and the set of JobTypes), because one ClaimMany
// records one WorkerID as every lock's LockedBy: give the workers of a
// process one WorkerID (the process's, as River names a client rather than
// its goroutines) and they coalesce, while each lock still names the
// process that holds it; workers with IDs of their own are recorded
// correctly but claim one by one.
//
// A caller whose context ends while it waits returns ctx.Err(). If its
// call was still queued, nothing was sent for it. If its Claim was in
// flight, the job claimed for it goes to another caller waiting for a
// claim with the same params, and when there is none it is finished at
// once as a Retry with code ErrCodeClaimAbandoned (see there), never left
// RUNNING under a lock nobody holds. If its Finish was in flight, the
// finish may have been written, as when a Store.Finish is interrupted. A
// batch is cancelled only when every caller in it has left; it runs with
// the values (not the deadline) of the context of its first caller.
//
// An Observer of the Store sees the batches (Store.ClaimMany,
// Store.FinishMany), not the calls. A Coalescer holds no goroutine while
// idle; Close refuses further calls and waits for the batches in flight.
type Coalescer struct {
	s        *Store
	max      int
	inFlight int // MaxInFlight

	mu       sync.Mutex
	closed   bool
	claims   map[string]*claimQueue // by claimKey
	finishes finishQueue
	running  sync.WaitGroup // the batch goroutines

	stats coalescerCounters
}

// NewCoalescer returns a Coalescer over s, which must not be bound to a
// transaction (a transaction's calls cannot be batched with other
// callers'): that is ErrInvalidArgument, as is a MaxBatch out of range.
func NewCoalescer(s *Store, opts CoalescerOptions) (*Coalescer, error) {
	if s == nil {
		return nil, invalid("store", "must not be nil")
	}
	if s.InTx() {
		return nil, invalid("store", "must not be bound to a transaction: a transaction's calls cannot be batched")
	}
	max := opts.MaxBatch
	if max == 0 {
		max = MaxLimit
	}
	if max < 1 || max > MaxLimit {
		return nil, invalid("max_batch", "must be 0 or between 1 and %d", MaxLimit)
	}
	inFlight := opts.MaxInFlight
	if inFlight == 0 {
		inFlight = 1
	}
	if inFlight < 1 || inFlight > MaxLimit {
		return nil, invalid("max_in_flight", "must be 0 or between 1 and %d", MaxLimit)
	}
	return &Coalescer{s: s, max: max, inFlight: inFlight, claims: map[string]*claimQueue{}}, nil
}

// Close refuses further calls with ErrCoalescerClosed and waits until the
// batches in flight and the calls already queued are done.
func (c *Coalescer) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.running.Wait()
}

// CoalescerStats counts what a Coalescer sent: batches and the calls they
// carried (Claims/ClaimBatches is the mean claim batch), and the jobs it
// finished as ErrCodeClaimAbandoned (AbandonFailures of them could not be
// finished and wait for their lock to expire).
type CoalescerStats struct {
	ClaimBatches    int64
	Claims          int64
	FinishBatches   int64
	Finishes        int64
	Abandoned       int64
	AbandonFailures int64
}

// coalescerCounters are the live CoalescerStats.
type coalescerCounters struct {
	claimBatches, claims, finishBatches, finishes, abandoned, abandonFailures atomic.Int64
}

// Stats returns the counters.
func (c *Coalescer) Stats() CoalescerStats {
	k := &c.stats
	return CoalescerStats{ClaimBatches: k.claimBatches.Load(), Claims: k.claims.Load(),
		FinishBatches: k.finishBatches.Load(), Finishes: k.finishes.Load(),
		Abandoned: k.abandoned.Load(), AbandonFailures: k.abandonFailures.Load()}
}

// waitState is where a waiting call is; it changes under Coalescer.mu.
type waitState int

const (
	waitQueued   waitState = iota // in its queue, not sent
	waitFlying                    // in a batch in flight
	waitAnswered                  // its answer is in its channel
	waitLeft                      // its caller returned ctx.Err()
)

// waiter is one call waiting for its answer R.
type waiter[R any] struct {
	ctx    context.Context
	state  waitState
	flight *flight
	answer chan R // buffered: answering never blocks
}

func newWaiter[R any](ctx context.Context) *waiter[R] {
	return &waiter[R]{ctx: ctx, answer: make(chan R, 1)}
}

// give answers w; under Coalescer.mu.
func (w *waiter[R]) give(r R) {
	w.state = waitAnswered
	w.answer <- r
}

// flight is one batch in flight: its context is cancelled when the last of
// its callers has left.
type flight struct {
	live   int
	cancel context.CancelFunc
}

// board marks the batch's waiters as flying in a new flight and returns
// its context: the first waiter's values, cancelled when all have left.
// Under Coalescer.mu.
func board[R any](batch []*waiter[R]) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(batch[0].ctx))
	f := &flight{live: len(batch), cancel: cancel}
	for _, w := range batch {
		w.state, w.flight = waitFlying, f
	}
	return ctx, cancel
}

// await waits for w's answer or the end of its context. ok is false when
// the caller left: then w was taken out of its queue by unqueue (if it
// was still queued) or left its flight.
func await[R any](c *Coalescer, w *waiter[R], unqueue func()) (r R, ok bool) {
	select {
	case r = <-w.answer:
		return r, true
	case <-w.ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch w.state {
	case waitAnswered: // answered meanwhile: the call is done, nothing lost
		return <-w.answer, true
	case waitQueued:
		unqueue()
	case waitFlying:
		w.flight.live--
		if w.flight.live == 0 {
			w.flight.cancel()
		}
	}
	w.state = waitLeft
	return r, false
}

// without returns q without w, keeping the order.
func without[T comparable](q []T, w T) []T {
	for i, x := range q {
		if x == w {
			return append(q[:i:i], q[i+1:]...)
		}
	}
	return q
}
