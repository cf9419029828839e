package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// BatchWriter is implemented, optionally, by a BackendTx that can make the
// per-job writes of Claim and Finish for a whole batch of jobs in a few
// statements, where the sub-stores take several statements (and as many
// round trips) per job. ClaimMany and FinishMany use it when their
// transaction's BackendTx has it, and the sub-stores one job at a time
// otherwise; the outcome is the same either way, so a backend may leave it
// out. Store calls it only inside the transaction, with input it has
// validated.
type BatchWriter interface {
	// StartJobs starts each job as Claim does once LockRunnable has
	// locked it and its cluster in this transaction: it acquires the
	// cluster's lock for (job, worker) for ttl as JobLockStore.Acquire
	// does and, when it got it, marks the job started as
	// JobStore.MarkStarted does and moves the cluster to the start's To
	// status as ClusterStore.UpdateStatus does (no write when the cluster
	// is already there). It returns one Claimed per start, in order, or
	// nil for a start whose cluster lock another holder holds, for which
	// nothing changed. The starts are on distinct clusters; the audit
	// events are the caller's (LogEvents).
	StartJobs(ctx context.Context, worker string, ttl time.Duration, starts []JobStart) ([]*Claimed, error)
	// GetJobs returns the jobs with the given IDs, in order, nil for an ID
	// no job has.
	GetJobs(ctx context.Context, ids []string) ([]*Job, error)
	// EndJobs writes each end as Finish does once it has read the job:
	// the fenced write of the end's Status (as MarkSucceeded, MarkFailed
	// or MarkRetry), and, when the fence held, the cluster moved to the
	// end's Cluster status unless it is there already or that is empty
	// (a refused transition is a *TransitionError for the whole call), and
	// the lock released. It returns one job per end, in order, as
	// written, or nil where the fence refused the write (the lock's token
	// is not current, or the job is not RUNNING), and then nothing changed
	// for that end. No two ends name the same job.
	EndJobs(ctx context.Context, ends []JobEnd) ([]*Job, error)
	// LogEvents appends every event as AuditStore.Log does, assigning each
	// its ID and CreatedAt.
	LogEvents(ctx context.Context, events []*AuditEvent) error
}

// JobStart is one job for BatchWriter.StartJobs to start.
type JobStart struct {
	Job     *Job          // as LockRunnable returned it
	Cluster *Cluster      // the job's cluster, as LockRunnable returned it
	To      ClusterStatus // the status the cluster runs the job in (Transition.StartStatus)
}

// JobEnd is one fenced job write for BatchWriter.EndJobs.
type JobEnd struct {
	Lock *JobLock // the fencing lock; it is released when the write takes
	// Status is what the job becomes: JobSucceeded, JobFailed or
	// JobRetrying.
	Status     JobStatus
	Code       string            // the error code (FAILED, RETRYING)
	Message    string            // the error message (FAILED, RETRYING)
	RetryAfter time.Duration     // when a RETRYING job runs again, from now
	Metadata   map[string]string // merged into the job's (SUCCEEDED); nil leaves it
	// Cluster is the status the job's cluster ends in, from the state
	// machine; empty (a retry) leaves the cluster as it is.
	Cluster ClusterStatus
}

// action is the audit action of the write.
func (e JobEnd) action() string {
	switch e.Status {
	case JobSucceeded:
		return ActionJobSucceed
	case JobFailed:
		return ActionJobFail
	default:
		return ActionJobRetry
	}
}

// auditStatus is the audit status of the write.
func (e JobEnd) auditStatus() AuditStatus {
	if e.Status == JobSucceeded {
		return AuditSuccess
	}
	return AuditFailure
}

// ending is how o ends job, fenced by lock: a retry of a job that has used
// all its attempts fails it instead, and the cluster's end status comes
// from the state machine (none for a retry, which resumes from the
// in-progress status).
func (o Outcome) ending(lock *JobLock, job *Job) JobEnd {
	tr, _ := TransitionFor(job.JobType)
	switch {
	case o.kind == outcomeSucceeded:
		return JobEnd{Lock: lock, Status: JobSucceeded, Metadata: o.metadata, Cluster: tr.Success}
	case o.kind == outcomeRetry && job.Attempt < job.MaxAttempts:
		return JobEnd{Lock: lock, Status: JobRetrying, Code: o.code, Message: o.msg, RetryAfter: o.retryAfter}
	case o.kind == outcomeRetry:
		msg := fmt.Sprintf("attempts exhausted (%d of %d): %s", job.Attempt, job.MaxAttempts, o.msg)
		return JobEnd{Lock: lock, Status: JobFailed, Code: o.code, Message: msg, Cluster: tr.Failure}
	default:
		return JobEnd{Lock: lock, Status: JobFailed, Code: o.code, Message: o.msg, Cluster: tr.Failure}
	}
}

// batchWriter returns the transaction's BatchWriter, or the one-job-at-a-
// time writer over the sub-stores when the backend has none. s must be
// bound to a transaction.
func (s *Store) batchWriter() BatchWriter {
	if bw, ok := s.tx.(BatchWriter); ok {
		return bw
	}
	return subStoreBatch{s}
}

// subStoreBatch is the BatchWriter of a backend without one: the writes of
// Claim and Finish, one job at a time, through a transaction-bound Store's
// sub-stores.
type subStoreBatch struct{ s *Store }

// StartJobs starts the jobs one by one; see BatchWriter.
func (b subStoreBatch) StartJobs(ctx context.Context, worker string, ttl time.Duration, starts []JobStart) ([]*Claimed, error) {
	out := make([]*Claimed, len(starts))
	for i, st := range starts {
		lock, err := b.s.JobLocks.Acquire(ctx, st.Cluster.ID, st.Job.ID, worker, ttl)
		if errors.Is(err, ErrLockHeld) {
			continue
		}
		if err != nil {
			return nil, err
		}
		job, err := b.s.Jobs.MarkStarted(ctx, st.Job.ID)
		if err != nil {
			return nil, err
		}
		cluster := st.Cluster
		if st.To != cluster.Status {
			if cluster, err = b.s.Clusters.UpdateStatus(ctx, cluster.ID, st.To); err != nil {
				return nil, err
			}
		}
		out[i] = &Claimed{Job: job, Cluster: cluster, Lock: lock}
	}
	return out, nil
}

// GetJobs reads the jobs one by one; see BatchWriter.
func (b subStoreBatch) GetJobs(ctx context.Context, ids []string) ([]*Job, error) {
	out := make([]*Job, len(ids))
	for i, id := range ids {
		j, err := b.s.Jobs.GetByID(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, err
		default:
			out[i] = j
		}
	}
	return out, nil
}

// EndJobs writes the ends one by one; see BatchWriter. It first locks the
// ends' clusters, in ID order (the lock order of Finish).
func (b subStoreBatch) EndJobs(ctx context.Context, ends []JobEnd) ([]*Job, error) {
	ids := make([]string, 0, len(ends))
	for _, e := range ends {
		ids = append(ids, e.Lock.ClusterID)
	}
	slices.Sort(ids)
	status := make(map[string]ClusterStatus, len(ids))
	for _, id := range slices.Compact(ids) {
		c, err := b.s.Clusters.GetByIDForUpdate(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound): // a forged lock: its fence fails
		case err != nil:
			return nil, err
		default:
			status[id] = c.Status
		}
	}
	out := make([]*Job, len(ends))
	for i, e := range ends {
		j, wrote, err := b.endJob(ctx, e, status[e.Lock.ClusterID])
		if wrote && e.Cluster != "" {
			status[e.Lock.ClusterID] = e.Cluster
		}
		switch {
		case !wrote && errors.Is(err, ErrLockLost):
		case err != nil:
			return nil, err
		default:
			out[i] = j
		}
	}
	return out, nil
}

// endJob makes one end's writes: the fenced job write, the cluster's end
// status and the lock release. The caller has locked the cluster, whose
// status is from. wrote reports whether the fenced write took; when it did
// not, nothing changed.
func (b subStoreBatch) endJob(ctx context.Context, e JobEnd, from ClusterStatus) (job *Job, wrote bool, err error) {
	switch e.Status {
	case JobSucceeded:
		job, err = b.s.Jobs.MarkSucceeded(ctx, e.Lock, e.Metadata)
	case JobFailed:
		job, err = b.s.Jobs.MarkFailed(ctx, e.Lock, e.Code, e.Message)
	default:
		job, err = b.s.Jobs.MarkRetry(ctx, e.Lock, e.Code, e.Message, e.RetryAfter)
	}
	if err != nil {
		return nil, false, err
	}
	if e.Cluster != "" && e.Cluster != from {
		if _, err := b.s.Clusters.UpdateStatus(ctx, job.ClusterID, e.Cluster); err != nil {
			return nil, true, err
		}
	}
	if err := b.s.JobLocks.Release(ctx, e.Lock); err != nil {
		return nil, true, err
	}
	return job, true, nil
}

// LogEvents logs the events one by one; see BatchWriter.
func (b subStoreBatch) LogEvents(ctx context.Context, events []*AuditEvent) error {
	for _, e := range events {
		if err := b.s.Audit.Log(ctx, e); err != nil {
			return err
		}
	}
	return nil
}
