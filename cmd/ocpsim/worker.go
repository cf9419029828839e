package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// janitorActor is the audit actor of the janitor's requeues.
const janitorActor = "janitor"

// worker is one member of the fleet: it claims a job, runs it under a
// heartbeat and finishes it, fenced by its lock's token.
type worker struct {
	id  string
	s   *store.Store
	cfg Config
	c   *counters
	rng *rand.Rand // work durations and backoffs; used by this worker's goroutine only
}

// newWorker returns worker number i (0-based) of the fleet.
func newWorker(i int, s *store.Store, cfg Config, c *counters) *worker {
	return &worker{id: fmt.Sprintf("worker-%d", i+1), s: s, cfg: cfg, c: c,
		rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)+1))}
}

// loop claims and runs jobs until claimCtx ends. Store calls run under ctx,
// so a job claimed before claimCtx ended is still run to its end.
func (w *worker) loop(ctx, claimCtx context.Context) {
	for claimCtx.Err() == nil {
		cl, err := w.s.Claim(ctx, store.ClaimParams{WorkerID: w.id, LockTTL: w.cfg.LockTTL})
		switch {
		case errors.Is(err, store.ErrNoJob):
			_ = sleepCtx(claimCtx, w.jitter(10*time.Millisecond, 30*time.Millisecond))
		case w.c.unavailable(err):
			// If the claim committed after all (store.ErrCommitUnknown),
			// nobody heartbeats its lock: it expires and the janitor
			// requeues the job.
			_ = sleepCtx(claimCtx, w.jitter(10*time.Millisecond, 30*time.Millisecond))
		case err != nil:
			if ctx.Err() == nil {
				w.c.fail(fmt.Errorf("%s: %w", w.id, err))
			}
			_ = sleepCtx(claimCtx, w.jitter(10*time.Millisecond, 30*time.Millisecond))
		default:
			w.c.claims.Add(1)
			w.run(ctx, cl)
		}
	}
}

// run runs one claimed job: the simulated work under the heartbeat's
// context, then Finish with the lock as last extended. The fault plan
// decides whether this run goes wrong, and how.
func (w *worker) run(ctx context.Context, cl *store.Claimed) {
	key, err := runKeyOf(cl.Job)
	if err != nil {
		// Not a job this simulation seeded: fail it rather than leave it
		// blocking its cluster, and fail the run.
		w.c.fail(err)
		if err := w.finish(ctx, cl.Lock, store.Failed("UNKNOWN_JOB", err.Error())); err != nil {
			w.c.fail(fmt.Errorf("%s: %w", w.id, err))
		}
		return
	}
	fault := w.cfg.Plan(key)

	// The job's context is the heartbeat's parent: cancelling it (the
	// FaultCancel case) also stops the heartbeat, so the lock expires.
	jobCtx, cancelJob := context.WithCancel(ctx)
	defer cancelJob()
	hb, err := w.s.KeepAlive(jobCtx, cl.Lock, w.cfg.LockTTL, 0)
	if err != nil {
		w.c.fail(fmt.Errorf("%s: keepalive: %w", w.id, err))
		return // the lock expires and the janitor requeues the job
	}
	work := w.jitter(w.cfg.WorkMin, w.cfg.WorkMax)
	switch fault {
	case FaultStall:
		w.stall(ctx, hb, cl, work)
		return
	case FaultCancel:
		w.c.cancels.Add(1)
		t := time.AfterFunc(work/2, cancelJob)
		defer t.Stop()
	}

	if err := sleepCtx(hb.Context(), work); err != nil {
		// Cancelled, or the heartbeat lost the lock: either way the run
		// stops here and must not finish the job; whoever holds the
		// cluster now (or the janitor) decides its fate.
		lost := hb.Lost()
		hb.Stop()
		if lost != nil {
			w.c.lockLost.Add(1)
		}
		return
	}
	lock := hb.Stop()
	outcome := store.Succeeded(map[string]string{"worker": w.id})
	if fault == FaultTransient {
		w.c.transient.Add(1)
		outcome = store.Retry("TRANSIENT", "simulated transient error", w.jitter(50*time.Millisecond, 150*time.Millisecond))
	}
	if err := w.finish(ctx, lock, outcome); err != nil {
		w.finishFailed(lock, cl, err)
	}
}

// finish is Finish, riding out an unavailable database: a Finish the error
// says was not applied is tried again; one that may have been
// (store.ErrCommitUnknown) is resolved by reading the cluster's lock back.
// If it no longer carries this run's token, the Finish committed (or the
// lock was lost meanwhile, and the job is no longer this worker's): either
// way there is nothing left to do.
func (w *worker) finish(ctx context.Context, lock *store.JobLock, o store.Outcome) error {
	for {
		_, err := w.s.Finish(ctx, lock, o)
		if !w.c.unavailable(err) {
			return err
		}
		if errors.Is(err, store.ErrCommitUnknown) {
			if held, err := w.holds(ctx, lock); err != nil || !held {
				return err
			}
		}
		if err := sleepCtx(ctx, retryPause); err != nil {
			return err
		}
	}
}

// holds reports whether lock's token is still its cluster's current one.
func (w *worker) holds(ctx context.Context, lock *store.JobLock) (bool, error) {
	var cur *store.JobLock
	err := retry(ctx, w.c, func() (err error) { cur, err = w.s.JobLocks.Get(ctx, lock.ClusterID); return err })
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && cur.Token == lock.Token, err
}

// stall is FaultStall: the worker does half its work, then its heartbeat
// stops (a GC pause, a frozen VM, a network partition) and it sleeps past
// the lock's expiry and until the cluster's lock is no longer its own: the
// janitor has requeued the job, and usually another worker has claimed it
// with a larger token. Its late Finish must then be refused.
func (w *worker) stall(ctx context.Context, hb *store.Heartbeat, cl *store.Claimed, work time.Duration) {
	w.c.stalls.Add(1)
	_ = sleepCtx(hb.Context(), work/2)
	lock := hb.Stop()
	if sleepCtx(ctx, w.cfg.LockTTL) != nil || !w.waitSuperseded(ctx, lock) {
		return
	}
	err := retry(ctx, w.c, func() error {
		_, err := w.s.Finish(ctx, lock, store.Succeeded(map[string]string{"worker": w.id}))
		return err
	})
	if errors.Is(err, store.ErrCommitUnknown) {
		return // refused or not, the verifier's hold check sees any write it let through
	}
	if err == nil {
		w.c.fail(fmt.Errorf("%s: late Finish of job %s with superseded token %d was accepted", w.id, lock.JobID, lock.Token))
		return
	}
	w.finishFailed(lock, cl, err)
}

// waitSuperseded polls until the cluster's lock row no longer carries
// lock's token. It returns false if ctx ends first.
func (w *worker) waitSuperseded(ctx context.Context, lock *store.JobLock) bool {
	for {
		var cur *store.JobLock
		err := retry(ctx, w.c, func() (err error) { cur, err = w.s.JobLocks.Get(ctx, lock.ClusterID); return err })
		switch {
		case errors.Is(err, store.ErrNotFound):
			return true
		case err != nil:
			if ctx.Err() == nil {
				w.c.fail(fmt.Errorf("%s: %w", w.id, err))
			}
			return false
		case cur.Token != lock.Token:
			return true
		}
		if sleepCtx(ctx, w.cfg.LockTTL/4) != nil {
			return false
		}
	}
}

// finishFailed handles a Finish that returned err: ErrLockLost is the
// fencing doing its job (recorded as a refusal); anything else is a failure
// of the run.
func (w *worker) finishFailed(lock *store.JobLock, cl *store.Claimed, err error) {
	if !errors.Is(err, store.ErrLockLost) {
		w.c.fail(fmt.Errorf("%s: %w", w.id, err))
		return
	}
	w.c.refuse(Refusal{Worker: w.id, JobID: lock.JobID, ClusterID: lock.ClusterID, ClusterName: cl.Cluster.Name,
		JobType: cl.Job.JobType, StaleToken: lock.Token, Err: err})
}

// jitter returns a random duration in [lo, hi].
func (w *worker) jitter(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(w.rng.Int64N(int64(hi-lo)+1))
}

// janitor recovers stuck jobs every interval until ctx ends: jobs whose
// worker stopped heartbeating are requeued (or failed once their attempts
// are used up) by store.RecoverStuck.
func janitor(ctx context.Context, s *store.Store, interval time.Duration, c *counters) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.RecoverStuck(ctx, janitorActor, 100)
		c.requeued.Add(int64(n))
		if err != nil && ctx.Err() == nil && !c.unavailable(err) { // else: the next round tries again
			c.fail(fmt.Errorf("janitor: %w", err))
		}
	}
}

// runKeyOf reads the seeded job's identity from its metadata.
func runKeyOf(j *store.Job) (RunKey, error) {
	ci, err1 := strconv.Atoi(j.Metadata[metaCluster])
	seq, err2 := strconv.Atoi(j.Metadata[metaSeq])
	if err := errors.Join(err1, err2); err != nil {
		return RunKey{}, fmt.Errorf("job %s was not seeded by this simulation: %w", j.ID, err)
	}
	return RunKey{Cluster: ci, Seq: seq, Attempt: j.Attempt}, nil
}

// sleepCtx sleeps for d or until ctx ends, then returning ctx's cause.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
