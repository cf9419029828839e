package store

import (
	"context"
	"time"
)

// JobLock is the lock a job holds on its cluster: at most one per cluster.
type JobLock struct {
	ClusterID string
	JobID     string
	LockedBy  string // the worker ID
	// Token is the fencing token: it is strictly greater on every grant of
	// this cluster's lock to a new holder, across expiries, releases and
	// deletions, and stays the same while one holder renews or extends.
	Token     int64
	LockedAt  time.Time // backend clock
	ExpiresAt time.Time // backend clock
}

// Expired reports whether the lock has expired at time now (backend clock).
func (l *JobLock) Expired(now time.Time) bool { return !now.Before(l.ExpiresAt) }

// JobLockStore is the API of the per-cluster job locks with fencing
// tokens: Store.JobLocks. Expiries are computed and compared on the
// backend's clock (the database's, or the injected Clock), never the
// worker's.
//
// A lock is live until ExpiresAt. A holder's token stays current until the
// lock is granted to another holder or released (by its holder, by
// ReleaseExpired, or by Requeue); an expired lock that nobody took over
// can still be extended by its holder.
type JobLockStore struct{ s *Store }

// Acquire grants clusterID's lock to (jobID, workerID) for ttl. If the
// same job and worker already hold it, it renews the expiry and keeps the
// token. If it is free or expired, it is granted with a new, larger token.
// If another holder's lock is live, ErrLockHeld. The job must exist and
// belong to the cluster, else ErrNotFound. ttl must be at least
// TimeResolution.
func (ls JobLockStore) Acquire(ctx context.Context, clusterID, jobID, workerID string, ttl time.Duration) (*JobLock, error) {
	return call(ls.s, ctx, "JobLocks.Acquire", func(ctx context.Context, x Executor) (*JobLock, error) {
		if err := validateAcquire(clusterID, jobID, workerID, ttl); err != nil {
			return nil, err
		}
		return x.JobLockAcquire(ctx, JobLockAcquireParams{ClusterID: clusterID, JobID: jobID, TTL: ttl, WorkerID: workerID})
	})
}

// Extend (the heartbeat) moves the expiry to now+ttl if lock's token is
// still current, else ErrLockLost. ttl must be at least TimeResolution.
func (ls JobLockStore) Extend(ctx context.Context, lock *JobLock, ttl time.Duration) (*JobLock, error) {
	return call(ls.s, ctx, "JobLocks.Extend", func(ctx context.Context, x Executor) (*JobLock, error) {
		if err := validateLock("lock", lock); err != nil {
			return nil, err
		}
		var k checker
		if k.ttl("ttl", ttl); k.err != nil {
			return nil, k.err
		}
		return x.JobLockExtend(ctx, lock, ttl)
	})
}

// Release frees the lock if its token is still current, else ErrLockLost.
func (ls JobLockStore) Release(ctx context.Context, lock *JobLock) error {
	return ls.s.run(ctx, "JobLocks.Release", func(ctx context.Context, x Executor) error {
		if err := validateLock("lock", lock); err != nil {
			return err
		}
		return x.JobLockRelease(ctx, lock)
	})
}

// Get returns the cluster's lock, live or expired, or ErrNotFound when it
// has none (never granted, or released).
func (ls JobLockStore) Get(ctx context.Context, clusterID string) (*JobLock, error) {
	return call(ls.s, ctx, "JobLocks.Get", func(ctx context.Context, x Executor) (*JobLock, error) {
		if err := checkID("cluster_id", clusterID); err != nil {
			return nil, err
		}
		return x.JobLockGet(ctx, clusterID)
	})
}

// ReleaseExpired releases every expired lock and returns how many: Get
// finds them no more, and their holders' tokens stop being current. (The
// backend may keep the released rows, to remember each cluster's highest
// token.)
func (ls JobLockStore) ReleaseExpired(ctx context.Context) (int64, error) {
	return call(ls.s, ctx, "JobLocks.ReleaseExpired", func(ctx context.Context, x Executor) (int64, error) {
		return x.JobLockReleaseExpired(ctx)
	})
}
