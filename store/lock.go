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

// JobLockStore grants per-cluster locks with fencing tokens. Expiries are
// computed and compared on the backend's clock (the database's, or the
// injected Clock), never the worker's.
//
// A lock is live until ExpiresAt. A holder's token stays current until the
// lock is granted to another holder, released, or deleted; an expired lock
// that nobody took over can still be extended by its holder.
type JobLockStore interface {
	// Acquire grants clusterID's lock to (jobID, workerID) for ttl. If the
	// same job and worker already hold it, it renews the expiry and keeps
	// the token. If it is free or expired, it is granted with a new, larger
	// token. If another holder's lock is live, ErrLockHeld. The job must
	// exist and belong to the cluster, else ErrNotFound. ttl must be at
	// least TimeResolution.
	Acquire(ctx context.Context, clusterID, jobID, workerID string, ttl time.Duration) (*JobLock, error)
	// Extend (the heartbeat) moves the expiry to now+ttl if lock's token is
	// still current, else ErrLockLost. ttl must be at least TimeResolution.
	Extend(ctx context.Context, lock *JobLock, ttl time.Duration) (*JobLock, error)
	// Release frees the lock if its token is still current, else ErrLockLost.
	Release(ctx context.Context, lock *JobLock) error
	// Get returns the cluster's lock row, live or expired, or ErrNotFound.
	Get(ctx context.Context, clusterID string) (*JobLock, error)
	// DeleteExpired deletes every expired lock and returns how many. Their
	// holders' tokens stop being current.
	DeleteExpired(ctx context.Context) (int64, error)
}
