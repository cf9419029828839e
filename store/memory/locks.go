package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

func lockLost(l *store.JobLock) error {
	return fmt.Errorf("cluster %s: token %d of job %s is not current: %w", l.ClusterID, l.Token, l.JobID, store.ErrLockLost)
}

// current returns the cluster's lock row when lock's token (and job) is
// still current; expiry alone does not make a token stale.
func (v *dbView) current(lock *store.JobLock) *store.JobLock {
	l := v.locks.get(lock.ClusterID)
	if l == nil || l.Token != lock.Token || l.JobID != lock.JobID {
		return nil
	}
	return l
}

// grant grants the cluster's lock at now, as JobLockAcquire documents,
// with a token from the backend's counter, which is greater than every
// token ever granted (and at least the old row's + 1, as the PostgreSQL
// backend's GREATEST does).
func (s executor) grant(v *dbView, p store.JobLockAcquireParams, now time.Time) (*store.JobLock, error) {
	clusterID, jobID, workerID := p.ClusterID, p.JobID, p.WorkerID
	if j := v.jobs.get(jobID); j == nil || j.ClusterID != clusterID {
		return nil, fmt.Errorf("lock cluster %s: job %s of that cluster: %w", clusterID, jobID, store.ErrNotFound)
	}
	expires := utc(now.Add(p.TTL))
	var r store.JobLock
	switch l := v.locks.get(clusterID); {
	case l != nil && l.JobID == jobID && l.LockedBy == workerID:
		r = *l // the holder renews, even after expiry, and keeps its token
		r.ExpiresAt = expires
	case l != nil && now.Before(l.ExpiresAt):
		return nil, fmt.Errorf("lock cluster %s: held by job %s (worker %s) until %s: %w",
			clusterID, l.JobID, l.LockedBy, l.ExpiresAt, store.ErrLockHeld)
	default:
		token := s.b.tokens.Add(1)
		if l != nil {
			token = max(token, l.Token+1)
		}
		r = store.JobLock{ClusterID: clusterID, JobID: jobID, LockedBy: workerID, Token: token,
			LockedAt: now, ExpiresAt: expires}
	}
	v.locks.put(clusterID, &r)
	return &r, nil
}

func (s executor) JobLockAcquire(ctx context.Context, p store.JobLockAcquireParams) (*store.JobLock, error) {
	var out *store.JobLock
	err := s.via.write(ctx, func(v *dbView) error {
		l, err := s.grant(v, p, s.b.now())
		if err == nil {
			out = cloneLock(l)
		}
		return err
	})
	return out, err
}

func (s executor) JobLockExtend(ctx context.Context, lock *store.JobLock, ttl time.Duration) (*store.JobLock, error) {
	var out *store.JobLock
	err := s.via.write(ctx, func(v *dbView) error {
		l := v.current(lock)
		if l == nil {
			return lockLost(lock)
		}
		r := *l
		r.ExpiresAt = utc(s.b.now().Add(ttl))
		v.locks.put(r.ClusterID, &r)
		out = cloneLock(&r)
		return nil
	})
	return out, err
}

func (s executor) JobLockRelease(ctx context.Context, lock *store.JobLock) error {
	return s.via.write(ctx, func(v *dbView) error {
		if v.current(lock) == nil {
			return lockLost(lock)
		}
		v.locks.del(lock.ClusterID)
		return nil
	})
}

func (s executor) JobLockGet(ctx context.Context, clusterID string) (*store.JobLock, error) {
	var out *store.JobLock
	err := s.via.read(ctx, func(v *dbView) error {
		l := v.locks.get(clusterID)
		if l == nil {
			return fmt.Errorf("lock of cluster %s: %w", clusterID, store.ErrNotFound)
		}
		out = cloneLock(l)
		return nil
	})
	return out, err
}

func (s executor) JobLockReleaseExpired(ctx context.Context) (int64, error) {
	var n int64
	err := s.via.write(ctx, func(v *dbView) error {
		now := s.b.now()
		for id, l := range v.locks.all() {
			if !now.Before(l.ExpiresAt) {
				v.locks.del(id)
				n++
			}
		}
		return nil
	})
	return n, err
}
