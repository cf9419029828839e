package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

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

// item is the outcome as a JobsFinishItem, fenced by lock.
func (o Outcome) item(lock *JobLock) JobsFinishItem {
	it := JobsFinishItem{AuditID: NewID(PrefixAudit), Lock: lock, Code: o.code, Message: o.msg}
	switch o.kind {
	case outcomeSucceeded:
		it.Status, it.Metadata = JobSucceeded, o.metadata
	case outcomeRetry:
		it.Status, it.RetryAfter = JobRetrying, o.retryAfter
	default:
		it.Status = JobFailed
	}
	return it
}

// Completion is one claimed job's outcome, for FinishMany.
type Completion struct {
	Lock    *JobLock // the lock the job was claimed with
	Outcome Outcome
}

// Finish records the outcome of a claimed job, atomically: the fenced job
// write (ErrLockLost if lock is no longer current, and then nothing
// changes), the cluster's end status from the state machine (unchanged on a
// retry, which resumes from the in-progress status), the lock release and
// an audit event. It returns the job as written. It locks the job's
// cluster row before anything else, as Claim does.
//
// Finish is FinishMany of one item, whose error it returns: one code path,
// one backend operation (Executor.JobsFinish).
func (s *Store) Finish(ctx context.Context, lock *JobLock, o Outcome) (*Job, error) {
	return call(s, ctx, "Store.Finish", func(ctx context.Context, x Executor) (*Job, error) {
		if err := validateLock("lock", lock); err != nil {
			return nil, err
		}
		if err := o.validate(); err != nil {
			return nil, err
		}
		res, err := s.finish(ctx, x, []Completion{{Lock: lock, Outcome: o}})
		if err != nil {
			return nil, fmt.Errorf("finish job %s: %w", lock.JobID, err)
		}
		return res[0].Job, res[0].Err
	})
}

// FinishMany is Finish for several claimed jobs at once. Each item is
// fenced on its own: an item whose lock is no longer current (or whose job
// is gone) gets its own error, ErrLockLost (or ErrNotFound), in errs at its
// index and changes nothing, while the other items are still finished,
// each with everything Finish does (the fenced job write, the cluster's
// end status, the lock release, an audit event). jobs holds the job as
// written at the index of each finished item and nil elsewhere.
//
// err is for the whole call, and then nothing was written: invalid input
// (ErrInvalidArgument naming the item's field; between 1 and MaxLimit
// items, no job twice), or a failure past an item's fenced write (a
// database error, a refused cluster transition), which undoes the whole
// call since it cannot be undone for that item alone.
func (s *Store) FinishMany(ctx context.Context, items []Completion) (jobs []*Job, errs []error, err error) {
	err = s.run(ctx, "Store.FinishMany", func(ctx context.Context, x Executor) error {
		if err := validateCompletions(items); err != nil {
			return err
		}
		res, err := s.finish(ctx, x, items)
		if err != nil {
			return fmt.Errorf("finish jobs: %w", err)
		}
		jobs, errs = make([]*Job, len(res)), make([]error, len(res))
		for i, r := range res {
			jobs[i], errs[i] = r.Job, r.Err
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return jobs, errs, nil
}

// finish is Finish's and FinishMany's one path: one JobsFinish, retried
// after a serialization failure outside a transaction, its items' errors
// naming their jobs.
func (s *Store) finish(ctx context.Context, x Executor, items []Completion) ([]JobsFinishResult, error) {
	p := JobsFinishParams{Items: make([]JobsFinishItem, len(items))}
	for i, c := range items {
		p.Items[i] = c.Outcome.item(c.Lock)
	}
	var res []JobsFinishResult
	err := s.retryOutsideTx(ctx, func() error {
		var err error
		res, err = x.JobsFinish(ctx, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range res {
		if res[i].Err != nil {
			res[i].Err = fmt.Errorf("finish job %s: %w", items[i].Lock.JobID, res[i].Err)
		}
	}
	return res, nil
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
