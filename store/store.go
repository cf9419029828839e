package store

import (
	"sync/atomic"

	"github.com/ocpctl/ocpstore/store/keyring"
)

// Store is the API programs call: one field per sub-store, plus
// transactions and the worker operations (Claim, Finish, RecoverStuck,
// KeepAlive). The same type is used inside a transaction (see WithTx), so
// code reads the same in and out of one. A Store is safe for concurrent
// use; a transaction-bound Store belongs to the goroutine running the
// transaction.
//
// Every method validates its input, assigns IDs and defaults, and then
// makes one call into the backend's Executor, through one boundary (see
// run.go) that also refuses an outer Store called with a live
// transaction's context and reports each operation to the Observer.
type Store struct {
	Clusters    ClusterStore
	Jobs        JobStore
	JobLocks    JobLockStore
	Idempotency IdempotencyStore
	RBAC        RBACStore
	Audit       AuditStore
	Outputs     OutputStore // outputs and artifacts
	Usage       UsageStore

	backend Backend
	x       Executor   // the pool's, or tx
	tx      ExecutorTx // nil unless bound to a transaction
	config  *config    // shared by a Store and its transaction-bound copies
}

// config is the Store's settings and counters.
type config struct {
	retry     RetryPolicy
	observer  Observer
	retryObs  RetryObserver     // observer, when it is one
	beatObs   HeartbeatObserver // observer, when it is one
	backend   string            // Backend.Name, for the observer
	keyring   keyring.Keyring   // seals secret fields; nil: none
	plaintext bool              // WithPlaintextSecrets
	// derivedFrom is the guard owner of the Store Derive made this one
	// from (see txmarker.go); nil for New.
	derivedFrom *config
	stats       txCounters
}

// txCounters are the cumulative counters behind Stats.
type txCounters struct {
	operations, errors          atomic.Uint64
	commits, rollbacks, retries atomic.Uint64
}

// TxStats counts a Store's operations and transactions since New, its
// transaction-bound copies' included. Operations and Errors count every
// call of the user API (a WithTx once, as a whole, besides the operations
// fn makes). Commits and Rollbacks count the transactions of WithTx and
// BeginTx; the short transactions a backend runs for one operation (a
// Claim outside WithTx, say) are part of that operation, not counted
// again. Retries counts WithTx's transactions and the worker operations
// run again after a serialization failure.
type TxStats struct {
	Operations uint64 // operations called
	Errors     uint64 // operations that returned an error (answers such as ErrNoJob included)
	Commits    uint64 // transactions committed
	Rollbacks  uint64 // transactions rolled back (errors, panics, retries)
	Retries    uint64 // transactions or operations run again after a serialization failure
}

// Option configures New.
type Option func(*config)

// WithRetryPolicy sets how WithTx and the worker operations retry
// serialization failures.
func WithRetryPolicy(p RetryPolicy) Option { return func(c *config) { c.retry = p } }

// WithObserver makes o see every operation of the Store (see Observer).
// An Observer that also implements RetryObserver or HeartbeatObserver
// sees those events too.
func WithObserver(o Observer) Option {
	return func(c *config) {
		c.observer = o
		c.retryObs, _ = o.(RetryObserver)
		c.beatObs, _ = o.(HeartbeatObserver)
	}
}

// New returns a Store over backend b.
func New(b Backend, opts ...Option) *Store {
	cfg := &config{retry: DefaultRetryPolicy(), backend: b.Name()}
	for _, o := range opts {
		o(cfg)
	}
	return newStore(b, b.Executor(), nil, cfg)
}

// newStore returns a Store whose sub-stores run on x.
func newStore(b Backend, x Executor, tx ExecutorTx, cfg *config) *Store {
	s := &Store{backend: b, x: x, tx: tx, config: cfg}
	s.Clusters, s.Jobs, s.JobLocks, s.Idempotency = ClusterStore{s}, JobStore{s}, JobLockStore{s}, IdempotencyStore{s}
	s.RBAC, s.Audit, s.Outputs, s.Usage = RBACStore{s}, AuditStore{s}, OutputStore{s}, UsageStore{s}
	return s
}

// Derive returns a Store on s's backend (and transaction, when s is bound
// to one) with s's settings changed by opts: another keyring for a
// rotation, say. Its transaction counters start at zero. The outer-Store
// guard (see WithTx) treats it as s: a derived outer Store called with the
// context of s's live transaction is refused, and the other way round.
func Derive(s *Store, opts ...Option) *Store {
	cfg := &config{retry: s.config.retry, observer: s.config.observer, retryObs: s.config.retryObs,
		beatObs: s.config.beatObs, backend: s.config.backend, keyring: s.config.keyring,
		plaintext: s.config.plaintext, derivedFrom: s.config.guardOwner()}
	for _, o := range opts {
		o(cfg)
	}
	return newStore(s.backend, s.x, s.tx, cfg)
}

// InTx reports whether s is bound to a transaction.
func (s *Store) InTx() bool { return s.tx != nil }

// Stats returns the Store's operation and transaction counters.
func (s *Store) Stats() TxStats {
	c := &s.config.stats
	return TxStats{Operations: c.operations.Load(), Errors: c.errors.Load(),
		Commits: c.commits.Load(), Rollbacks: c.rollbacks.Load(), Retries: c.retries.Load()}
}

// bind returns a Store bound to the backend transaction tx. Its calls are
// not checked for a live transaction's context (see txmarker.go): they are
// the transaction's.
func (s *Store) bind(tx ExecutorTx) *Store { return newStore(s.backend, tx, tx, s.config) }
