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

// JobStore is the API of jobs: Store.Jobs. The terminal writes
// MarkSucceeded, MarkFailed and MarkRetry are fenced: they take the
// caller's *JobLock and succeed only while the job is RUNNING and the
// lock's token is still the cluster's current token, else ErrLockLost. A
// holder whose lock expired and was taken over therefore cannot overwrite
// the new holder's work.
type JobStore struct{ s *Store }

// Create inserts j, assigning ID, timestamps and defaults (Status PENDING,
// MaxAttempts DefaultMaxAttempts). ErrNotFound if the cluster does not
// exist; ErrConflict if the ID exists.
func (js JobStore) Create(ctx context.Context, j *Job) error {
	return js.s.run(ctx, "Jobs.Create", func(ctx context.Context, x Executor) error {
		if err := j.validate(); err != nil {
			return err
		}
		if j.ID == "" {
			j.ID = NewID(PrefixJob)
		}
		j.Status = orDefault(j.Status, JobPending)
		if j.MaxAttempts == 0 {
			j.MaxAttempts = DefaultMaxAttempts
		}
		return x.JobInsert(ctx, j)
	})
}

// GetByID returns the job or ErrNotFound.
func (js JobStore) GetByID(ctx context.Context, id string) (*Job, error) {
	return call(js.s, ctx, "Jobs.GetByID", func(ctx context.Context, x Executor) (*Job, error) {
		if err := checkID("id", id); err != nil {
			return nil, err
		}
		return x.JobGetByID(ctx, id)
	})
}

// List returns a page of matching jobs and the total, from one snapshot.
func (js JobStore) List(ctx context.Context, f JobFilters) ([]*Job, int, error) {
	var total int
	items, err := call(js.s, ctx, "Jobs.List", func(ctx context.Context, x Executor) ([]*Job, error) {
		if err := f.validate(); err != nil {
			return nil, err
		}
		items, n, err := x.JobList(ctx, f)
		total = n
		return items, err
	})
	return items, total, err
}

// ListAfter returns the keyset page after cursor ("" for the first).
func (js JobStore) ListAfter(ctx context.Context, f JobFilters, cursor string) (Page[*Job], error) {
	return call(js.s, ctx, "Jobs.ListAfter", func(ctx context.Context, x Executor) (Page[*Job], error) {
		if err := f.validate(); err != nil {
			return Page[*Job]{}, err
		}
		if err := checkAfter(f.Offset, cursor, string(orDefault(f.Sort, JobByCreatedAt)), f.Desc); err != nil {
			return Page[*Job]{}, err
		}
		return x.JobListAfter(ctx, f, cursor)
	})
}

// MarkStarted moves a PENDING or RETRYING job to RUNNING, increments
// Attempt, sets StartedAt and clears RetryAt. A job in another status is
// ErrInvalidStateTransition. (Claim does this for you.)
func (js JobStore) MarkStarted(ctx context.Context, id string) (*Job, error) {
	return call(js.s, ctx, "Jobs.MarkStarted", func(ctx context.Context, x Executor) (*Job, error) {
		if err := checkID("id", id); err != nil {
			return nil, err
		}
		return x.JobMarkStarted(ctx, id)
	})
}

// Cancel moves a PENDING or RETRYING job straight to FAILED with an error
// code and message, for a job that must not run (a cancelled request, or
// one its cluster's status forbids). Other statuses are
// ErrInvalidStateTransition.
func (js JobStore) Cancel(ctx context.Context, id, code, message string) (*Job, error) {
	return call(js.s, ctx, "Jobs.Cancel", func(ctx context.Context, x Executor) (*Job, error) {
		var k checker
		k.id("id", id)
		checkFailure(&k, code, message)
		if k.err != nil {
			return nil, k.err
		}
		return x.JobCancel(ctx, id, code, message)
	})
}

// MarkSucceeded (fenced) moves the job to SUCCEEDED, sets EndedAt and
// merges metadata into the job's Metadata.
func (js JobStore) MarkSucceeded(ctx context.Context, lock *JobLock, metadata map[string]string) (*Job, error) {
	return call(js.s, ctx, "Jobs.MarkSucceeded", func(ctx context.Context, x Executor) (*Job, error) {
		if err := validateLock("lock", lock); err != nil {
			return nil, err
		}
		var k checker
		if k.tags("metadata", metadata); k.err != nil {
			return nil, k.err
		}
		return x.JobMarkSucceeded(ctx, lock, metadata)
	})
}

// MarkFailed (fenced) moves the job to FAILED with an error code and
// message and sets EndedAt.
func (js JobStore) MarkFailed(ctx context.Context, lock *JobLock, code, message string) (*Job, error) {
	return call(js.s, ctx, "Jobs.MarkFailed", func(ctx context.Context, x Executor) (*Job, error) {
		if err := validateLock("lock", lock); err != nil {
			return nil, err
		}
		var k checker
		if checkFailure(&k, code, message); k.err != nil {
			return nil, k.err
		}
		return x.JobMarkFailed(ctx, lock, code, message)
	})
}

// MarkRetry (fenced) moves the job to RETRYING with an error code and
// message; it becomes runnable again after the delay, measured on the
// backend's clock (0, or at least TimeResolution). It does not check
// MaxAttempts (Store.Finish does).
func (js JobStore) MarkRetry(ctx context.Context, lock *JobLock, code, message string, after time.Duration) (*Job, error) {
	return call(js.s, ctx, "Jobs.MarkRetry", func(ctx context.Context, x Executor) (*Job, error) {
		if err := validateLock("lock", lock); err != nil {
			return nil, err
		}
		var k checker
		checkFailure(&k, code, message)
		if k.delay("after", after); k.err != nil {
			return nil, k.err
		}
		return x.JobMarkRetry(ctx, JobMarkRetryParams{After: after, Code: code, Lock: lock, Message: message})
	})
}

// LockRunnable returns up to q.Limit runnable jobs, oldest first, and
// locks each job row and its cluster row until the transaction ends. A
// job is runnable when it is PENDING, or RETRYING with RetryAt passed, of
// one of q.JobTypes, every older job of its cluster is terminal (jobs of
// one cluster run in creation order), and its cluster has no live lock.
// Rows another transaction has locked are skipped, not waited for (FOR NO
// KEY UPDATE SKIP LOCKED), so concurrent claimers get disjoint jobs. It
// returns at most one job per cluster. Claim does the same selection;
// call it only inside a transaction.
func (js JobStore) LockRunnable(ctx context.Context, q RunnableQuery) ([]Runnable, error) {
	return call(js.s, ctx, "Jobs.LockRunnable", func(ctx context.Context, x Executor) ([]Runnable, error) {
		if err := q.validate(); err != nil {
			return nil, err
		}
		return x.JobsLockRunnable(ctx, q)
	})
}

// ListStuck returns up to limit RUNNING jobs whose cluster lock is
// missing, expired, or held for another job: work whose worker died.
func (js JobStore) ListStuck(ctx context.Context, limit int) ([]*Job, error) {
	return call(js.s, ctx, "Jobs.ListStuck", func(ctx context.Context, x Executor) ([]*Job, error) {
		if err := checkLimit(limit); err != nil {
			return nil, err
		}
		return x.JobListStuck(ctx, limit)
	})
}

// Requeue takes back a stuck RUNNING job (see ListStuck): it releases the
// job's expired lock, if any, so the old holder's token stops being
// current, and moves the job to RETRYING runnable now, or to FAILED with
// code ErrCodeAbandoned once Attempt has reached MaxAttempts. A job whose
// lock is still live is ErrConflict; a job not RUNNING is
// ErrInvalidStateTransition.
func (js JobStore) Requeue(ctx context.Context, id string) (*Job, error) {
	return call(js.s, ctx, "Jobs.Requeue", func(ctx context.Context, x Executor) (*Job, error) {
		if err := checkID("id", id); err != nil {
			return nil, err
		}
		return x.JobRequeue(ctx, id)
	})
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
