package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ocpctl/ocpstore/store"
)

// The worker operations, each in one transaction (the caller's, or a short
// one of its own; see conn.atomically), of a few set-based statements
// (batch.go) whatever the number of jobs. The lock order is the package's:
// lockRunnableSQL locks the job and cluster rows (skipping locked ones, so
// it never waits), then the lock rows are taken in cluster order; a finish
// locks its clusters in ID order before its lock rows.

// JobsClaim claims in one statement (claimSQL) in the common case: every
// candidate may start. Outside a transaction that statement runs on its
// own (autocommit), so an empty claim or a claim of Max jobs costs one
// round trip and, when it writes, one commit. When a candidate may not
// start (the state machine refuses its cluster's status) the statement
// writes nothing and the claim runs in rounds instead (claimRounds), which
// fails such jobs. A candidate whose cluster another holder locked since
// the statement looked is a miss: the jobs started are returned, or, with
// none, the rounds look further.
func (s executor) JobsClaim(ctx context.Context, p store.JobsClaimParams) ([]*store.Claimed, error) {
	claimed, slow, err := s.claimOne(ctx, p)
	if err != nil || !slow {
		return claimed, err
	}
	return s.claimRounds(ctx, p)
}

// claimOne runs claimSQL. slow reports that it started nothing although
// candidates were found: one may not start, or every startable one was a
// miss.
func (s executor) claimOne(ctx context.Context, p store.JobsClaimParams) (claimed []*store.Claimed, slow bool, err error) {
	types := p.JobTypes
	if len(types) == 0 {
		types = allJobTypes
	}
	rows, err := s.q.Query(ctx, claimSQL.sql, claimSQL.args(pgx.NamedArgs{"now": s.now(), "types": types,
		"limit": p.Max, "worker": p.WorkerID, "ttl": p.LockTTL, "audit_ids": p.AuditIDs[:p.Max]})...)
	if err != nil {
		return nil, false, mapError(ctx, err, "claim jobs")
	}
	defer rows.Close()
	candidates := 0
	for rows.Next() {
		candidates++
		var startable, moved bool
		var lr lockRow
		var jr jobRow
		var cr clusterRow
		if rows.RawValues()[2] == nil { // the lock's cluster_id: not started
			vals, err := rows.Values()
			if err != nil {
				return nil, false, mapError(ctx, err, "claim jobs")
			}
			if ok, _ := vals[0].(bool); !ok {
				slow = true // it may not start: the statement wrote nothing
			}
			continue
		}
		dests := append(append(append([]any{&startable, &moved}, lr.dests()...), jr.dests()...), cr.dests()...)
		if err := rows.Scan(dests...); err != nil {
			return nil, false, mapError(ctx, err, "claim jobs")
		}
		job, lock, cluster := jr.value(), lr.value(), cr.value()
		to, ok := store.StartOf(&store.Job{JobType: job.JobType, Attempt: job.Attempt - 1}, cluster)
		if !ok || moved != (to != cluster.Status) {
			return nil, false, fmt.Errorf("claim job %s: cluster %s in %s did not start it as the state machine says", job.ID, cluster.ID, cluster.Status)
		}
		if moved {
			// The same statement, hence the same now, as the job's write.
			cluster.Status, cluster.UpdatedAt = to, job.UpdatedAt
		}
		claimed = append(claimed, &store.Claimed{Job: job, Cluster: cluster, Lock: lock})
	}
	if err := rows.Err(); err != nil {
		return nil, false, mapError(ctx, err, "claim jobs")
	}
	return claimed, slow || (len(claimed) == 0 && candidates > 0), nil
}

// claimRounds claims in rounds, in one transaction: each locks as many
// runnable jobs as are still wanted, fails the unstartable ones (Cancel
// and a job.reject event each) and starts the rest in one statement, then
// logs their events in one. A job that was failed, or whose cluster
// another holder locked since lockRunnableSQL looked, is a miss; after
// p.MaxRejects misses the call returns what it has. A round after a
// failed job finds the job behind it on its cluster.
func (s executor) claimRounds(ctx context.Context, p store.JobsClaimParams) ([]*store.Claimed, error) {
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

// JobsFinish is one statement (finishSQL) whatever the number of items:
// it reads the jobs, decides each end as store.JobsFinishItem.Ending does,
// locks the clusters it moves and the lock rows, makes the fenced writes,
// the cluster moves, the lock releases and the audit events. A move the
// state machine refuses makes the statement write nothing, and the call
// fails with the *store.TransitionError. Outside a transaction it runs on
// its own (autocommit): one round trip, one commit.
func (s executor) JobsFinish(ctx context.Context, p store.JobsFinishParams) ([]store.JobsFinishResult, error) {
	n := len(p.Items)
	clusterIDs, jobIDs, statuses := make([]string, n), make([]string, n), make([]string, n)
	codes, msgs, auditIDs, actors := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	tokens, afters, md := make([]int64, n), make([]time.Duration, n), make([]*string, n)
	for i, it := range p.Items {
		l := it.Lock
		clusterIDs[i], jobIDs[i], tokens[i], auditIDs[i], actors[i] = l.ClusterID, l.JobID, l.Token, it.AuditID, l.LockedBy
		statuses[i], codes[i], msgs[i], afters[i] = string(it.Status), it.Code, it.Message, it.RetryAfter
		if len(it.Metadata) > 0 {
			md[i] = jsonText(it.Metadata)
		}
	}
	rows, err := s.q.Query(ctx, finishSQL.sql, finishSQL.args(pgx.NamedArgs{"now": s.now(), "cluster_ids": clusterIDs,
		"job_ids": jobIDs, "tokens": tokens, "statuses": statuses, "codes": codes, "messages": msgs, "afters": afters,
		"metadata": md, "audit_ids": auditIDs, "actors": actors})...)
	if err != nil {
		return nil, mapError(ctx, err, "finish jobs")
	}
	defer rows.Close()
	out := make([]store.JobsFinishResult, n)
	var refused error
	for i := 0; rows.Next(); i++ {
		var found bool
		var clusterID, from, to *string
		var jr jobRow
		if rows.RawValues()[4] == nil { // the job's id: not written
			if err := rows.Scan(append([]any{&found, &clusterID, &from, &to}, make([]any, len(jobColumns))...)...); err != nil {
				return nil, mapError(ctx, err, "finish jobs")
			}
		} else if err := rows.Scan(append([]any{&found, &clusterID, &from, &to}, jr.dests()...)...); err != nil {
			return nil, mapError(ctx, err, "finish jobs")
		}
		it := p.Items[i]
		switch {
		case clusterID != nil:
			if refused == nil {
				refused = &store.TransitionError{Entity: "cluster", ID: *clusterID, From: *from, To: *to}
			}
		case !found:
			out[i].Err = notFound("job " + it.Lock.JobID)
		case rows.RawValues()[4] == nil:
			out[i].Err = fmt.Errorf("not running under the lock of cluster %s with token %d: %w",
				it.Lock.ClusterID, it.Lock.Token, store.ErrLockLost)
		default:
			out[i].Job = jr.value()
		}
	}
	if err := rows.Err(); err != nil {
		return nil, mapError(ctx, err, "finish jobs")
	}
	if refused != nil {
		return nil, refused
	}
	return out, nil
}
