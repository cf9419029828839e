package store

import (
	"context"
	"time"
)

// DefaultMaxAttempts is a job's MaxAttempts when Create is given 0.
const DefaultMaxAttempts = 3

// Job is a row of the jobs table.
type Job struct {
	ID           string // job_…; Create assigns one when empty
	ClusterID    string
	JobType      JobType
	Status       JobStatus // empty means PENDING on Create
	Attempt      int       // attempts started so far: 0 until the first MarkStarted
	MaxAttempts  int       // 0 means DefaultMaxAttempts on Create
	ErrorCode    *string   // at most 100 bytes
	ErrorMessage *string
	RetryAt      *time.Time // when a RETRYING job becomes runnable again
	StartedAt    *time.Time // start of the latest attempt
	EndedAt      *time.Time // set by a terminal write
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Metadata     map[string]string
}

// JobSort is a column jobs may be listed by.
type JobSort string

// Job sort orders (ties broken by ID).
const (
	JobByCreatedAt JobSort = "created_at" // the default
)

// Valid reports whether s is an allowed sort column; empty means the default.
func (s JobSort) Valid() bool { return s == "" || s == JobByCreatedAt }

// JobFilters selects jobs for List and ListAfter. Nil fields do not filter.
type JobFilters struct {
	ClusterID *string
	Status    *JobStatus
	JobType   *JobType

	Sort JobSort
	Desc bool

	Limit  int // 0 means DefaultLimit; more than MaxLimit is refused
	Offset int // List only
}

// RunnableQuery selects the jobs LockRunnable may return.
type RunnableQuery struct {
	JobTypes []JobType // empty means every type
	Limit    int       // at least 1, at most MaxLimit
}

// Runnable is a job LockRunnable found, with its cluster, both rows locked
// by the calling transaction.
type Runnable struct {
	Job     *Job
	Cluster *Cluster
}

// JobStore persists jobs. The terminal writes MarkSucceeded, MarkFailed and
// MarkRetry are fenced: they take the caller's *JobLock and succeed only
// while the job is RUNNING and the lock's token is still the cluster's
// current token, else ErrLockLost. A holder whose lock expired and was taken
// over therefore cannot overwrite the new holder's work.
type JobStore interface {
	// Create inserts j, assigning ID, timestamps and defaults (Status
	// PENDING, MaxAttempts DefaultMaxAttempts). ErrNotFound if the cluster
	// does not exist; ErrConflict if the ID exists.
	Create(ctx context.Context, j *Job) error
	// GetByID returns the job or ErrNotFound.
	GetByID(ctx context.Context, id string) (*Job, error)
	// List returns a page of matching jobs and the total, from one snapshot.
	List(ctx context.Context, f JobFilters) ([]*Job, int, error)
	// ListAfter returns the keyset page after cursor ("" for the first).
	ListAfter(ctx context.Context, f JobFilters, cursor string) (Page[*Job], error)
	// MarkStarted moves a PENDING or RETRYING job to RUNNING, increments
	// Attempt, sets StartedAt and clears RetryAt. A job in another status
	// is ErrInvalidStateTransition. (Claim does this for you.)
	MarkStarted(ctx context.Context, id string) (*Job, error)
	// Cancel moves a PENDING or RETRYING job straight to FAILED with an
	// error code and message, for a job that must not run (a cancelled
	// request, or one its cluster's status forbids). Other statuses are
	// ErrInvalidStateTransition.
	Cancel(ctx context.Context, id, code, message string) (*Job, error)
	// MarkSucceeded (fenced) moves the job to SUCCEEDED, sets EndedAt and
	// merges metadata into the job's Metadata.
	MarkSucceeded(ctx context.Context, lock *JobLock, metadata map[string]string) (*Job, error)
	// MarkFailed (fenced) moves the job to FAILED with an error code and
	// message and sets EndedAt.
	MarkFailed(ctx context.Context, lock *JobLock, code, message string) (*Job, error)
	// MarkRetry (fenced) moves the job to RETRYING with an error code and
	// message; it becomes runnable again after the delay, measured on the
	// backend's clock (0, or at least TimeResolution). It does not check
	// MaxAttempts (Store.Finish does).
	MarkRetry(ctx context.Context, lock *JobLock, code, message string, after time.Duration) (*Job, error)
	// LockRunnable returns up to q.Limit runnable jobs, oldest first, and
	// locks each job row and its cluster row until the transaction ends.
	// A job is runnable when it is PENDING, or RETRYING with RetryAt
	// passed, of one of q.JobTypes, every older job of its cluster is
	// terminal (jobs of one cluster run in creation order), and its cluster
	// has no live lock. Rows another transaction has locked are skipped,
	// not waited for (FOR NO KEY UPDATE SKIP LOCKED), so concurrent claimers get
	// disjoint jobs. It returns at most one job per cluster. Claim is built
	// on it; call it only inside a transaction.
	LockRunnable(ctx context.Context, q RunnableQuery) ([]Runnable, error)
	// ListStuck returns up to limit RUNNING jobs whose cluster lock is
	// missing, expired, or held for another job: work whose worker died.
	ListStuck(ctx context.Context, limit int) ([]*Job, error)
	// Requeue takes back a stuck RUNNING job (see ListStuck): it deletes the
	// job's expired lock, if any, so the old holder's token stops being
	// current, and moves the job to RETRYING runnable now, or to FAILED with
	// code ErrCodeAbandoned once Attempt has reached MaxAttempts. A job whose
	// lock is still live is ErrConflict; a job not RUNNING is
	// ErrInvalidStateTransition.
	Requeue(ctx context.Context, id string) (*Job, error)
}

// Error codes the store itself writes to jobs.
const (
	// ErrCodeAbandoned: the job's worker stopped heartbeating and the job
	// had no attempts left.
	ErrCodeAbandoned = "ABANDONED"
	// ErrCodeInvalidTransition: Claim found the job could not start from
	// its cluster's status, and failed it instead of blocking the cluster.
	ErrCodeInvalidTransition = "INVALID_STATE_TRANSITION"
)
