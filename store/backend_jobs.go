package store

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// JobExecutor stores jobs and runs the worker operations (see JobStore,
// Store.ClaimMany and Store.FinishMany for the semantics).
type JobExecutor interface {
	// JobInsert inserts j (ID, Status and MaxAttempts set) and sets its
	// CreatedAt and UpdatedAt. ErrNotFound without the cluster,
	// ErrConflict on a taken ID.
	JobInsert(ctx context.Context, j *Job) error
	// JobGetByID returns the job or ErrNotFound.
	JobGetByID(ctx context.Context, id string) (*Job, error)
	// JobList returns a page and the total, from one snapshot.
	JobList(ctx context.Context, f JobFilters) ([]*Job, int, error)
	// JobListAfter returns the keyset page after cursor.
	JobListAfter(ctx context.Context, f JobFilters, cursor string) (Page[*Job], error)
	// JobMarkStarted is the compare-and-set PENDING/RETRYING -> RUNNING.
	JobMarkStarted(ctx context.Context, id string) (*Job, error)
	// JobCancel is the compare-and-set PENDING/RETRYING -> FAILED.
	JobCancel(ctx context.Context, id, code, message string) (*Job, error)
	// JobMarkSucceeded, JobMarkFailed and JobMarkRetry are the fenced
	// writes: ErrLockLost unless the job is RUNNING under lock's current
	// token.
	JobMarkSucceeded(ctx context.Context, lock *JobLock, metadata map[string]string) (*Job, error)
	// JobMarkFailed: see JobMarkSucceeded.
	JobMarkFailed(ctx context.Context, lock *JobLock, code, message string) (*Job, error)
	// JobMarkRetry: see JobMarkSucceeded.
	JobMarkRetry(ctx context.Context, p JobMarkRetryParams) (*Job, error)
	// JobsLockRunnable returns and locks up to q.Limit runnable jobs with
	// their clusters (see JobStore.LockRunnable).
	JobsLockRunnable(ctx context.Context, q RunnableQuery) ([]Runnable, error)
	// JobListStuck returns RUNNING jobs without a live lock of their own.
	JobListStuck(ctx context.Context, limit int) ([]*Job, error)
	// JobRequeue takes back a stuck job (see JobStore.Requeue).
	JobRequeue(ctx context.Context, id string) (*Job, error)
	// JobsClaim is ClaimMany's whole work, atomically; see
	// JobsClaimParams.
	JobsClaim(ctx context.Context, p JobsClaimParams) ([]*Claimed, error)
	// JobsFinish is FinishMany's whole work, atomically; see
	// JobsFinishParams.
	JobsFinish(ctx context.Context, p JobsFinishParams) ([]JobsFinishResult, error)
}

// JobMarkRetryParams is one JobMarkRetry.
type JobMarkRetryParams struct {
	After   time.Duration // RetryAt is now+After on the backend's clock
	Code    string
	Lock    *JobLock
	Message string
}

// JobsClaimParams is one JobsClaim. The operation, atomic as a whole:
//
//   - looks at the runnable jobs (as JobsLockRunnable selects them: FIFO
//     per cluster, at most one per cluster, clusters without a live lock,
//     rows another claimer has locked skipped), oldest first;
//   - fails each one whose cluster's status does not let it start
//     (StartOf; JobCancel's write with code ErrCodeInvalidTransition and
//     RejectMessage, and a job.reject event), at most MaxRejects of them;
//   - starts the others, up to Max: the cluster's lock granted to
//     (job, WorkerID) for LockTTL with a new fencing token (a cluster
//     locked since it was selected is skipped), the job RUNNING
//     (Attempt+1, StartedAt), the cluster moved to StartOf's status when
//     it is not there, and a job.start event (JobAuditEvent, with the
//     lock's token);
//   - gives each event it writes the next ID of AuditIDs, in order.
//
// It returns the started jobs oldest first, each with its cluster as
// written and its lock; none is not an error. Concurrent calls get
// disjoint jobs on distinct clusters.
type JobsClaimParams struct {
	AuditIDs   []string // Max+MaxRejects IDs, one per event it may write
	JobTypes   []JobType
	LockTTL    time.Duration
	Max        int // jobs started at most
	MaxRejects int // jobs failed as unstartable (or found locked) at most
	WorkerID   string
}

// JobsFinishParams is one JobsFinish: the items, no job twice. For each
// item, atomically with the others, the operation reads the job
// (ErrNotFound in the item's result when it is gone), decides its end
// with JobsFinishItem.Ending, and makes the fenced write: only while the
// job is RUNNING under the item's current token, else ErrLockLost in the
// item's result and nothing changes for it. Where the write took, it
// moves the cluster to the end's Cluster status unless it is empty or the
// cluster is there already (a move the state machine refuses is a
// *TransitionError for the whole call, which then changes nothing),
// releases the lock and writes the end's audit event (JobAuditEvent with
// the item's AuditID, actor Lock.LockedBy and the lock's token). It locks
// the items' cluster rows first, in ID order, then the lock rows.
type JobsFinishParams struct {
	Items []JobsFinishItem
}

// JobsFinishItem is one claimed job's outcome, as data.
type JobsFinishItem struct {
	AuditID string
	Lock    *JobLock
	// Status is what the outcome asks for: JobSucceeded, JobFailed or
	// JobRetrying (which Ending turns into JobFailed once the job has used
	// its attempts).
	Status     JobStatus
	Code       string            // the error code (FAILED, RETRYING)
	Message    string            // the error message (FAILED, RETRYING)
	Metadata   map[string]string // merged into the job's (SUCCEEDED); nil leaves it
	RetryAfter time.Duration     // RetryAt is now+RetryAfter (RETRYING)
}

// JobsFinishResult is one item's result: the job as written, or Err
// (ErrNotFound, ErrLockLost) and nothing changed for the item.
type JobsFinishResult struct {
	Job *Job
	Err error
}

// JobEnding is how a finish item ends its job: the job's new status and
// error, the cluster's end status ("" leaves the cluster as it is), and
// the audit event's action and status.
type JobEnding struct {
	Status      JobStatus
	Code        string
	Message     string
	Metadata    map[string]string
	RetryAfter  time.Duration
	Cluster     ClusterStatus
	Action      string
	AuditStatus AuditStatus
}

// Ending is how it ends job (as read in the finishing transaction): a
// retry of a job that has used all its attempts fails it instead, with
// the message prefixed "attempts exhausted (n of m): ", and the cluster's
// end status comes from the state machine (none for a retry, which
// resumes from the in-progress status). A backend calls it, or does the
// same in SQL.
func (it JobsFinishItem) Ending(job *Job) JobEnding {
	tr, _ := TransitionFor(job.JobType)
	switch {
	case it.Status == JobSucceeded:
		return JobEnding{Status: JobSucceeded, Metadata: it.Metadata, Cluster: tr.Success,
			Action: ActionJobSucceed, AuditStatus: AuditSuccess}
	case it.Status == JobRetrying && job.Attempt < job.MaxAttempts:
		return JobEnding{Status: JobRetrying, Code: it.Code, Message: it.Message, RetryAfter: it.RetryAfter,
			Action: ActionJobRetry, AuditStatus: AuditFailure}
	case it.Status == JobRetrying:
		msg := fmt.Sprintf("attempts exhausted (%d of %d): %s", job.Attempt, job.MaxAttempts, it.Message)
		return JobEnding{Status: JobFailed, Code: it.Code, Message: msg, Cluster: tr.Failure,
			Action: ActionJobFail, AuditStatus: AuditFailure}
	default:
		return JobEnding{Status: JobFailed, Code: it.Code, Message: it.Message, Cluster: tr.Failure,
			Action: ActionJobFail, AuditStatus: AuditFailure}
	}
}

// StartOf returns the status a runnable job moves its cluster to when it
// starts, from the state machine; ok is false when it may not start.
func StartOf(job *Job, cluster *Cluster) (to ClusterStatus, ok bool) {
	tr, _ := TransitionFor(job.JobType)
	return tr.StartStatus(cluster.Status, job.Attempt > 0)
}

// RejectMessage is the error message of a job JobsClaim fails because its
// cluster's status does not let it start.
func RejectMessage(job *Job, cluster *Cluster) string {
	tr, _ := TransitionFor(job.JobType)
	return (&TransitionError{Entity: "cluster", ID: cluster.ID, From: string(cluster.Status), To: string(tr.Running)}).Error()
}

// The metadata keys of the worker operations' audit events.
const (
	AuditKeyJobType   = "job_type"   // the job's type
	AuditKeyJobStatus = "job_status" // the job's status as written
	AuditKeyAttempt   = "attempt"    // the job's Attempt, in decimal
	AuditKeyToken     = "token"      // the lock's fencing token, in decimal (no lock: absent)
)

// JobAuditEvent is the audit event of a worker operation on job, with ID
// id: actor did action, with outcome status; lock, when given, adds its
// token to the metadata.
func JobAuditEvent(id, actor, action string, job *Job, lock *JobLock, status AuditStatus) *AuditEvent {
	md := map[string]string{AuditKeyJobType: string(job.JobType), AuditKeyJobStatus: string(job.Status),
		AuditKeyAttempt: strconv.Itoa(job.Attempt)}
	if lock != nil {
		md[AuditKeyToken] = strconv.FormatInt(lock.Token, 10)
	}
	clusterID, jobID := job.ClusterID, job.ID
	return &AuditEvent{ID: id, Actor: actor, Action: action, TargetClusterID: &clusterID,
		TargetJobID: &jobID, Status: status, Metadata: md}
}
