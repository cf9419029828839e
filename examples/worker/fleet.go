package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// lockTTL is how long a cluster lock lives without a heartbeat, and
// retryPause the pause after store.ErrNoJob or store.ErrUnavailable.
const lockTTL, retryPause = time.Second, 50 * time.Millisecond

// processID is the WorkerID of every worker of this process: the
// Coalescer batches only Claims with equal params, and each lock then
// names the process that holds it.
const processID = "examples-worker"

// fleet is what the producer, the workers and the janitor share.
type fleet struct {
	s    *store.Store
	co   *store.Coalescer        // the workers' Claim and Finish, batched
	stop context.CancelCauseFunc // ends the claiming, saying why

	claims, retries, lost, requeued  atomic.Int64 // for the report
	unavailableErrs, unknownOutcomes atomic.Int64 // ErrUnavailable ridden out; of them, ErrCommitUnknown
}

// jobTypes are the jobs queued for each cluster, run in this order.
var jobTypes = []store.JobType{store.JobCreate, store.JobHibernate, store.JobResume, store.JobDestroy}

// queued is a cluster the producer queued, with its jobs' IDs in order.
type queued struct {
	id, name string
	jobs     []string
}

// produce queues n clusters as the control plane's API would: a cluster and
// its jobs in one transaction, so all of it exists or none of it does. The
// IDs are chosen first, so that a read tells whether a commit of unknown
// outcome was applied.
func (f *fleet) produce(ctx context.Context, n int) []queued {
	var out []queued
	for range n {
		q := queued{id: store.NewID(store.PrefixCluster)}
		q.name = "example-" + q.id[len(q.id)-8:]
		for range jobTypes {
			q.jobs = append(q.jobs, store.NewID(store.PrefixJob))
		}
		err := f.write(ctx, func() error {
			return f.s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
				err := tx.Clusters.Create(ctx, &store.Cluster{ID: q.id, Name: q.name, Platform: store.PlatformAWS,
					Version: "4.16.3", Profile: "aws-standard", Region: "us-east-1", Owner: "dev@example.com",
					Team: "example", CostCenter: "cc-1", RequestedBy: "producer", TTLHours: 24})
				for i, t := range jobTypes {
					if err == nil {
						err = tx.Jobs.Create(ctx, &store.Job{ID: q.jobs[i], ClusterID: q.id, JobType: t})
					}
				}
				return err
			})
		}, func() (bool, error) {
			_, err := f.s.Clusters.GetByID(ctx, q.id)
			if errors.Is(err, store.ErrNotFound) {
				return false, nil
			}
			return err == nil, err
		})
		if err != nil {
			f.stop(fmt.Errorf("queue %s: %w", q.name, err))
			return out
		}
		out = append(out, q)
	}
	return out
}

// allTerminal reports whether every job of q is SUCCEEDED or FAILED.
func (f *fleet) allTerminal(ctx context.Context, q queued) bool {
	jobs, _, err := f.s.Jobs.List(ctx, store.JobFilters{ClusterID: &q.id})
	if err != nil && !f.unavailable(err) {
		f.stop(fmt.Errorf("list jobs: %w", err))
	}
	return err == nil && !slices.ContainsFunc(jobs, func(j *store.Job) bool { return !j.Status.Terminal() })
}

// worker claims and runs jobs until claiming ends. Its store calls run
// under work, so a job claimed just before is still run to its end. Claim
// here and Finish in finish are the only calls that take and complete
// jobs; both go through the Coalescer, which sends the workers' concurrent
// calls as one ClaimMany and one FinishMany.
func (f *fleet) worker(work, claiming context.Context, id string) {
	for claiming.Err() == nil {
		c, err := f.co.Claim(work, store.ClaimParams{WorkerID: processID, LockTTL: lockTTL})
		switch {
		case err == nil:
			f.claims.Add(1)
			f.runJob(work, c)
		case errors.Is(err, store.ErrNoJob):
			_ = pause(claiming, retryPause) // nothing runnable now
		case f.unavailable(err):
			// A claim of unknown outcome that did commit has nobody to
			// heartbeat its lock: it expires, and the janitor requeues the job.
			_ = pause(claiming, retryPause)
		default:
			f.stop(fmt.Errorf("%s: claim: %w", id, err))
		}
	}
}

// runJob works one claimed job under a heartbeat, then finishes it.
func (f *fleet) runJob(ctx context.Context, c *store.Claimed) {
	// The heartbeat extends the lock every lockTTL/3 and cancels
	// hb.Context() if the lock is lost.
	hb, err := f.s.KeepAlive(ctx, c.Lock, lockTTL, 0)
	if err != nil {
		f.stop(fmt.Errorf("keepalive: %w", err))
		return
	}
	workErr := provision(hb.Context(), c.Cluster, c.Job)
	lock := hb.Stop() // the lock as last extended
	if hb.Lost() != nil {
		f.lost.Add(1) // the job is someone else's now: do not Finish it
		return
	}
	outcome := store.Succeeded(nil)
	if workErr != nil {
		f.retries.Add(1)
		outcome = store.Retry("PROVISION_ERROR", workErr.Error(), retryPause) // FAILED once out of attempts
	}
	f.finish(ctx, lock, outcome)
}

// provision stands in for the real work (a cloud's API, an installer): a
// short pause that fails transiently one time in ten, cut short if ctx ends.
func provision(ctx context.Context, _ *store.Cluster, _ *store.Job) error {
	if err := pause(ctx, time.Duration(10+rand.IntN(40))*time.Millisecond); err != nil {
		return err
	}
	if rand.IntN(10) == 0 {
		return errors.New("the cloud's API timed out")
	}
	return nil
}

// finish is Finish, fenced by the lock's token. If its outcome is unknown,
// the cluster's lock is read back: Finish releases it in the same
// transaction, so if it still carries this token the Finish was not
// applied and is tried again; if not, it was (or the lock was lost
// meanwhile): a job is never finished twice.
func (f *fleet) finish(ctx context.Context, lock *store.JobLock, o store.Outcome) {
	err := f.write(ctx, func() error { _, err := f.co.Finish(ctx, lock, o); return err }, func() (bool, error) {
		cur, err := f.s.JobLocks.Get(ctx, lock.ClusterID)
		if errors.Is(err, store.ErrNotFound) {
			return true, nil
		}
		return err == nil && cur.Token != lock.Token, err
	})
	if errors.Is(err, store.ErrLockLost) {
		f.lost.Add(1) // another holder has the cluster now, and nothing changed
	} else if err != nil {
		f.stop(fmt.Errorf("finish job %s: %w", lock.JobID, err))
	}
}

// write runs a write, riding out an unavailable database: after
// store.ErrUnavailable it was not applied, and runs again; after
// store.ErrCommitUnknown it may have been, and applied (a read) decides.
func (f *fleet) write(ctx context.Context, write func() error, applied func() (bool, error)) error {
	for {
		err := write()
		if !f.unavailable(err) {
			return err
		}
		if errors.Is(err, store.ErrCommitUnknown) {
			var done bool
			if err := f.retry(ctx, func() (err error) { done, err = applied(); return err }); err != nil || done {
				return err
			}
		}
		if err := pause(ctx, retryPause); err != nil {
			return err
		}
	}
}

// janitor recovers stuck jobs every lockTTL/2 until ctx ends.
func (f *fleet) janitor(ctx context.Context) {
	for pause(ctx, lockTTL/2) == nil {
		n, err := f.s.RecoverStuck(ctx, "janitor", 100)
		f.requeued.Add(int64(n))
		if err != nil && ctx.Err() == nil && !f.unavailable(err) { // unavailable: try next round
			f.stop(fmt.Errorf("janitor: %w", err))
		}
	}
}

// unavailable reports whether err is store.ErrUnavailable, counting it.
func (f *fleet) unavailable(err error) bool {
	if !errors.Is(err, store.ErrUnavailable) {
		return false
	}
	f.unavailableErrs.Add(1)
	if errors.Is(err, store.ErrCommitUnknown) {
		f.unknownOutcomes.Add(1)
	}
	return true
}

// retry runs read until it returns anything but store.ErrUnavailable, or
// ctx ends.
func (f *fleet) retry(ctx context.Context, read func() error) error {
	for {
		if err := read(); !f.unavailable(err) {
			return err
		}
		if err := pause(ctx, retryPause); err != nil {
			return err
		}
	}
}

// pause sleeps for d, or until ctx ends and then returns why.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
