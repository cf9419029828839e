package store

import (
	"context"
	"errors"
	"fmt"
)

// ClaimMany is Claim for up to max jobs at once: in one transaction it takes
// the oldest runnable jobs (see JobStore.LockRunnable), at most one per
// cluster, so up to max distinct, unlocked clusters, and starts each as
// Claim does: the state machine check, the cluster lock with a fencing
// token of its own, the job RUNNING (Attempt+1), the cluster in the job's
// running status and a job.start audit event. Jobs that cannot start from
// their cluster's status are failed with ErrCodeInvalidTransition, as by
// Claim, and more candidates are looked for. Concurrent callers (of Claim
// or ClaimMany) get disjoint jobs on distinct clusters, and jobs of one
// cluster still start in creation order. It returns the claimed jobs
// oldest first, or ErrNoJob when nothing is runnable. max must be between
// 1 and MaxLimit.
//
// It pays one transaction for the whole batch; on a backend whose
// transactions implement BatchWriter (PostgreSQL), a few statements too.
// Finish the jobs with Finish, one by one as they complete, or together
// with FinishMany.
func (s *Store) ClaimMany(ctx context.Context, p ClaimParams, max int) ([]*Claimed, error) {
	if err := s.checkCtx(ctx); err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	if max < 1 || max > MaxLimit {
		return nil, invalid("max", "must be between 1 and %d", MaxLimit)
	}
	var claimed []*Claimed
	err := s.WithTx(ctx, func(ctx context.Context, tx *Store) error {
		var err error
		claimed, err = tx.claimMany(ctx, p, max)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	if len(claimed) == 0 {
		return nil, ErrNoJob
	}
	return claimed, nil
}

// claimMany is ClaimMany's transaction. Each round locks as many runnable
// jobs as are still wanted, fails the unstartable ones and starts the rest
// in one BatchWriter call. A job that was failed, or whose cluster was
// locked since LockRunnable looked (a manual Acquire does not lock the
// cluster row), is a miss; after max+maxInvalidPerClaim misses the call
// returns what it has, as Claim gives up after maxInvalidPerClaim.
func (s *Store) claimMany(ctx context.Context, p ClaimParams, max int) ([]*Claimed, error) {
	bw := s.batchWriter()
	var claimed []*Claimed
	for misses := 0; len(claimed) < max && misses < max+maxInvalidPerClaim; {
		cands, err := s.Jobs.LockRunnable(ctx, RunnableQuery{JobTypes: p.JobTypes, Limit: max - len(claimed)})
		if err != nil || len(cands) == 0 {
			return claimed, err
		}
		starts := make([]JobStart, 0, len(cands))
		for _, r := range cands {
			to, ok := startStatus(r)
			if !ok {
				if err := s.reject(ctx, r, p.WorkerID); err != nil {
					return nil, err
				}
				misses++
				continue
			}
			starts = append(starts, JobStart{Job: r.Job, Cluster: r.Cluster, To: to})
		}
		if len(starts) == 0 {
			continue
		}
		got, err := bw.StartJobs(ctx, p.WorkerID, p.LockTTL, starts)
		if err != nil {
			return nil, err
		}
		events := make([]*AuditEvent, 0, len(got))
		for _, c := range got {
			if c == nil {
				misses++
				continue
			}
			claimed = append(claimed, c)
			events = append(events, jobEvent(p.WorkerID, ActionJobStart, c.Job, c.Lock, AuditSuccess))
		}
		if len(events) > 0 {
			if err := bw.LogEvents(ctx, events); err != nil {
				return nil, err
			}
		}
	}
	return claimed, nil
}

// Completion is one claimed job's outcome, for FinishMany.
type Completion struct {
	Lock    *JobLock // the lock the job was claimed with
	Outcome Outcome
}

// FinishMany is Finish for several claimed jobs in one transaction. Each
// item is fenced on its own: an item whose lock is no longer current (or
// whose job is gone) gets its own error, ErrLockLost (or ErrNotFound), in
// errs at its index and changes nothing, while the other items are still
// finished, each with everything Finish does (the fenced job write, the
// cluster's end status, the lock release, an audit event). jobs holds the
// job as written at the index of each finished item and nil elsewhere.
//
// err is for the whole call, and then nothing was committed: invalid input
// (ErrInvalidArgument naming the item's field; between 1 and MaxLimit
// items, no job twice), or a failure past an item's fenced write (a
// database error, a refused cluster transition), which rolls the whole
// transaction back since it cannot be undone for that item alone.
func (s *Store) FinishMany(ctx context.Context, items []Completion) (jobs []*Job, errs []error, err error) {
	if err := s.checkCtx(ctx); err != nil {
		return nil, nil, err
	}
	if err := validateCompletions(items); err != nil {
		return nil, nil, err
	}
	err = s.WithTx(ctx, func(ctx context.Context, tx *Store) error {
		var err error
		jobs, errs, err = tx.finishMany(ctx, items)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("finish jobs: %w", err)
	}
	return jobs, errs, nil
}

// finishMany is FinishMany's transaction: one read of the jobs, one
// BatchWriter call for the fenced writes, one for the audit events.
func (s *Store) finishMany(ctx context.Context, items []Completion) ([]*Job, []error, error) {
	bw := s.batchWriter()
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.Lock.JobID
	}
	current, err := bw.GetJobs(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	jobs, errs := make([]*Job, len(items)), make([]error, len(items))
	ends := make([]JobEnd, 0, len(items))
	at := make([]int, 0, len(items)) // the item of each end
	for i, it := range items {
		if current[i] == nil {
			errs[i] = fmt.Errorf("finish job %s: %w", it.Lock.JobID, ErrNotFound)
			continue
		}
		ends = append(ends, it.Outcome.ending(it.Lock, current[i]))
		at = append(at, i)
	}
	if len(ends) == 0 {
		return jobs, errs, nil
	}
	written, err := bw.EndJobs(ctx, ends)
	if err != nil {
		return nil, nil, err
	}
	events := make([]*AuditEvent, 0, len(written))
	for k, j := range written {
		i, e := at[k], ends[k]
		if j == nil {
			errs[i] = fmt.Errorf("finish job %s: not running under the lock of cluster %s with token %d: %w",
				e.Lock.JobID, e.Lock.ClusterID, e.Lock.Token, ErrLockLost)
			continue
		}
		jobs[i] = j
		events = append(events, jobEvent(e.Lock.LockedBy, e.action(), j, e.Lock, e.auditStatus()))
	}
	if len(events) > 0 {
		if err := bw.LogEvents(ctx, events); err != nil {
			return nil, nil, err
		}
	}
	return jobs, errs, nil
}

// validateCompletions checks FinishMany's input, naming the first bad
// field by its item, e.g. "items[3].lock.token".
func validateCompletions(items []Completion) error {
	if len(items) == 0 || len(items) > MaxLimit {
		return invalid("items", "must hold between 1 and %d completions", MaxLimit)
	}
	seen := make(map[string]int, len(items))
	for i, it := range items {
		field := fmt.Sprintf("items[%d]", i)
		if err := validateLock(field+".lock", it.Lock); err != nil {
			return err
		}
		if err := it.Outcome.validate(); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				name := field + ".outcome"
				if ve.Field != "outcome" {
					name += "." + ve.Field
				}
				return invalid(name, "%s", ve.Reason)
			}
			return err
		}
		if j, dup := seen[it.Lock.JobID]; dup {
			return invalid(field+".lock.job_id", "job %s is items[%d]'s too", it.Lock.JobID, j)
		}
		seen[it.Lock.JobID] = i
	}
	return nil
}
