package store

import (
	"context"
	"encoding/json"
	"time"
)

// The storage contract: what a backend implements. Implement it; do not
// call it. Programs call *Store, which validates every input, assigns IDs
// and defaults, checks the transaction context, and then makes exactly one
// Executor call per operation (see run.go). An Executor may therefore
// assume its input is valid (as validate.go defines it), that IDs are set
// and that the defaults (statuses, MaxAttempts, SANamespace) are filled;
// it never validates and never makes IDs. What stays the backend's is
// time: every timestamp it writes and every expiry it checks is read from
// its own clock (the database's, or an injected Clock), once per call.
//
// A pool-bound Executor (Backend.Executor) runs each call on its own, and
// a call that writes several rows (JobsClaim, JobsFinish, JobRequeue,
// UsageUpsertMany) is atomic: it runs in a short transaction of its own.
// A transaction-bound one (from Backend.Begin) runs each call inside that
// transaction. Errors are the sentinel errors of errors.go, wrapped with
// context: ErrNotFound, ErrConflict, ErrLockHeld, ErrLockLost, a
// *TransitionError, ErrSerialization, ErrUnavailable and ErrCommitUnknown
// as their docs say, and ErrTxAborted for a call in a transaction an
// earlier failed call aborted. Each method's doc names the errors that are
// answers; anything else is a failure of the database.

// Backend is a storage engine: store.New(backend) makes a Store over it.
type Backend interface {
	// Name names the engine ("postgres", "memory"), for observers.
	Name() string
	// Executor returns the pool-bound executor: each call on its own.
	Executor() Executor
	// Begin starts a transaction.
	Begin(ctx context.Context, opts TxOptions) (ExecutorTx, error)
}

// ExecutorTx is an Executor bound to one transaction.
type ExecutorTx interface {
	Executor
	// Commit commits. A serialization failure at commit is ErrSerialization;
	// a connection lost while COMMIT was in flight is ErrCommitUnknown.
	Commit(ctx context.Context) error
	// Rollback rolls back. It is called at most once, and never after Commit.
	Rollback(ctx context.Context) error
}

// Executor is every storage operation, named noun then verb. The methods
// of the user API (ClusterStore, JobStore, …) name the Executor method
// they call; their docs state the semantics, which the Executor must
// implement exactly (the conformance suite in storetest proves it). The
// worker operations are in backend_jobs.go.
type Executor interface {
	ClusterExecutor
	JobExecutor
	JobLockExecutor
	IdempotencyExecutor
	RBACExecutor
	AuditExecutor
	OutputsExecutor
	UsageExecutor
}

// ClusterExecutor stores clusters (see ClusterStore for the semantics).
type ClusterExecutor interface {
	// ClusterInsert inserts c (ID, Status and ClusterType set) and sets its
	// CreatedAt and UpdatedAt. ErrConflict on a taken ID or an active
	// namesake.
	ClusterInsert(ctx context.Context, c *Cluster) error
	// ClusterGetByID returns the cluster or ErrNotFound.
	ClusterGetByID(ctx context.Context, id string) (*Cluster, error)
	// ClusterGetByIDForUpdate also locks the row (FOR NO KEY UPDATE).
	ClusterGetByIDForUpdate(ctx context.Context, id string) (*Cluster, error)
	// ClusterList returns a page and the total, from one snapshot.
	ClusterList(ctx context.Context, f ClusterFilters) ([]*Cluster, int, error)
	// ClusterListAfter returns the keyset page after cursor, which Store
	// has checked against f's sort.
	ClusterListAfter(ctx context.Context, f ClusterFilters, cursor string) (Page[*Cluster], error)
	// ClusterUpdateStatus is the compare-and-set on AllowedFrom(to): a
	// *TransitionError, or ErrNotFound.
	ClusterUpdateStatus(ctx context.Context, id string, to ClusterStatus) (*Cluster, error)
	// ClusterUpdate writes u's non-nil fields, or ErrNotFound.
	ClusterUpdate(ctx context.Context, id string, u ClusterUpdate) (*Cluster, error)
	// ClusterListExpired is the TTL janitor's query.
	ClusterListExpired(ctx context.Context, limit int) ([]*Cluster, error)
}

// JobLockExecutor stores the per-cluster job locks (see JobLockStore).
// Tokens are strictly increasing per cluster across every grant, release
// and expiry, so a backend must remember a cluster's highest token even
// when its lock is released.
type JobLockExecutor interface {
	// JobLockAcquire grants, renews, or refuses with ErrLockHeld;
	// ErrNotFound when the job is not the cluster's.
	JobLockAcquire(ctx context.Context, p JobLockAcquireParams) (*JobLock, error)
	// JobLockExtend moves the expiry of a current token, else ErrLockLost.
	JobLockExtend(ctx context.Context, lock *JobLock, ttl time.Duration) (*JobLock, error)
	// JobLockRelease releases a current token, else ErrLockLost.
	JobLockRelease(ctx context.Context, lock *JobLock) error
	// JobLockGet returns the cluster's held lock, live or expired, or
	// ErrNotFound.
	JobLockGet(ctx context.Context, clusterID string) (*JobLock, error)
	// JobLockReleaseExpired releases every expired held lock and returns
	// how many.
	JobLockReleaseExpired(ctx context.Context) (int64, error)
}

// JobLockAcquireParams is one JobLockAcquire.
type JobLockAcquireParams struct {
	ClusterID string
	JobID     string
	TTL       time.Duration
	WorkerID  string
}

// IdempotencyExecutor stores idempotency keys (see IdempotencyStore).
type IdempotencyExecutor interface {
	// IdempotencyReserve creates the key with p.ID, or re-creates it with
	// p.ID over an expired one (created=true); a live key with the same
	// hash is returned as it is (created=false); a live key with another
	// hash is ErrIdempotencyMismatch.
	IdempotencyReserve(ctx context.Context, p IdempotencyReserveParams) (rec *IdempotencyKey, created bool, err error)
	// IdempotencyComplete stores the response: ErrNotFound, or ErrConflict
	// when already completed.
	IdempotencyComplete(ctx context.Context, p IdempotencyCompleteParams) (*IdempotencyKey, error)
	// IdempotencyGet returns the key, expired or not, or ErrNotFound.
	IdempotencyGet(ctx context.Context, scope, key string) (*IdempotencyKey, error)
	// IdempotencyDeleteExpired deletes the expired keys and returns how many.
	IdempotencyDeleteExpired(ctx context.Context) (int64, error)
}

// IdempotencyReserveParams is one IdempotencyReserve: the reservation and
// the ID a new record gets.
type IdempotencyReserveParams struct {
	ID string
	IdempotencyReservation
}

// IdempotencyCompleteParams is one IdempotencyComplete.
type IdempotencyCompleteParams struct {
	Body       json.RawMessage // stored byte for byte
	Key        string
	Scope      string
	StatusCode int
}

// RBACExecutor stores RBAC mappings (see RBACStore).
type RBACExecutor interface {
	// RBACInsert inserts m (ID set) and sets its timestamps. ErrConflict on
	// a taken ID or grant.
	RBACInsert(ctx context.Context, m *RBACMapping) error
	// RBACGetByID returns the mapping or ErrNotFound.
	RBACGetByID(ctx context.Context, id string) (*RBACMapping, error)
	// RBACListForPrincipal returns the enabled mappings by team, role.
	RBACListForPrincipal(ctx context.Context, arn string) ([]*RBACMapping, error)
	// RBACList returns a page, oldest first, and the total.
	RBACList(ctx context.Context, f RBACFilters) ([]*RBACMapping, int, error)
	// RBACSetEnabled sets Enabled, or ErrNotFound.
	RBACSetEnabled(ctx context.Context, id string, enabled bool) (*RBACMapping, error)
	// RBACDelete deletes, or ErrNotFound.
	RBACDelete(ctx context.Context, id string) error
}

// AuditExecutor stores audit events (see AuditStore).
type AuditExecutor interface {
	// AuditInsert appends e (ID set) and sets its CreatedAt. ErrConflict on
	// a taken ID.
	AuditInsert(ctx context.Context, e *AuditEvent) error
	// AuditList returns a page, newest first, and the total.
	AuditList(ctx context.Context, f AuditFilters) ([]*AuditEvent, int, error)
	// AuditListAfter returns the keyset page after cursor.
	AuditListAfter(ctx context.Context, f AuditFilters, cursor string) (Page[*AuditEvent], error)
	// AuditPurge deletes the events created before before. A backend with
	// roles may refuse it to a role that may not delete events.
	AuditPurge(ctx context.Context, before time.Time) (int64, error)
}

// OutputsExecutor stores cluster outputs and artifacts (see OutputStore).
type OutputsExecutor interface {
	// OutputsUpsert inserts o (ID and SANamespace set) or replaces the
	// cluster's row, keeping its ID and CreatedAt, and sets o's ID and
	// timestamps to the row's. ErrNotFound without the cluster.
	OutputsUpsert(ctx context.Context, o *ClusterOutputs) error
	// OutputsGet returns the cluster's outputs or ErrNotFound.
	OutputsGet(ctx context.Context, clusterID string) (*ClusterOutputs, error)
	// OutputsDelete deletes them, or ErrNotFound.
	OutputsDelete(ctx context.Context, clusterID string) error
	// OutputsListAfter returns up to limit rows whose cluster ID sorts
	// after afterClusterID (byte order; "" for the first page), in that
	// order, as stored.
	OutputsListAfter(ctx context.Context, afterClusterID string, limit int) ([]*ClusterOutputs, error)
	// OutputsSwapSecrets replaces, in one atomic step, the secret fields of
	// each swap's row with New where they still are Old (all three equal,
	// nil equal to nil), leaving every other column, updated_at included,
	// as it is, and returns how many rows it replaced. A row changed or
	// deleted since it was read is left alone.
	OutputsSwapSecrets(ctx context.Context, swaps []SecretsSwap) (int, error)
	// ArtifactInsert inserts a (ID set) and sets its CreatedAt. ErrNotFound
	// without the cluster, ErrConflict on a taken ID.
	ArtifactInsert(ctx context.Context, a *ClusterArtifact) error
	// ArtifactList returns the cluster's artifacts, oldest first.
	ArtifactList(ctx context.Context, clusterID string, t *ArtifactType) ([]*ClusterArtifact, error)
}

// UsageExecutor stores usage samples (see UsageStore).
type UsageExecutor interface {
	// UsageUpsert inserts s (ID set) or replaces the values of the sample
	// of the same cluster and time, and sets s.ID to the row's.
	UsageUpsert(ctx context.Context, s *UsageSample) error
	// UsageUpsertMany is UsageUpsert for every sample, all or none.
	UsageUpsertMany(ctx context.Context, samples []*UsageSample) error
	// UsageList returns the cluster's samples in [from, to), oldest first.
	UsageList(ctx context.Context, clusterID string, from, to time.Time) ([]*UsageSample, error)
	// UsageSummarizeByCluster sums the range per cluster, by cluster ID.
	UsageSummarizeByCluster(ctx context.Context, r UsageRange) ([]UsageSummary, error)
	// UsageSummarizeByTeam sums the range per team, by team.
	UsageSummarizeByTeam(ctx context.Context, r UsageRange) ([]UsageSummary, error)
}
