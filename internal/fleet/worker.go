package fleet

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// Worker is one worker of a fleet process: Claim, KeepAlive, work, Finish,
// until told to stop, on a database that may fail over at any moment.
//
// Failures are handled by Classify's class:
//   - ClassUnavailable: pause (backoff) and call again;
//   - ClassUnknown from Claim: the claim may have committed. Claim writes a
//     job.start audit event, with the worker as actor and the token in its
//     metadata, in the claim's transaction, so the worker's newest
//     job.start event says: if it is not the grant the worker already knows,
//     the claim committed and that is its job. The worker adopts it if the
//     cluster's lock still carries that token and is its own (it goes on to
//     work and Finish), and logs it as lost otherwise (the lock expired and
//     the janitor or another worker took over);
//   - ClassUnknown from Finish: Finish writes a job.succeed, job.fail or
//     job.retry event with the token in the same transaction, so that event
//     says whether it applied. If it did not, Finish is called again with
//     the same lock. A second completion is impossible either way: Finish is
//     fenced, and the first one, had it applied, released the lock;
//   - store.ErrNotFound from Finish: the job is gone, which only a database
//     that lost acknowledged commits does (asynchronous replication): logged
//     as KindJobGone, nothing to finish;
//   - ClassUnexpected: logged (the checker counts these; a healthy run has
//     none). A Claim is tried again after a pause; a Finish is given up, and
//     the janitor recovers the job once its lock expires.
//
// The reconciling reads are retried until they succeed or the worker is
// killed: they run on the primary, which after a synchronous failover holds
// every committed transaction.
type Worker struct {
	ID      string        // unique across the fleet and its restarts: the lock holder and audit actor
	Store   *store.Store  // on the fleet's connection URL
	Log     *Log          // where acknowledgements go
	LockTTL time.Duration // the claims' lock TTL; KeepAlive extends every LockTTL/3
	// WorkMin and WorkMax bound the simulated work per job.
	WorkMin, WorkMax time.Duration
	// RetryRate is the share of jobs whose work "fails" transiently and is
	// finished with store.Retry (run again later, failed after MaxAttempts).
	RetryRate float64

	last *store.JobLock // the newest grant this worker knows about
}

// Run claims and runs jobs until stop ends, then returns once the job in
// hand is finished. Store calls run under ctx, which should outlive stop:
// cancelling ctx abandons the job in hand (its lock expires and the janitor
// requeues it).
func (w *Worker) Run(ctx, stop context.Context) {
	failures := 0
	for stop.Err() == nil && ctx.Err() == nil {
		call := now()
		c, err := w.Store.Claim(ctx, store.ClaimParams{WorkerID: w.ID, LockTTL: w.LockTTL})
		switch {
		case err == nil:
			failures = 0
			w.granted(c.Lock, c.Job.Attempt, call, false)
			w.run(ctx, c.Lock)
		case errors.Is(err, store.ErrNoJob):
			failures = 0
			sleep(stop, 20*time.Millisecond+rand.N(30*time.Millisecond))
		case ctx.Err() != nil:
			return
		default:
			class := w.failed("claim", err)
			if class == ClassUnknown {
				if lock := w.reconcileClaim(ctx, call); lock != nil {
					failures = 0
					w.run(ctx, lock)
					continue
				}
			}
			sleep(stop, backoff(failures))
			failures++
		}
	}
}

// granted records a grant and makes it the newest one the worker knows.
func (w *Worker) granted(l *store.JobLock, attempt int, call int64, recovered bool) {
	w.last = l
	w.Log.Add(Event{Kind: KindGrant, Worker: w.ID, Cluster: l.ClusterID, Job: l.JobID, Token: l.Token,
		Attempt: attempt, Recovered: recovered, Call: call, Ack: now()})
}

// run works on a granted job under a heartbeat and finishes it.
func (w *Worker) run(ctx context.Context, lock *store.JobLock) {
	hb, err := w.Store.KeepAlive(ctx, lock, w.LockTTL, 0)
	if err != nil { // only for bad arguments: a bug
		w.failed("keepalive", err)
		return
	}
	d := w.WorkMin
	if w.WorkMax > w.WorkMin {
		d += rand.N(w.WorkMax - w.WorkMin)
	}
	worked := sleep(hb.Context(), d)
	lock = hb.Stop()
	outcome := store.Succeeded(map[string]string{"worker": w.ID})
	switch {
	case !worked:
		// The heartbeat presumed the lock lost (or ctx ended): the work
		// stopped. Finish is fenced, so reporting it is safe either way.
		outcome = store.Retry("INTERRUPTED", "work interrupted: the lock was presumed lost", 100*time.Millisecond)
	case rand.Float64() < w.RetryRate:
		outcome = store.Retry("TRANSIENT", "simulated transient failure", 100*time.Millisecond)
	}
	w.finish(ctx, lock, outcome)
}

// finish calls Finish until it is acknowledged, refused, or found applied.
func (w *Worker) finish(ctx context.Context, lock *store.JobLock, o store.Outcome) {
	first := now()
	for failures := 0; ctx.Err() == nil; failures++ {
		call := now()
		job, err := w.Store.Finish(ctx, lock, o)
		switch {
		case err == nil:
			w.Log.Add(Event{Kind: KindFinish, Worker: w.ID, Cluster: lock.ClusterID, Job: lock.JobID, Token: lock.Token,
				Attempt: job.Attempt, Status: string(job.Status), Call: call, Ack: now()})
			return
		case errors.Is(err, store.ErrLockLost):
			w.Log.Add(Event{Kind: KindFinishRefused, Worker: w.ID, Cluster: lock.ClusterID, Job: lock.JobID,
				Token: lock.Token, Call: call, Ack: now()})
			return
		case errors.Is(err, store.ErrNotFound):
			w.Log.Add(Event{Kind: KindJobGone, Worker: w.ID, Cluster: lock.ClusterID, Job: lock.JobID,
				Token: lock.Token, Err: err.Error(), Call: call, Ack: now()})
			return
		case ctx.Err() != nil:
			return
		}
		switch w.failed("finish", err) {
		case ClassUnexpected:
			return // not a failover: repeating will not help; the janitor recovers the job
		case ClassUnknown:
			if status, applied := w.finishApplied(ctx, lock); applied {
				w.Log.Add(Event{Kind: KindFinish, Worker: w.ID, Cluster: lock.ClusterID, Job: lock.JobID,
					Token: lock.Token, Status: status, Recovered: true, Call: first, Ack: now()})
				return
			}
		}
		sleep(ctx, backoff(failures))
	}
}

// failed logs a failed call and returns its class.
func (w *Worker) failed(op string, err error) Class {
	c := Classify(err)
	w.Log.Add(Event{Kind: KindError, Worker: w.ID, Op: op, Class: c, Err: err.Error(), Call: now(), Ack: now()})
	return c
}
