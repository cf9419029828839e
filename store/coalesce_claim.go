package store

import (
	"context"
	"slices"
	"strconv"
	"strings"
)

// claimAnswer is what a coalesced Claim returns.
type claimAnswer struct {
	claimed *Claimed
	err     error
}

// claimQueue holds the waiting Claims of one ClaimParams.
type claimQueue struct {
	params  ClaimParams
	waiting []*waiter[claimAnswer]
	runners int // batch goroutines running this queue, at most MaxInFlight
}

// Claim is Store.Claim, coalesced with the concurrent Claims of equal
// params into one Store.ClaimMany (see Coalescer): it returns the oldest
// runnable job it could get for this caller, claimed for p.WorkerID, or
// ErrNoJob when the batch found fewer jobs than callers and none was left
// for it.
func (c *Coalescer) Claim(ctx context.Context, p ClaimParams) (*Claimed, error) {
	if err := c.s.checkCtx(ctx); err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key := claimKey(p)
	w := newWaiter[claimAnswer](ctx)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrCoalescerClosed
	}
	q := c.claims[key]
	if q == nil {
		p.JobTypes = slices.Clone(p.JobTypes)
		q = &claimQueue{params: p}
		c.claims[key] = q
	}
	q.waiting = append(q.waiting, w)
	if q.runners < c.inFlight {
		q.runners++
		c.running.Add(1)
		go c.runClaims(key, q)
	}
	c.mu.Unlock()
	a, ok := await(c, w, func() { q.waiting = without(q.waiting, w) })
	if !ok {
		return nil, ctx.Err()
	}
	return a.claimed, a.err
}

// claimKey is the identity of the params whose Claims may share a
// ClaimMany: the worker, the TTL and the set of job types.
func claimKey(p ClaimParams) string {
	types := make([]string, len(p.JobTypes))
	for i, t := range p.JobTypes {
		types[i] = string(t)
	}
	slices.Sort(types)
	types = slices.Compact(types)
	return strconv.Itoa(len(p.WorkerID)) + ":" + p.WorkerID + "|" + strconv.FormatInt(int64(p.LockTTL), 10) +
		"|" + strings.Join(types, ",")
}

// runClaims sends q's waiting Claims, up to MaxBatch a time, until q is
// empty, and then retires q unless another runner still runs it.
func (c *Coalescer) runClaims(key string, q *claimQueue) {
	defer c.running.Done()
	for {
		c.mu.Lock()
		n := min(len(q.waiting), c.max)
		if n == 0 {
			if q.runners--; q.runners == 0 {
				delete(c.claims, key)
			}
			c.mu.Unlock()
			return
		}
		batch := slices.Clone(q.waiting[:n])
		q.waiting = slices.Delete(q.waiting, 0, n)
		ctx, cancel := board(batch)
		c.mu.Unlock()

		c.stats.claimBatches.Add(1)
		c.stats.claims.Add(int64(n))
		got, err := c.s.ClaimMany(ctx, q.params, n)
		cancel()

		c.mu.Lock()
		spare := handOutClaims(q, batch, got, err)
		c.mu.Unlock()
		c.abandon(ctx, q.params, spare)
	}
}

// handOutClaims answers the batch's callers still waiting, in their
// order: a job each while there are jobs, then ErrNoJob (or the batch's
// error). Jobs of callers that left go to the callers queued for the next
// batch; it returns those nobody could take. Under Coalescer.mu.
func handOutClaims(q *claimQueue, batch []*waiter[claimAnswer], got []*Claimed, err error) (spare []*Claimed) {
	for _, w := range batch {
		switch {
		case w.state != waitFlying: // left
		case err != nil:
			w.give(claimAnswer{err: err})
		case len(got) > 0:
			w.give(claimAnswer{claimed: got[0]})
			got = got[1:]
		default:
			w.give(claimAnswer{err: ErrNoJob})
		}
	}
	for len(got) > 0 && len(q.waiting) > 0 {
		q.waiting[0].give(claimAnswer{claimed: got[0]})
		q.waiting, got = q.waiting[1:], got[1:]
	}
	return got
}

// abandon finishes the jobs claimed for callers that left, as a Retry with
// code ErrCodeClaimAbandoned, so they are runnable again at once. It uses
// the batch's values without its cancellation, for at most the lock's TTL
// (after which the lock has expired anyway).
func (c *Coalescer) abandon(ctx context.Context, p ClaimParams, jobs []*Claimed) {
	if len(jobs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.LockTTL)
	defer cancel()
	for _, cl := range jobs {
		c.stats.abandoned.Add(1)
		_, err := c.s.Finish(ctx, cl.Lock, Retry(ErrCodeClaimAbandoned,
			"claimed by the coalescer for a caller that had left", 0))
		if err != nil {
			c.stats.abandonFailures.Add(1)
		}
	}
}
