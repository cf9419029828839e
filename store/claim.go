package store

import (
	"context"
	"fmt"
	"time"
)

// ClaimParams says who claims and what.
type ClaimParams struct {
	WorkerID string        // required; recorded as the lock's LockedBy
	LockTTL  time.Duration // required, at least TimeResolution: how long the lock lives without a heartbeat
	JobTypes []JobType     // empty means every type
}

// Claimed is what Claim hands a worker: the started job, its cluster in its
// running status, and the lock to heartbeat and to fence the final write with.
type Claimed struct {
	Job     *Job
	Cluster *Cluster
	Lock    *JobLock
}

// maxInvalidPerClaim bounds, beyond max, how many unstartable jobs one
// claim fails before it gives up for this call.
const maxInvalidPerClaim = 16

// Audit actions the store writes for the worker operations.
const (
	ActionJobStart   = "job.start"
	ActionJobSucceed = "job.succeed"
	ActionJobFail    = "job.fail"
	ActionJobRetry   = "job.retry"
	ActionJobRequeue = "job.requeue"
	ActionJobReject  = "job.reject" // Claim failed an unstartable job
)

// Claim atomically takes the oldest runnable job (see JobStore.LockRunnable)
// whose cluster is not locked: it checks the cluster's transition against
// the state machine, acquires the cluster lock, marks the job RUNNING
// (Attempt+1), moves the cluster to the job's running status and records
// an audit event, all or nothing. Concurrent claimers get disjoint jobs on
// distinct clusters. A job that cannot start from its cluster's status is
// failed with ErrCodeInvalidTransition (so it does not block its cluster)
// and the next one is tried. ErrNoJob when nothing is runnable.
//
// Claim is ClaimMany of one job: one code path, one backend operation
// (Executor.JobsClaim).
func (s *Store) Claim(ctx context.Context, p ClaimParams) (*Claimed, error) {
	return call(s, ctx, "Store.Claim", func(ctx context.Context, x Executor) (*Claimed, error) {
		if err := p.validate(); err != nil {
			return nil, err
		}
		got, err := s.claim(ctx, x, p, 1)
		if err != nil {
			return nil, fmt.Errorf("claim: %w", err)
		}
		if len(got) == 0 {
			return nil, ErrNoJob
		}
		return got[0], nil
	})
}

// ClaimMany is Claim for up to max jobs at once, atomically: it takes the
// oldest runnable jobs (see JobStore.LockRunnable), at most one per
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
// Outside a transaction the backend runs it on its own (PostgreSQL: in one
// short transaction), and a serialization failure is retried as WithTx
// retries; inside one, it is part of it. Finish the jobs with Finish, one
// by one as they complete, or together with FinishMany.
func (s *Store) ClaimMany(ctx context.Context, p ClaimParams, max int) ([]*Claimed, error) {
	return call(s, ctx, "Store.ClaimMany", func(ctx context.Context, x Executor) ([]*Claimed, error) {
		if err := p.validate(); err != nil {
			return nil, err
		}
		if max < 1 || max > MaxLimit {
			return nil, invalid("max", "must be between 1 and %d", MaxLimit)
		}
		got, err := s.claim(ctx, x, p, max)
		if err != nil {
			return nil, fmt.Errorf("claim jobs: %w", err)
		}
		if len(got) == 0 {
			return nil, ErrNoJob
		}
		return got, nil
	})
}

// claim is Claim's and ClaimMany's one path: the audit IDs, then one
// JobsClaim, retried after a serialization failure outside a transaction.
func (s *Store) claim(ctx context.Context, x Executor, p ClaimParams, max int) ([]*Claimed, error) {
	rejects := max + maxInvalidPerClaim
	ids := make([]string, max+rejects)
	for i := range ids {
		ids[i] = NewID(PrefixAudit)
	}
	params := JobsClaimParams{AuditIDs: ids, JobTypes: p.JobTypes, LockTTL: p.LockTTL, Max: max, MaxRejects: rejects,
		WorkerID: p.WorkerID}
	var got []*Claimed
	err := s.retryOutsideTx(ctx, func() error {
		var err error
		got, err = x.JobsClaim(ctx, params)
		return err
	})
	return got, err
}

// retryOutsideTx runs op, a whole backend operation, and again after a
// serialization failure as the RetryPolicy allows, unless s is bound to a
// transaction, which such a failure has aborted.
func (s *Store) retryOutsideTx(ctx context.Context, op func() error) error {
	if s.InTx() {
		return op()
	}
	return s.retrying(ctx, s.config.retry.MaxRetries, nil, op)
}
