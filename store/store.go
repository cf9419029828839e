package store

import (
	"context"
	"sync/atomic"
)

// Stores is the set of sub-stores a Backend provides, bound either to the
// backend's pool or to one of its transactions.
type Stores struct {
	Clusters    ClusterStore
	Jobs        JobStore
	JobLocks    JobLockStore
	Idempotency IdempotencyStore
	RBAC        RBACStore
	Audit       AuditStore
	Outputs     OutputStore // outputs and artifacts
	Usage       UsageStore
}

// Backend is what a storage engine implements to plug into Store. Its
// sub-stores may assume their input has been validated: Store wraps them in
// a layer that refuses bad input before it reaches the backend.
type Backend interface {
	// Stores returns sub-stores that run each call on their own (autocommit).
	Stores() Stores
	// Begin starts a transaction.
	Begin(ctx context.Context, opts TxOptions) (BackendTx, error)
}

// BackendTx is a backend transaction.
type BackendTx interface {
	// Stores returns sub-stores bound to this transaction.
	Stores() Stores
	// Commit commits. A serialization failure at commit is ErrSerialization;
	// a connection lost while COMMIT was in flight is ErrCommitUnknown.
	Commit(ctx context.Context) error
	// Rollback rolls back. It is called at most once, and never after Commit.
	Rollback(ctx context.Context) error
}

// Store is the entry point: one field per sub-store, plus transactions and
// the worker operations (Claim, Finish, RecoverStuck, KeepAlive). The same
// type is used inside a transaction (see WithTx), so code reads the same in
// and out of one. A Store is safe for concurrent use; a transaction-bound
// Store belongs to the goroutine running the transaction.
type Store struct {
	Stores

	backend Backend
	tx      BackendTx // nil unless bound to a transaction
	config  *config   // shared by a Store and its transaction-bound copies
}

// config is the Store's settings and counters.
type config struct {
	retry RetryPolicy
	stats txCounters
}

// txCounters are the cumulative transaction counters behind Stats.
type txCounters struct {
	commits, rollbacks, retries atomic.Uint64
}

// TxStats counts a Store's transactions since New.
type TxStats struct {
	Commits   uint64 // transactions committed
	Rollbacks uint64 // transactions rolled back (errors, panics, retries)
	Retries   uint64 // transactions run again after a serialization failure
}

// Option configures New.
type Option func(*config)

// WithRetryPolicy sets how WithTx retries serialization failures.
func WithRetryPolicy(p RetryPolicy) Option { return func(c *config) { c.retry = p } }

// New returns a Store over backend b.
func New(b Backend, opts ...Option) *Store {
	cfg := &config{retry: DefaultRetryPolicy()}
	for _, o := range opts {
		o(cfg)
	}
	return &Store{Stores: guarded(validating(b.Stores()), cfg), backend: b, config: cfg}
}

// InTx reports whether s is bound to a transaction.
func (s *Store) InTx() bool { return s.tx != nil }

// Stats returns the Store's transaction counters.
func (s *Store) Stats() TxStats {
	c := &s.config.stats
	return TxStats{Commits: c.commits.Load(), Rollbacks: c.rollbacks.Load(), Retries: c.retries.Load()}
}

// bind returns a Store bound to backend transaction tx. Its sub-stores are
// not guarded (see txguard.go): they are the transaction's.
func (s *Store) bind(tx BackendTx) *Store {
	return &Store{Stores: validating(tx.Stores()), backend: s.backend, tx: tx, config: s.config}
}
