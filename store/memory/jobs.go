package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

func jobNotFound(id string) error { return fmt.Errorf("job %s: %w", id, store.ErrNotFound) }

func jobTransition(j *store.Job, to store.JobStatus) error {
	return &store.TransitionError{Entity: "job", ID: j.ID, From: string(j.Status), To: string(to)}
}

func (s executor) JobInsert(ctx context.Context, j *store.Job) error {
	return s.via.write(ctx, func(v *dbView) error {
		r := cloneJob(j)
		now := s.b.now()
		r.CreatedAt, r.UpdatedAt = now, now
		if v.jobs.get(r.ID) != nil {
			return failedStatement(fmt.Errorf("job %s: id exists: %w", r.ID, store.ErrConflict))
		}
		if v.clusters.get(r.ClusterID) == nil {
			return failedStatement(fmt.Errorf("job %s: %w", r.ID, clusterNotFound(r.ClusterID)))
		}
		v.jobs.put(r.ID, r)
		j.CreatedAt, j.UpdatedAt = now, now
		return nil
	})
}

func (s executor) JobGetByID(ctx context.Context, id string) (*store.Job, error) {
	var out *store.Job
	err := s.via.read(ctx, func(v *dbView) error {
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
func (v *dbView) matchJobs(f *store.JobFilters, keep func(*store.Job) bool) []*store.Job {
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

func (s executor) JobList(ctx context.Context, f store.JobFilters) ([]*store.Job, int, error) {
	var out []*store.Job
	var total int
	err := s.via.read(ctx, func(v *dbView) error {
		rows := v.matchJobs(&f, nil)
		total = len(rows)
		out = cloneAll(window(rows, jobOrder(f.Desc), f.Offset, store.EffectiveLimit(f.Limit)), cloneJob)
		return nil
	})
	return out, total, err
}

func (s executor) JobListAfter(ctx context.Context, f store.JobFilters, cursor string) (store.Page[*store.Job], error) {
	var page store.Page[*store.Job]
	err := s.via.read(ctx, func(v *dbView) error {
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

// moveJob is the compare-and-set of a job's status: it applies change to
// job id and moves it to to, refusing with a job TransitionError unless
// its status is one of from.
func (v *dbView) moveJob(id string, to store.JobStatus, from []store.JobStatus, now time.Time,
	change func(r *store.Job)) (*store.Job, error) {
	cur := v.jobs.get(id)
	if cur == nil {
		return nil, jobNotFound(id)
	}
	if !slices.Contains(from, cur.Status) {
		return nil, jobTransition(cur, to)
	}
	r := *cur
	r.Status, r.UpdatedAt = to, now
	change(&r)
	v.jobs.put(id, &r)
	return &r, nil
}

// fencedJob applies change to the lock's job and moves it to to only while
// the job is RUNNING and the lock's token is its cluster's current token
// for that job: the check and the write are one step, so a stale holder
// can never write.
func (v *dbView) fencedJob(lock *store.JobLock, to store.JobStatus, now time.Time, change func(r *store.Job)) (*store.Job, error) {
	j := v.jobs.get(lock.JobID)
	if j == nil || j.Status != store.JobRunning || j.ClusterID != lock.ClusterID || v.current(lock) == nil {
		return nil, fmt.Errorf("job %s: token %d is not the current lock of cluster %s: %w",
			lock.JobID, lock.Token, lock.ClusterID, store.ErrLockLost)
	}
	r := *j
	r.Status, r.UpdatedAt = to, now
	change(&r)
	v.jobs.put(r.ID, &r)
	return &r, nil
}

// writeJob runs fn as one write at one now and returns a copy of the job
// it wrote.
func (s executor) writeJob(ctx context.Context, fn func(v *dbView, now time.Time) (*store.Job, error)) (*store.Job, error) {
	var out *store.Job
	err := s.via.write(ctx, func(v *dbView) error {
		j, err := fn(v, s.b.now())
		if err == nil {
			out = cloneJob(j)
		}
		return err
	})
	return out, err
}

// runnableStatuses are the statuses a job may start or be cancelled from.
var runnableStatuses = []store.JobStatus{store.JobPending, store.JobRetrying}

// The changes of the job writes, at now.

func started(now time.Time) func(*store.Job) {
	return func(r *store.Job) {
		r.Attempt++
		r.StartedAt = &now
		r.RetryAt, r.EndedAt = nil, nil
	}
}

func failed(code, message string, now time.Time) func(*store.Job) {
	return func(r *store.Job) {
		r.ErrorCode, r.ErrorMessage = &code, &message
		r.EndedAt = &now
	}
}

func succeeded(metadata map[string]string, now time.Time) func(*store.Job) {
	return func(r *store.Job) {
		r.EndedAt = &now
		if len(metadata) > 0 {
			md := make(map[string]string, len(r.Metadata)+len(metadata))
			maps.Copy(md, r.Metadata)
			maps.Copy(md, metadata) // new keys overwrite
			r.Metadata = md
		}
	}
}

func retrying(code, message string, after time.Duration, now time.Time) func(*store.Job) {
	return func(r *store.Job) {
		r.ErrorCode, r.ErrorMessage = &code, &message
		at := utc(now.Add(after))
		r.RetryAt = &at
		r.EndedAt = nil
	}
}

func (s executor) JobMarkStarted(ctx context.Context, id string) (*store.Job, error) {
	return s.writeJob(ctx, func(v *dbView, now time.Time) (*store.Job, error) {
		return v.moveJob(id, store.JobRunning, runnableStatuses, now, started(now))
	})
}

func (s executor) JobCancel(ctx context.Context, id, code, message string) (*store.Job, error) {
	return s.writeJob(ctx, func(v *dbView, now time.Time) (*store.Job, error) {
		return v.moveJob(id, store.JobFailed, runnableStatuses, now, failed(code, message, now))
	})
}

func (s executor) JobMarkSucceeded(ctx context.Context, lock *store.JobLock, metadata map[string]string) (*store.Job, error) {
	return s.writeJob(ctx, func(v *dbView, now time.Time) (*store.Job, error) {
		return v.fencedJob(lock, store.JobSucceeded, now, succeeded(metadata, now))
	})
}

func (s executor) JobMarkFailed(ctx context.Context, lock *store.JobLock, code, message string) (*store.Job, error) {
	return s.writeJob(ctx, func(v *dbView, now time.Time) (*store.Job, error) {
		return v.fencedJob(lock, store.JobFailed, now, failed(code, message, now))
	})
}

func (s executor) JobMarkRetry(ctx context.Context, p store.JobMarkRetryParams) (*store.Job, error) {
	return s.writeJob(ctx, func(v *dbView, now time.Time) (*store.Job, error) {
		return v.fencedJob(p.Lock, store.JobRetrying, now, retrying(p.Code, p.Message, p.After, now))
	})
}
