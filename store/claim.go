package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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

// maxInvalidPerClaim bounds how many unstartable jobs one Claim fails
// before it gives up for this call.
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
// whose cluster is not locked: in one transaction it checks the cluster's
// transition against the state machine, acquires the cluster lock, marks the
// job RUNNING (Attempt+1), moves the cluster to the job's running status and
// records an audit event. Concurrent claimers get disjoint jobs on distinct
// clusters. A job that cannot start from its cluster's status is failed with
// ErrCodeInvalidTransition (so it does not block its cluster) and the next
// one is tried. ErrNoJob when nothing is runnable.
func (s *Store) Claim(ctx context.Context, p ClaimParams) (*Claimed, error) {
	if err := s.checkCtx(ctx); err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	var claimed *Claimed
	err := s.WithTx(ctx, func(ctx context.Context, tx *Store) error {
		claimed = nil
		for range maxInvalidPerClaim {
			cands, err := tx.Jobs.LockRunnable(ctx, RunnableQuery{JobTypes: p.JobTypes, Limit: 1})
			if err != nil || len(cands) == 0 {
				return err
			}
			c, err := tx.start(ctx, cands[0], p)
			if err != nil || c != nil {
				claimed = c
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	if claimed == nil {
		return nil, ErrNoJob
	}
	return claimed, nil
}

// start starts one runnable job inside the claim transaction. It returns nil
// and no error when the job could not start (it was failed instead, or its
// cluster was locked meanwhile).
func (s *Store) start(ctx context.Context, r Runnable, p ClaimParams) (*Claimed, error) {
	job, cluster := r.Job, r.Cluster
	to, ok := startStatus(r)
	if !ok {
		return nil, s.reject(ctx, r, p.WorkerID)
	}
	lock, err := s.JobLocks.Acquire(ctx, cluster.ID, job.ID, p.WorkerID, p.LockTTL)
	if errors.Is(err, ErrLockHeld) {
		// Taken since LockRunnable looked (by a manual Acquire, which does
		// not lock the cluster row): not runnable any more, try the next.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if job, err = s.Jobs.MarkStarted(ctx, job.ID); err != nil {
		return nil, err
	}
	if to != cluster.Status {
		if cluster, err = s.Clusters.UpdateStatus(ctx, cluster.ID, to); err != nil {
			return nil, err
		}
	}
	if err := s.audit(ctx, p.WorkerID, ActionJobStart, job, lock, AuditSuccess); err != nil {
		return nil, err
	}
	return &Claimed{Job: job, Cluster: cluster, Lock: lock}, nil
}

// startStatus returns the status a runnable job moves its cluster to when
// it starts; ok is false when the state machine forbids the start.
func startStatus(r Runnable) (to ClusterStatus, ok bool) {
	tr, _ := TransitionFor(r.Job.JobType)
	return tr.StartStatus(r.Cluster.Status, r.Job.Attempt > 0)
}

// reject fails a runnable job its cluster's status does not let start, so
// that it does not block the cluster, and records the rejection.
func (s *Store) reject(ctx context.Context, r Runnable, actor string) error {
	job, cluster := r.Job, r.Cluster
	tr, _ := TransitionFor(job.JobType)
	msg := (&TransitionError{Entity: "cluster", ID: cluster.ID, From: string(cluster.Status), To: string(tr.Running)}).Error()
	if _, err := s.Jobs.Cancel(ctx, job.ID, ErrCodeInvalidTransition, msg); err != nil {
		return err
	}
	return s.audit(ctx, actor, ActionJobReject, job, nil, AuditFailure)
}

// audit records a worker operation on job; lock, when given, adds its token.
func (s *Store) audit(ctx context.Context, actor, action string, job *Job, lock *JobLock, status AuditStatus) error {
	return s.Audit.Log(ctx, jobEvent(actor, action, job, lock, status))
}

// jobEvent is the audit event of a worker operation on job; lock, when
// given, adds its token.
func jobEvent(actor, action string, job *Job, lock *JobLock, status AuditStatus) *AuditEvent {
	md := map[string]string{"job_type": string(job.JobType), "job_status": string(job.Status),
		"attempt": strconv.Itoa(job.Attempt)}
	if lock != nil {
		md["token"] = strconv.FormatInt(lock.Token, 10)
	}
	return &AuditEvent{Actor: actor, Action: action, TargetClusterID: &job.ClusterID,
		TargetJobID: &job.ID, Status: status, Metadata: md}
}

// outcomeKind is how a job ended.
type outcomeKind int

const (
	outcomeSucceeded outcomeKind = iota + 1
	outcomeFailed
	outcomeRetry
)

// Outcome is how a claimed job ended; make one with Succeeded, Failed or Retry.
type Outcome struct {
	kind       outcomeKind
	code, msg  string
	retryAfter time.Duration
	metadata   map[string]string
}

// Succeeded is a successful outcome; metadata is merged into the job's.
func Succeeded(metadata map[string]string) Outcome {
	return Outcome{kind: outcomeSucceeded, metadata: metadata}
}

// Failed is a permanent failure with an error code and message.
func Failed(code, message string) Outcome {
	return Outcome{kind: outcomeFailed, code: code, msg: message}
}

// Retry is a transient failure: the job runs again after the delay (0, or
// at least TimeResolution), unless it has used all its attempts, when it is
// failed instead.
func Retry(code, message string, after time.Duration) Outcome {
	return Outcome{kind: outcomeRetry, code: code, msg: message, retryAfter: after}
}

// Finish records the outcome of a claimed job in one transaction: the fenced
// job write (ErrLockLost if lock is no longer current, and then nothing
// changes), the cluster's end status from the state machine (unchanged on a
// retry, which resumes from the in-progress status), the lock release and an
// audit event. It returns the job as written. It locks the job's cluster
// row before anything else, as Claim does.
func (s *Store) Finish(ctx context.Context, lock *JobLock, o Outcome) (*Job, error) {
	if err := s.checkCtx(ctx); err != nil {
		return nil, err
	}
	if err := validateLock("lock", lock); err != nil {
		return nil, err
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	var done *Job
	err := s.WithTx(ctx, func(ctx context.Context, tx *Store) error {
		job, err := tx.Jobs.GetByID(ctx, lock.JobID)
		if err != nil {
			return err
		}
		// The cluster's row before its lock row (the fenced write): the
		// lock order every path follows (see the README's design notes).
		cluster, err := tx.Clusters.GetByIDForUpdate(ctx, job.ClusterID)
		if err != nil {
			return err
		}
		e := o.ending(lock, job)
		if job, _, err = (subStoreBatch{tx}).endJob(ctx, e, cluster.Status); err != nil {
			return err
		}
		done = job
		return tx.audit(ctx, lock.LockedBy, e.action(), job, lock, e.auditStatus())
	})
	if err != nil {
		return nil, fmt.Errorf("finish job %s: %w", lock.JobID, err)
	}
	return done, nil
}

// moveCluster moves a cluster to status to unless it is already there.
func (s *Store) moveCluster(ctx context.Context, clusterID string, to ClusterStatus) error {
	c, err := s.Clusters.GetByIDForUpdate(ctx, clusterID)
	if err != nil || c.Status == to {
		return err
	}
	_, err = s.Clusters.UpdateStatus(ctx, clusterID, to)
	return err
}

// RecoverStuck is the janitor's pass over work whose worker died: for up to
// limit jobs from JobStore.ListStuck it requeues the job (JobStore.Requeue),
// moves the cluster to the job's failure status when the job had no
// attempts left, and records an audit event, one transaction per job. A job
// whose holder came back meanwhile is left alone. It returns how many jobs
// it requeued or failed.
func (s *Store) RecoverStuck(ctx context.Context, actor string, limit int) (int, error) {
	if err := s.checkCtx(ctx); err != nil {
		return 0, err
	}
	var k checker
	if k.required("actor", actor, MaxARNLen); k.err != nil { // the audit events' actor
		return 0, k.err
	}
	if limit <= 0 || limit > MaxLimit {
		return 0, invalid("limit", "must be between 1 and %d", MaxLimit)
	}
	stuck, err := s.Jobs.ListStuck(ctx, limit)
	if err != nil {
		return 0, fmt.Errorf("recover stuck jobs: %w", err)
	}
	n := 0
	for _, j := range stuck {
		err := s.WithTx(ctx, func(ctx context.Context, tx *Store) error {
			job, err := tx.Jobs.Requeue(ctx, j.ID)
			if err != nil {
				return err
			}
			if job.Status == JobFailed {
				tr, _ := TransitionFor(job.JobType)
				if err := tx.moveCluster(ctx, job.ClusterID, tr.Failure); err != nil {
					return err
				}
			}
			return tx.audit(ctx, actor, ActionJobRequeue, job, nil, AuditSuccess)
		})
		switch {
		case err == nil:
			n++
		case errors.Is(err, ErrConflict), errors.Is(err, ErrInvalidStateTransition):
			// The holder heartbeated again or the job moved on: not stuck.
		default:
			return n, fmt.Errorf("recover stuck job %s: %w", j.ID, err)
		}
	}
	return n, nil
}
