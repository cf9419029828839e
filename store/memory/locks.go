package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// locks is the JobLockStore: one row per cluster, keyed by cluster ID.
type locks struct {
	b *Backend
	h handle
}

func lockLost(l *store.JobLock) error {
	return fmt.Errorf("cluster %s: token %d of job %s is not current: %w", l.ClusterID, l.Token, l.JobID, store.ErrLockLost)
}

// current returns the cluster's lock row when lock's token (and job) is
// still current; expiry alone does not make a token stale.
func (v *view) current(lock *store.JobLock) *store.JobLock {
	l := v.locks.get(lock.ClusterID)
	if l == nil || l.Token != lock.Token || l.JobID != lock.JobID {
		return nil
	}
	return l
}

// Acquire grants the lock with a token from the backend's counter, which is
// greater than every token ever granted (and at least the old row's + 1,
// as the PostgreSQL backend's GREATEST does).
func (s locks) Acquire(ctx context.Context, clusterID, jobID, workerID string, ttl time.Duration) (*store.JobLock, error) {
	var out *store.JobLock
	err := s.h.write(ctx, func(v *view) error {
		if j := v.jobs.get(jobID); j == nil || j.ClusterID != clusterID {
			return fmt.Errorf("lock cluster %s: job %s of that cluster: %w", clusterID, jobID, store.ErrNotFound)
		}
		now := s.b.now()
		expires := utc(now.Add(ttl))
		var r store.JobLock
		switch l := v.locks.get(clusterID); {
		case l != nil && l.JobID == jobID && l.LockedBy == workerID:
			r = *l // the holder renews, even after expiry, and keeps its token
			r.ExpiresAt = expires
		case l != nil && now.Before(l.ExpiresAt):
			return fmt.Errorf("lock cluster %s: held by job %s (worker %s) until %s: %w",
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
		out = cloneLock(&r)
		return nil
	})
	return out, err
}

func (s locks) Extend(ctx context.Context, lock *store.JobLock, ttl time.Duration) (*store.JobLock, error) {
	var out *store.JobLock
	err := s.h.write(ctx, func(v *view) error {
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

func (s locks) Release(ctx context.Context, lock *store.JobLock) error {
	return s.h.write(ctx, func(v *view) error {
		if v.current(lock) == nil {
			return lockLost(lock)
		}
		v.locks.del(lock.ClusterID)
		return nil
	})
}

func (s locks) Get(ctx context.Context, clusterID string) (*store.JobLock, error) {
	var out *store.JobLock
	err := s.h.read(ctx, func(v *view) error {
		l := v.locks.get(clusterID)
		if l == nil {
			return fmt.Errorf("lock of cluster %s: %w", clusterID, store.ErrNotFound)
		}
		out = cloneLock(l)
		return nil
	})
	return out, err
}

func (s locks) DeleteExpired(ctx context.Context) (int64, error) {
	var n int64
	err := s.h.write(ctx, func(v *view) error {
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
