package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/ocpctl/ocpstore/store"
)

// tortureTTLs are the lock TTLs the workers ask for, on the ManualClock.
var tortureTTLs = []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}

// tortureMaxTTL is the longest of tortureTTLs: a clock move longer than it
// expires every lock a worker just took or extended.
const tortureMaxTTL = 3 * time.Second

// tortureOldLocks is how many locks a worker keeps after losing, releasing
// or abandoning them, to use again as a stale holder would.
const tortureOldLocks = 4

// tortureWorker is one goroutine of the run: a worker process that takes
// locks for jobs, heartbeats, writes its job fenced by its lock, releases or
// abandons locks, uses old (usually stale) locks, and moves the clock.
type tortureWorker struct {
	r    *tortureRun
	id   int
	name string       // the worker ID (LockedBy)
	s    *store.Store // the handle it works through
	rng  *rand.Rand
	lock *store.JobLock   // the lock it believes it holds, or nil
	old  []*store.JobLock // locks it held before

	ops   []porcupine.Operation // this round's operations
	moves []tortureMove         // this round's clock moves
}

// tortureMove is a clock move, for the visualization.
type tortureMove struct {
	stamp    int64
	from, to int64 // µs
}

// tortureAction is one thing a worker may do.
type tortureAction struct {
	weight int
	do     func(w *tortureWorker, ctx context.Context) error
}

// Actions and their weights, for a worker that holds a lock and for one
// that does not. They are tuned so that a run sees many grants, renewals,
// refusals, expiry takeovers and stale holders refused.
var (
	tortureHoldingActions = []tortureAction{
		{22, (*tortureWorker).extend},
		{15, (*tortureWorker).fenced},
		{15, (*tortureWorker).start},
		{8, (*tortureWorker).release},
		{8, (*tortureWorker).renew},
		{4, (*tortureWorker).acquireAny},
		{3, (*tortureWorker).abandon},
		{8, (*tortureWorker).stale},
		{6, (*tortureWorker).getLock},
		{4, (*tortureWorker).getJob},
		{5, (*tortureWorker).moveClock},
		{2, (*tortureWorker).deleteExpired},
	}
	tortureFreeActions = []tortureAction{
		{70, (*tortureWorker).acquireAny},
		{10, (*tortureWorker).stale},
		{8, (*tortureWorker).getLock},
		{4, (*tortureWorker).getJob},
		{5, (*tortureWorker).moveClock},
		{3, (*tortureWorker).deleteExpired},
	}
)

// step does one random action.
func (w *tortureWorker) step(ctx context.Context) error {
	actions := tortureFreeActions
	if w.lock != nil {
		actions = tortureHoldingActions
	}
	total := 0
	for _, a := range actions {
		total += a.weight
	}
	n := w.rng.IntN(total)
	for _, a := range actions {
		if n < a.weight {
			return a.do(w, ctx)
		}
		n -= a.weight
	}
	panic("unreachable")
}

// record runs call as one operation of the history: it stamps the call and
// the return and reads the clock before and after, so the model knows the
// window the backend's "now" fell in. An unexpected error ends the run.
func (w *tortureWorker) record(in tortureInput, call func() (tortureOutput, error)) (tortureOutput, error) {
	start := w.r.stamp.Add(1)
	in.lo = w.r.now()
	out, err := call()
	in.hi = w.r.now()
	end := w.r.stamp.Add(1)
	if err != nil {
		return out, fmt.Errorf("worker %s: %s on cluster %d: %w", w.name, in.kind, in.cluster, err)
	}
	w.ops = append(w.ops, porcupine.Operation{ClientId: w.id, Input: in, Call: start, Output: out, Return: end})
	return out, nil
}

// ttl picks a lock TTL.
func (w *tortureWorker) ttl() time.Duration { return tortureTTLs[w.rng.IntN(len(tortureTTLs))] }

// hold makes l the worker's lock, keeping the one it replaces as old.
func (w *tortureWorker) hold(l *store.JobLock) {
	if w.lock != nil && (w.lock.ClusterID != l.ClusterID || w.lock.Token != l.Token) {
		w.keep(w.lock)
	}
	w.lock = l
}

// drop forgets the worker's lock, keeping it as old.
func (w *tortureWorker) drop() {
	w.keep(w.lock)
	w.lock = nil
}

// keep adds l to the old locks, replacing a random one when full.
func (w *tortureWorker) keep(l *store.JobLock) {
	if len(w.old) < tortureOldLocks {
		w.old = append(w.old, l)
		return
	}
	w.old[w.rng.IntN(len(w.old))] = l
}

func (w *tortureWorker) acquireAny(ctx context.Context) error {
	return w.acquire(ctx, w.rng.IntN(len(w.r.clusters)), w.rng.IntN(w.r.cfg.JobsPerCluster))
}

// renew acquires the lock it holds again: a renewal, unless it was lost.
func (w *tortureWorker) renew(ctx context.Context) error {
	c, j := w.r.where(w.lock)
	return w.acquire(ctx, c, j)
}

func (w *tortureWorker) acquire(ctx context.Context, c, j int) error {
	ttl := w.ttl()
	cl := w.r.clusters[c]
	in := tortureInput{kind: tkAcquire, cluster: c, job: j, worker: w.id, ttl: ttl.Microseconds()}
	var l *store.JobLock
	out, err := w.record(in, func() (tortureOutput, error) {
		var err error
		l, err = w.s.JobLocks.Acquire(ctx, cl.id, cl.jobs[j], w.name, ttl)
		return w.r.lockOutput(c, l, err)
	})
	if err == nil && out.res == trOK {
		w.hold(l)
	}
	return err
}

func (w *tortureWorker) extend(ctx context.Context) error {
	out, err := w.extendWith(ctx, w.lock)
	switch {
	case err != nil:
	case out.res == trOK:
		w.lock = out.lockValue
	case out.res == trLost:
		w.drop()
	}
	return err
}

// tortureLockResult is a tortureOutput plus the lock the store returned.
type tortureLockResult struct {
	tortureOutput
	lockValue *store.JobLock
}

func (w *tortureWorker) extendWith(ctx context.Context, l *store.JobLock) (tortureLockResult, error) {
	ttl := w.ttl()
	in := w.r.lockInput(tkExtend, l)
	in.ttl = ttl.Microseconds()
	var got *store.JobLock
	out, err := w.record(in, func() (tortureOutput, error) {
		var err error
		got, err = w.s.JobLocks.Extend(ctx, l, ttl)
		return w.r.lockOutput(in.cluster, got, err)
	})
	return tortureLockResult{out, got}, err
}

func (w *tortureWorker) release(ctx context.Context) error {
	_, err := w.releaseWith(ctx, w.lock)
	if err == nil {
		w.drop() // released or lost: either way not held
	}
	return err
}

func (w *tortureWorker) releaseWith(ctx context.Context, l *store.JobLock) (tortureOutput, error) {
	return w.record(w.r.lockInput(tkRelease, l), func() (tortureOutput, error) {
		res, err := tortureResult(w.s.JobLocks.Release(ctx, l))
		return tortureOutput{res: res}, err
	})
}

// fenced writes the job with its lock; a refusal keeps the lock, which the
// next Extend tells about.
func (w *tortureWorker) fenced(ctx context.Context) error {
	_, err := w.fencedWith(ctx, w.lock)
	return err
}

func (w *tortureWorker) fencedWith(ctx context.Context, l *store.JobLock) (tortureOutput, error) {
	in := w.r.lockInput(tkFenced, l)
	return w.record(in, func() (tortureOutput, error) {
		j, err := w.s.Jobs.MarkRetry(ctx, l, "TORTURE", "retry by "+w.name, time.Second)
		return w.r.jobOutput(in.cluster, in.job, j, err)
	})
}

// start marks the job of its lock started (not fenced: Claim does it after
// Acquire, in the same transaction).
func (w *tortureWorker) start(ctx context.Context) error {
	c, j := w.r.where(w.lock)
	in := tortureInput{kind: tkStart, cluster: c, job: j, worker: w.id}
	_, err := w.record(in, func() (tortureOutput, error) {
		got, err := w.s.Jobs.MarkStarted(ctx, w.r.clusters[c].jobs[j])
		return w.r.jobOutput(c, j, got, err)
	})
	return err
}

// abandon walks away from the lock without releasing it: it expires.
func (w *tortureWorker) abandon(context.Context) error {
	w.drop()
	return nil
}

// stale uses an old lock (usually taken over, released or deleted since)
// for an Extend, a Release or a fenced write.
func (w *tortureWorker) stale(ctx context.Context) error {
	if len(w.old) == 0 {
		return w.getLock(ctx)
	}
	l := w.old[w.rng.IntN(len(w.old))]
	var err error
	switch w.rng.IntN(3) {
	case 0:
		_, err = w.extendWith(ctx, l)
	case 1:
		_, err = w.releaseWith(ctx, l)
	default:
		_, err = w.fencedWith(ctx, l)
	}
	return err
}

func (w *tortureWorker) getLock(ctx context.Context) error {
	c := w.rng.IntN(len(w.r.clusters))
	_, err := w.record(tortureInput{kind: tkGetLock, cluster: c, worker: w.id}, func() (tortureOutput, error) {
		l, err := w.s.JobLocks.Get(ctx, w.r.clusters[c].id)
		return w.r.lockOutput(c, l, err)
	})
	return err
}

func (w *tortureWorker) getJob(ctx context.Context) error {
	c, j := w.rng.IntN(len(w.r.clusters)), w.rng.IntN(w.r.cfg.JobsPerCluster)
	_, err := w.record(tortureInput{kind: tkGetJob, cluster: c, job: j, worker: w.id}, func() (tortureOutput, error) {
		got, err := w.s.Jobs.GetByID(ctx, w.r.clusters[c].jobs[j])
		return w.r.jobOutput(c, j, got, err)
	})
	return err
}

func (w *tortureWorker) deleteExpired(ctx context.Context) error {
	_, err := w.record(tortureInput{kind: tkDeleteExpired, cluster: -1, worker: w.id}, func() (tortureOutput, error) {
		n, err := w.s.JobLocks.ReleaseExpired(ctx)
		res, err := tortureResult(err)
		return tortureOutput{res: res, n: n}, err
	})
	return err
}

// moveClock moves the shared clock: usually a little, sometimes past every
// lock's expiry.
func (w *tortureWorker) moveClock(context.Context) error {
	d := time.Duration(1+w.rng.Int64N(int64(tortureTTLs[0]/2/time.Millisecond))) * time.Millisecond
	if w.rng.IntN(10) < 3 {
		d = tortureMaxTTL + time.Duration(w.rng.Int64N(int64(tortureMaxTTL/time.Millisecond)))*time.Millisecond
		w.r.pastTTL.Add(1)
	}
	stamp := w.r.stamp.Add(1)
	from := w.r.now()
	to := w.r.clock.Advance(d).Sub(w.r.base).Microseconds()
	w.moves = append(w.moves, tortureMove{stamp: stamp, from: from, to: to})
	return nil
}

// tortureResult maps a store error to the outcome the model knows; any
// other error is returned: the run cannot go on.
func tortureResult(err error) (tortureRes, error) {
	switch {
	case err == nil:
		return trOK, nil
	case errors.Is(err, store.ErrLockHeld):
		return trHeld, nil
	case errors.Is(err, store.ErrLockLost):
		return trLost, nil
	case errors.Is(err, store.ErrInvalidStateTransition):
		return trRefused, nil
	case errors.Is(err, store.ErrNotFound):
		return trNotFound, nil
	case errors.Is(err, store.ErrSerialization):
		return trAborted, nil
	}
	return 0, err
}
