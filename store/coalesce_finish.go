package store

import (
	"context"
	"errors"
)

// finishAnswer is what a coalesced Finish returns; alone asks the caller
// to finish its item on its own (see splittable).
type finishAnswer struct {
	job   *Job
	err   error
	alone bool
}

// finishCall is one waiting Finish.
type finishCall struct {
	*waiter[finishAnswer]
	item Completion
}

// finishQueue holds the waiting Finishes.
type finishQueue struct {
	waiting []*finishCall
	runners int // batch goroutines running the queue, at most MaxInFlight
}

// Finish is Store.Finish, coalesced with the concurrent Finishes into one
// Store.FinishMany (see Coalescer). Each item is fenced on its own, so
// this caller gets its own job as written, or its own ErrLockLost or
// ErrNotFound, whatever the batch's other items get. An error of the
// whole batch (the database's) is every caller's; but a cluster
// transition the state machine refuses for one item, which FinishMany
// reports for the whole call, makes each caller of that batch finish its
// item on its own, so that only the item at fault gets the error, as
// with Store.Finish. Two Finishes of one job never share a batch.
func (c *Coalescer) Finish(ctx context.Context, lock *JobLock, o Outcome) (*Job, error) {
	if err := c.s.checkCtx(ctx); err != nil {
		return nil, err
	}
	if err := validateLock("lock", lock); err != nil {
		return nil, err
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	call := &finishCall{waiter: newWaiter[finishAnswer](ctx), item: Completion{Lock: lock, Outcome: o}}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrCoalescerClosed
	}
	q := &c.finishes
	q.waiting = append(q.waiting, call)
	if q.runners < c.inFlight {
		q.runners++
		c.running.Add(1)
		go c.runFinishes()
	}
	c.mu.Unlock()
	a, ok := await(c, call.waiter, func() { q.waiting = without(q.waiting, call) })
	switch {
	case !ok:
		return nil, ctx.Err()
	case a.alone:
		return c.s.Finish(ctx, lock, o)
	}
	return a.job, a.err
}

// runFinishes sends the waiting Finishes, up to MaxBatch a time, until
// none is left.
func (c *Coalescer) runFinishes() {
	defer c.running.Done()
	q := &c.finishes
	for {
		c.mu.Lock()
		batch := c.takeFinishes()
		if len(batch) == 0 {
			q.runners--
			c.mu.Unlock()
			return
		}
		waiters := make([]*waiter[finishAnswer], len(batch))
		items := make([]Completion, len(batch))
		for i, f := range batch {
			waiters[i], items[i] = f.waiter, f.item
		}
		ctx, cancel := board(waiters)
		c.mu.Unlock()

		c.stats.finishBatches.Add(1)
		c.stats.finishes.Add(int64(len(batch)))
		jobs, errs, err := c.s.FinishMany(ctx, items)
		cancel()

		c.mu.Lock()
		for i, w := range waiters {
			switch {
			case w.state != waitFlying: // left
			case err == nil:
				w.give(finishAnswer{job: jobs[i], err: errs[i]})
			case len(batch) > 1 && splittable(err):
				w.give(finishAnswer{alone: true})
			default:
				w.give(finishAnswer{err: err})
			}
		}
		c.mu.Unlock()
	}
}

// takeFinishes takes the next batch out of the queue: up to MaxBatch
// calls in their order, no job twice (a second Finish of a job waits for
// the next batch, where it meets the first one's result, as it would one
// after the other; with MaxInFlight above 1 it may meet the first one in
// flight, as concurrent Finishes do). Under Coalescer.mu.
func (c *Coalescer) takeFinishes() []*finishCall {
	q := &c.finishes
	var batch []*finishCall
	rest := q.waiting[:0]
	seen := make(map[string]bool, min(len(q.waiting), c.max))
	for _, f := range q.waiting {
		if len(batch) < c.max && !seen[f.item.Lock.JobID] {
			seen[f.item.Lock.JobID] = true
			batch = append(batch, f)
			continue
		}
		rest = append(rest, f)
	}
	clear(q.waiting[len(rest):])
	q.waiting = rest
	return batch
}

// splittable reports whether FinishMany's whole-call error err may belong
// to one item only, so that each item must be finished on its own to give
// it to that item alone: a cluster transition the state machine refused.
func splittable(err error) bool {
	return errors.Is(err, ErrInvalidStateTransition)
}
