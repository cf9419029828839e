package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// live reports whether the cluster's lock row exists and has not expired.
func (v *dbView) live(clusterID string, now time.Time) bool {
	l := v.locks.get(clusterID)
	return l != nil && now.Before(l.ExpiresAt)
}

// runnable looks at each cluster's oldest open (non-terminal) job, the
// only one of its jobs that may run since a cluster's jobs run in creation
// order, and returns up to limit of those that are PENDING, or RETRYING
// with RetryAt passed, of one of types (any when empty), on a cluster
// without a live lock, oldest first. Its cost grows with the number of
// clusters that have open jobs, not with the number of jobs.
func (v *dbView) runnable(now time.Time, types []store.JobType, limit int) []*store.Job {
	var found []*store.Job
	for clusterID, j := range v.jobs.heads(v.db.jobOpen) {
		switch {
		case j.Status == store.JobRunning,
			j.Status == store.JobRetrying && (j.RetryAt == nil || j.RetryAt.After(now)),
			len(types) > 0 && !slices.Contains(types, j.JobType),
			v.live(clusterID, now):
			continue
		}
		found = append(found, j)
	}
	return window(found, jobOrder(false), 0, limit)
}

// JobsLockRunnable runs as a write: a transaction owns every row it reads,
// which is at least what FOR UPDATE locks, and a competing caller waits
// for it instead of skipping rows.
func (s executor) JobsLockRunnable(ctx context.Context, q store.RunnableQuery) ([]store.Runnable, error) {
	var out []store.Runnable
	err := s.via.write(ctx, func(v *dbView) error {
		found := v.runnable(s.b.now(), q.JobTypes, q.Limit)
		out = make([]store.Runnable, 0, len(found))
		for _, j := range found {
			out = append(out, store.Runnable{Job: cloneJob(j), Cluster: cloneCluster(v.clusters.get(j.ClusterID))})
		}
		return nil
	})
	return out, err
}

// ListStuck returns RUNNING jobs whose cluster lock is missing, expired or
// held for another job, oldest StartedAt first (a NULL last, as PostgreSQL
// sorts ascending).
func (s executor) JobListStuck(ctx context.Context, limit int) ([]*store.Job, error) {
	var out []*store.Job
	err := s.via.read(ctx, func(v *dbView) error {
		now := s.b.now()
		var rows []*store.Job
		for _, j := range v.jobs.in(v.db.jobStatus, string(store.JobRunning)) {
			if l := v.locks.get(j.ClusterID); l == nil || !now.Before(l.ExpiresAt) || l.JobID != j.ID {
				rows = append(rows, j)
			}
		}
		out = cloneAll(window(rows, byStarted, 0, limit), cloneJob)
		return nil
	})
	return out, err
}

// byStarted orders jobs by (StartedAt NULLS LAST, ID).
func byStarted(a, b *store.Job) int {
	switch {
	case a.StartedAt == nil && b.StartedAt == nil:
		return strings.Compare(a.ID, b.ID)
	case a.StartedAt == nil:
		return 1
	case b.StartedAt == nil:
		return -1
	}
	return byTimeID(*a.StartedAt, *b.StartedAt, a.ID, b.ID, false)
}

// Requeue takes back a stuck RUNNING job in one step: ErrConflict while its
// own lock is live; otherwise its expired lock, if any, is deleted and the
// job becomes RETRYING now, or FAILED (ErrCodeAbandoned) without attempts
// left.
func (s executor) JobRequeue(ctx context.Context, id string) (*store.Job, error) {
	var out *store.Job
	err := s.via.write(ctx, func(v *dbView) error {
		cur := v.jobs.get(id)
		if cur == nil {
			return jobNotFound(id)
		}
		if cur.Status != store.JobRunning {
			return jobTransition(cur, store.JobRetrying)
		}
		now := s.b.now()
		l := v.locks.get(cur.ClusterID)
		own := l != nil && l.JobID == id
		if own && now.Before(l.ExpiresAt) {
			return fmt.Errorf("requeue job %s: its lock on cluster %s is live until %s: %w",
				id, cur.ClusterID, l.ExpiresAt, store.ErrConflict)
		}
		if own {
			v.locks.del(cur.ClusterID)
		}
		r := *cur
		r.UpdatedAt = now
		if r.Attempt < r.MaxAttempts {
			r.Status, r.RetryAt, r.EndedAt = store.JobRetrying, &now, nil
		} else {
			code := store.ErrCodeAbandoned
			msg := fmt.Sprintf("worker stopped heartbeating and the job had no attempts left (%d of %d)", r.Attempt, r.MaxAttempts)
			r.Status, r.ErrorCode, r.ErrorMessage, r.EndedAt = store.JobFailed, &code, &msg, &now
		}
		v.jobs.put(id, &r)
		out = cloneJob(&r)
		return nil
	})
	return out, err
}
