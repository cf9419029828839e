package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// The worker operations, each one write (one step, at one now): on its
// own it commits as a whole or not at all, and in a transaction it is part
// of it. Every other writer waits for it, so a claim never meets a lock
// taken since it looked.

// JobsClaim starts up to p.Max runnable jobs, failing the unstartable ones
// it meets (at most p.MaxRejects), round after round, so that a job behind
// a failed one on its cluster is found in the same call.
func (s executor) JobsClaim(ctx context.Context, p store.JobsClaimParams) ([]*store.Claimed, error) {
	var out []*store.Claimed
	err := s.via.write(ctx, func(v *dbView) error {
		now := s.b.now()
		out = nil
		events, rejects := 0, 0
		eventID := func() string { events++; return p.AuditIDs[events-1] }
		for len(out) < p.Max && rejects < p.MaxRejects {
			found := v.runnable(now, p.JobTypes, p.Max-len(out))
			if len(found) == 0 {
				return nil
			}
			for _, j := range found {
				cluster := v.clusters.get(j.ClusterID)
				to, ok := store.StartOf(j, cluster)
				if ok {
					c, err := s.start(v, p, j, cluster, to, eventID(), now)
					if err != nil {
						return err
					}
					out = append(out, c)
					continue
				}
				if rejects == p.MaxRejects {
					return nil
				}
				rejects++
				job, err := v.moveJob(j.ID, store.JobFailed, runnableStatuses, now,
					failed(store.ErrCodeInvalidTransition, store.RejectMessage(j, cluster), now))
				if err != nil {
					return err
				}
				e := store.JobAuditEvent(eventID(), p.WorkerID, store.ActionJobReject, job, nil, store.AuditFailure)
				if err := v.insertAudit(e, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

// start starts one runnable job of JobsClaim at now: the lock, the job,
// the cluster, the job.start event with ID eventID.
func (s executor) start(v *dbView, p store.JobsClaimParams, j *store.Job, cluster *store.Cluster, to store.ClusterStatus,
	eventID string, now time.Time) (*store.Claimed, error) {
	lock, err := s.grant(v, store.JobLockAcquireParams{ClusterID: cluster.ID, JobID: j.ID, TTL: p.LockTTL, WorkerID: p.WorkerID}, now)
	if err != nil {
		return nil, err
	}
	job, err := v.moveJob(j.ID, store.JobRunning, runnableStatuses, now, started(now))
	if err != nil {
		return nil, err
	}
	if to != cluster.Status {
		if cluster, err = v.moveCluster(cluster.ID, to, now); err != nil {
			return nil, err
		}
	}
	e := store.JobAuditEvent(eventID, p.WorkerID, store.ActionJobStart, job, lock, store.AuditSuccess)
	if err := v.insertAudit(e, now); err != nil {
		return nil, err
	}
	return &store.Claimed{Job: cloneJob(job), Cluster: cloneCluster(cluster), Lock: cloneLock(lock)}, nil
}

// JobsFinish checks every item first (the job, the fence, the cluster's
// move) and then writes, so a refused move changes nothing, in a
// transaction too.
func (s executor) JobsFinish(ctx context.Context, p store.JobsFinishParams) ([]store.JobsFinishResult, error) {
	var out []store.JobsFinishResult
	err := s.via.write(ctx, func(v *dbView) error {
		now := s.b.now()
		out = make([]store.JobsFinishResult, len(p.Items))
		ends := make([]store.JobEnding, len(p.Items))
		for i, it := range p.Items {
			j := v.jobs.get(it.Lock.JobID)
			if j == nil {
				out[i].Err = jobNotFound(it.Lock.JobID)
				continue
			}
			if j.Status != store.JobRunning || j.ClusterID != it.Lock.ClusterID || v.current(it.Lock) == nil {
				out[i].Err = fmt.Errorf("not running under the lock of cluster %s with token %d: %w",
					it.Lock.ClusterID, it.Lock.Token, store.ErrLockLost)
				continue
			}
			ends[i] = it.Ending(j)
			c := v.clusters.get(j.ClusterID)
			if to := ends[i].Cluster; to != "" && to != c.Status && !store.CanTransition(c.Status, to) {
				return fmt.Errorf("finish job %s: %w", j.ID,
					&store.TransitionError{Entity: "cluster", ID: c.ID, From: string(c.Status), To: string(to)})
			}
		}
		for i, it := range p.Items {
			if out[i].Err != nil {
				continue
			}
			job, err := s.end(v, it, ends[i], now)
			if err != nil {
				return err
			}
			out[i].Job = cloneJob(job)
		}
		return nil
	})
	return out, err
}

// end makes one checked item's writes at now: the fenced job write, the
// cluster's end status, the lock release, the audit event.
func (s executor) end(v *dbView, it store.JobsFinishItem, e store.JobEnding, now time.Time) (*store.Job, error) {
	var change func(*store.Job)
	switch e.Status {
	case store.JobSucceeded:
		change = succeeded(e.Metadata, now)
	case store.JobRetrying:
		change = retrying(e.Code, e.Message, e.RetryAfter, now)
	default:
		change = failed(e.Code, e.Message, now)
	}
	job, err := v.fencedJob(it.Lock, e.Status, now, change)
	if err != nil {
		return nil, err
	}
	if c := v.clusters.get(job.ClusterID); e.Cluster != "" && e.Cluster != c.Status {
		if _, err := v.moveCluster(c.ID, e.Cluster, now); err != nil {
			return nil, err
		}
	}
	v.locks.del(it.Lock.ClusterID)
	ev := store.JobAuditEvent(it.AuditID, it.Lock.LockedBy, e.Action, job, it.Lock, e.AuditStatus)
	return job, v.insertAudit(ev, now)
}
