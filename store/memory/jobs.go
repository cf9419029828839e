package memory

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// jobs is the JobStore. LockRunnable, ListStuck and Requeue are in
// runnable.go.
type jobs struct {
	b *Backend
	h handle
}

func jobNotFound(id string) error { return fmt.Errorf("job %s: %w", id, store.ErrNotFound) }

func jobTransition(j *store.Job, to store.JobStatus) error {
	return &store.TransitionError{Entity: "job", ID: j.ID, From: string(j.Status), To: string(to)}
}

func (s jobs) Create(ctx context.Context, j *store.Job) error {
	return s.h.write(ctx, func(v *view) error {
		r := cloneJob(j)
		if r.ID == "" {
			r.ID = store.NewID(store.PrefixJob)
		}
		if r.Status == "" {
			r.Status = store.JobPending
		}
		if r.MaxAttempts == 0 {
			r.MaxAttempts = store.DefaultMaxAttempts
		}
		now := s.b.now()
		r.CreatedAt, r.UpdatedAt = now, now
		if v.jobs.get(r.ID) != nil {
			return failedStatement(fmt.Errorf("job %s: id exists: %w", r.ID, store.ErrConflict))
		}
		if v.clusters.get(r.ClusterID) == nil {
			return failedStatement(fmt.Errorf("job %s: %w", r.ID, clusterNotFound(r.ClusterID)))
		}
		v.jobs.put(r.ID, r)
		j.ID, j.Status, j.MaxAttempts, j.CreatedAt, j.UpdatedAt = r.ID, r.Status, r.MaxAttempts, now, now
		return nil
	})
}

func (s jobs) GetByID(ctx context.Context, id string) (*store.Job, error) {
	var out *store.Job
	err := s.h.read(ctx, func(v *view) error {
		r := v.jobs.get(id)
		if r == nil {
			return jobNotFound(id)
		}
		out = cloneJob(r)
		return nil
	})
	return out, err
}

// jobOrder orders jobs by (CreatedAt, ID), descending when desc.
func jobOrder(desc bool) func(a, b *store.Job) int {
	return func(a, b *store.Job) int { return byTimeID(a.CreatedAt, b.CreatedAt, a.ID, b.ID, desc) }
}

// matchJobs returns the jobs passing f (and keep, when not nil), visiting
// the smaller of the cluster and status index sets when f selects one.
func (v *view) matchJobs(f *store.JobFilters, keep func(*store.Job) bool) []*store.Job {
	rows := v.jobs.all()
	best := -1
	if f.ClusterID != nil {
		rows, best = v.jobs.in(v.db.jobCluster, *f.ClusterID), v.db.jobCluster.count(*f.ClusterID)
	}
	if f.Status != nil {
		if n := v.db.jobStatus.count(string(*f.Status)); best < 0 || n < best {
			rows = v.jobs.in(v.db.jobStatus, string(*f.Status))
		}
	}
	var out []*store.Job
	for _, j := range rows {
		if (f.ClusterID == nil || j.ClusterID == *f.ClusterID) &&
			(f.Status == nil || j.Status == *f.Status) &&
			(f.JobType == nil || j.JobType == *f.JobType) &&
			(keep == nil || keep(j)) {
			out = append(out, j)
		}
	}
	return out
}

func (s jobs) List(ctx context.Context, f store.JobFilters) ([]*store.Job, int, error) {
	var out []*store.Job
	var total int
	err := s.h.read(ctx, func(v *view) error {
		rows := v.matchJobs(&f, nil)
		total = len(rows)
		out = cloneAll(window(rows, jobOrder(f.Desc), f.Offset, store.EffectiveLimit(f.Limit)), cloneJob)
		return nil
	})
	return out, total, err
}

func (s jobs) ListAfter(ctx context.Context, f store.JobFilters, cursor string) (store.Page[*store.Job], error) {
	var page store.Page[*store.Job]
	err := s.h.read(ctx, func(v *view) error {
		sort := string(store.JobByCreatedAt)
		at, id, ok, err := timeCursor(cursor, sort, f.Desc)
		if err != nil {
			return err
		}
		order := jobOrder(f.Desc)
		var keep func(*store.Job) bool
		if ok {
			p := &store.Job{ID: id, CreatedAt: at}
			keep = func(j *store.Job) bool { return order(j, p) > 0 }
		}
		rows, next := keyset(v.matchJobs(&f, keep), order, store.EffectiveLimit(f.Limit), func(j *store.Job) store.Cursor {
			return store.Cursor{Sort: sort, Desc: f.Desc, Key: store.TimeKey(j.CreatedAt), ID: j.ID}
		})
		page = store.Page[*store.Job]{Items: cloneAll(rows, cloneJob), Next: next}
		return nil
	})
	return page, err
}

// update applies change to job id inside a write, refusing with a job
// TransitionError to to unless the job's status is one of from.
func (s jobs) update(ctx context.Context, id string, to store.JobStatus, from []store.JobStatus,
	change func(r *store.Job, now time.Time)) (*store.Job, error) {
	var out *store.Job
	err := s.h.write(ctx, func(v *view) error {
		cur := v.jobs.get(id)
		if cur == nil {
			return jobNotFound(id)
		}
		ok := false
		for _, st := range from {
			ok = ok || cur.Status == st
		}
		if !ok {
			return jobTransition(cur, to)
		}
		r := *cur
		now := s.b.now()
		r.Status, r.UpdatedAt = to, now
		change(&r, now)
		v.jobs.put(id, &r)
		out = cloneJob(&r)
		return nil
	})
	return out, err
}

// runnableStatuses are the statuses a job may start or be cancelled from.
var runnableStatuses = []store.JobStatus{store.JobPending, store.JobRetrying}

func (s jobs) MarkStarted(ctx context.Context, id string) (*store.Job, error) {
	return s.update(ctx, id, store.JobRunning, runnableStatuses, func(r *store.Job, now time.Time) {
		r.Attempt++
		r.StartedAt = &now
		r.RetryAt, r.EndedAt = nil, nil
	})
}

func (s jobs) Cancel(ctx context.Context, id, code, message string) (*store.Job, error) {
	return s.update(ctx, id, store.JobFailed, runnableStatuses, func(r *store.Job, now time.Time) {
		r.ErrorCode, r.ErrorMessage = &code, &message
		r.EndedAt = &now
	})
}

// fenced applies change to the lock's job only while the job is RUNNING
// and the lock's token is its cluster's current token for that job: the
// check and the write are one step, so a stale holder can never write.
func (s jobs) fenced(ctx context.Context, lock *store.JobLock, to store.JobStatus,
	change func(r *store.Job, now time.Time)) (*store.Job, error) {
	var out *store.Job
	err := s.h.write(ctx, func(v *view) error {
		j := v.jobs.get(lock.JobID)
		l := v.locks.get(lock.ClusterID)
		if j == nil || j.Status != store.JobRunning || j.ClusterID != lock.ClusterID ||
			l == nil || l.Token != lock.Token || l.JobID != lock.JobID {
			return fmt.Errorf("job %s: token %d is not the current lock of cluster %s: %w",
				lock.JobID, lock.Token, lock.ClusterID, store.ErrLockLost)
		}
		r := *j
		now := s.b.now()
		r.Status, r.UpdatedAt = to, now
		change(&r, now)
		v.jobs.put(r.ID, &r)
		out = cloneJob(&r)
		return nil
	})
	return out, err
}

func (s jobs) MarkSucceeded(ctx context.Context, lock *store.JobLock, metadata map[string]string) (*store.Job, error) {
	return s.fenced(ctx, lock, store.JobSucceeded, func(r *store.Job, now time.Time) {
		r.EndedAt = &now
		if len(metadata) > 0 {
			md := make(map[string]string, len(r.Metadata)+len(metadata))
			maps.Copy(md, r.Metadata)
			maps.Copy(md, metadata) // new keys overwrite
			r.Metadata = md
		}
	})
}

func (s jobs) MarkFailed(ctx context.Context, lock *store.JobLock, code, message string) (*store.Job, error) {
	return s.fenced(ctx, lock, store.JobFailed, func(r *store.Job, now time.Time) {
		r.ErrorCode, r.ErrorMessage = &code, &message
		r.EndedAt = &now
	})
}

func (s jobs) MarkRetry(ctx context.Context, lock *store.JobLock, code, message string, after time.Duration) (*store.Job, error) {
	return s.fenced(ctx, lock, store.JobRetrying, func(r *store.Job, now time.Time) {
		r.ErrorCode, r.ErrorMessage = &code, &message
		at := utc(now.Add(after))
		r.RetryAt = &at
		r.EndedAt = nil
	})
}
