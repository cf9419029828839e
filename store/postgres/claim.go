package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ocpctl/ocpstore/store"
)

// The worker operations, each in one transaction (the caller's, or a short
// one of its own; see conn.atomically), of a few set-based statements
// (batch.go) whatever the number of jobs. The lock order is the package's:
// lockRunnableSQL locks the job and cluster rows (skipping locked ones, so
// it never waits), then the lock rows are taken in cluster order; a finish
// locks its clusters in ID order before its lock rows.

// JobsClaim claims in rounds: each locks as many runnable jobs as are still
// wanted, fails the unstartable ones (Cancel and a job.reject event each)
// and starts the rest in one statement, then logs their events in one. A
// job that was failed, or whose cluster another holder locked since
// lockRunnableSQL looked, is a miss; after p.MaxRejects misses the call
// returns what it has. A round after a failed job finds the job behind it
// on its cluster.
//
// An idle fleet's claims find nothing, and a transaction costs three
// round trips (BEGIN, the claim query, COMMIT) to learn it. So while the
// backend's last claim through the pool found no job (of any types), a
// claim first asks anyRunnableSQL, in one round trip that locks nothing,
// and returns empty when it says no; a claim that finds jobs turns the
// probe off again, so a busy queue pays for it only after a claim that
// found nothing. (The probe's answer is a snapshot, as the claim query's
// is: a job that becomes runnable just after it is found by the next
// claim.)
func (s executor) JobsClaim(ctx context.Context, p store.JobsClaimParams) ([]*store.Claimed, error) {
	if s.queueSeenEmpty != nil && s.queueSeenEmpty.Load() {
		var runnable bool
		err := s.q.QueryRow(ctx, anyRunnableSQL.sql, anyRunnableSQL.args(pgx.NamedArgs{"now": s.now(),
			"types": claimTypes(p.JobTypes)})...).Scan(&runnable)
		if err != nil {
			return nil, mapError(ctx, err, "look for runnable jobs")
		}
		if !runnable {
			return nil, nil
		}
	}
	var claimed []*store.Claimed
	err := s.atomically(ctx, func(c conn) error {
		tx := executor{c}
		claimed = nil
		ids := p.AuditIDs
		nextID := func() string { id := ids[0]; ids = ids[1:]; return id }
		for misses := 0; len(claimed) < p.Max && misses < p.MaxRejects; {
			cands, err := tx.JobsLockRunnable(ctx, store.RunnableQuery{JobTypes: p.JobTypes, Limit: p.Max - len(claimed)})
			if err != nil || len(cands) == 0 {
				return err
			}
			starts := make([]jobStart, 0, len(cands))
			for _, r := range cands {
				to, ok := store.StartOf(r.Job, r.Cluster)
				if ok {
					starts = append(starts, jobStart{job: r.Job, cluster: r.Cluster, to: to})
					continue
				}
				if err := tx.reject(ctx, r, p.WorkerID, nextID()); err != nil {
					return err
				}
				misses++
			}
			if len(starts) == 0 {
				continue
			}
			got, err := tx.startJobs(ctx, p.WorkerID, p.LockTTL, starts)
			if err != nil {
				return err
			}
			events := make([]*store.AuditEvent, 0, len(got))
			for _, c := range got {
				if c == nil {
					misses++
					continue
				}
				claimed = append(claimed, c)
				events = append(events, store.JobAuditEvent(nextID(), p.WorkerID, store.ActionJobStart, c.Job, c.Lock, store.AuditSuccess))
			}
			if len(events) > 0 {
				if err := tx.logEvents(ctx, events); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.queueSeenEmpty != nil {
		s.queueSeenEmpty.Store(len(claimed) == 0)
	}
	return claimed, nil
}

// reject fails a runnable job its cluster's status does not let start, so
// that it does not block the cluster, and logs the job.reject event.
func (s executor) reject(ctx context.Context, r store.Runnable, actor, eventID string) error {
	job, err := s.JobCancel(ctx, r.Job.ID, store.ErrCodeInvalidTransition, store.RejectMessage(r.Job, r.Cluster))
	if err != nil {
		return err
	}
	return s.AuditInsert(ctx, store.JobAuditEvent(eventID, actor, store.ActionJobReject, job, nil, store.AuditFailure))
}

// JobsFinish reads the jobs in one statement, decides each end
// (JobsFinishItem.Ending), makes the fenced writes, cluster moves and lock
// releases in one (after locking the clusters in another), and logs the
// events in one.
func (s executor) JobsFinish(ctx context.Context, p store.JobsFinishParams) ([]store.JobsFinishResult, error) {
	var out []store.JobsFinishResult
	err := s.atomically(ctx, func(c conn) error {
		tx := executor{c}
		out = make([]store.JobsFinishResult, len(p.Items))
		ids := make([]string, len(p.Items))
		for i, it := range p.Items {
			ids[i] = it.Lock.JobID
		}
		current, err := tx.getJobs(ctx, ids)
		if err != nil {
			return err
		}
		ends := make([]jobEnd, 0, len(p.Items))
		at := make([]int, 0, len(p.Items)) // the item of each end
		for i, it := range p.Items {
			if current[i] == nil {
				out[i].Err = notFound("job " + it.Lock.JobID)
				continue
			}
			ends = append(ends, jobEnd{item: it, end: it.Ending(current[i])})
			at = append(at, i)
		}
		if len(ends) == 0 {
			return nil
		}
		written, err := tx.endJobs(ctx, ends)
		if err != nil {
			return err
		}
		events := make([]*store.AuditEvent, 0, len(written))
		for k, j := range written {
			i, e := at[k], ends[k]
			if j == nil {
				out[i].Err = fmt.Errorf("not running under the lock of cluster %s with token %d: %w",
					e.item.Lock.ClusterID, e.item.Lock.Token, store.ErrLockLost)
				continue
			}
			out[i].Job = j
			events = append(events, store.JobAuditEvent(e.item.AuditID, e.item.Lock.LockedBy, e.end.Action, j, e.item.Lock, e.end.AuditStatus))
		}
		if len(events) > 0 {
			return tx.logEvents(ctx, events)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
