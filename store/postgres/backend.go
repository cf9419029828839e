// Package postgres is ocpstore's production backend: the store's sub-stores
// over a pgx/v5 connection pool, with SQL built by squirrel (Dollar
// placeholders) and executed by pgx directly.
//
// Every timestamp the backend writes and every expiry it checks is computed
// in SQL from one "now": the injected clock's reading (WithClock) passed as
// a parameter, or else the database's statement_timestamp(). The worker's
// own clock is never used, so workers with skewed clocks still agree on
// who holds a lock.
//
// Database failures that pass by themselves (a terminated session, a
// restart, a failover, a read-only server, a refused connection) are
// reported as store.ErrUnavailable, and as store.ErrCommitUnknown too when
// a write may have reached the server: IsUnavailable lists them. A BEGIN,
// or a statement that never reached the server, is retried once on a fresh
// connection, and pools made by NewPool never hand out a connection whose
// server side ended while it was idle.
//
// # Lock order
//
// Every path that locks a cluster's row and its lock row (job_locks) takes
// the cluster row first, then the lock row, then the lock's job row, and
// locks several rows of one table in key order. The row locks are the
// weakest that do the job: FOR NO KEY UPDATE on a cluster row
// (GetByIDForUpdate, LockRunnable, Requeue, Finish), never FOR UPDATE,
// because a job_locks or jobs write checks its foreign keys with FOR KEY
// SHARE on the referenced cluster and job rows, which FOR NO KEY UPDATE lets
// through and FOR UPDATE blocked; and FOR NO KEY UPDATE on a lock row in a
// fenced write, not FOR SHARE, which two writers of one lock would both get
// and then each wait to upgrade. So: the manual pattern (GetByIDForUpdate,
// Acquire, MarkStarted, UpdateStatus), Claim and ClaimMany (LockRunnable on
// job and cluster rows, which skips locked rows and so never waits; then
// the lock rows, in cluster order), Finish and FinishMany (the clusters, in
// ID order, then the fenced writes and the releases), Requeue and
// RecoverStuck (cluster, lock row, job) and DeleteExpired (the expired lock
// rows in cluster order) cannot wait for each other in a cycle. A plain
// Acquire, Extend or Release locks only the lock row. The deterministic
// tests in lockorder_test.go reproduce each deadlock the old order caused.
package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
)

// Backend implements store.Backend on a PostgreSQL connection pool. Its
// autocommit sub-stores run each call on a pool connection; a transaction's
// sub-stores run on the transaction's connection. (A call through the
// outer Store with the context WithTx gives fn is refused by package store;
// with another context it runs on another connection, outside the
// transaction.)
type Backend struct {
	pool     beginner
	clock    store.Clock
	storeOps []store.Option
}

var (
	_ store.Backend    = (*Backend)(nil)
	_ store.ExecutorTx = (*backendTx)(nil)
)

// Option configures New and NewBackend.
type Option func(*Backend)

// WithClock makes the backend read every "now" from c instead of the
// database's statement_timestamp(): tests pass a *store.ManualClock to move
// time instead of sleeping. A nil c means the database clock.
func WithClock(c store.Clock) Option { return func(b *Backend) { b.clock = c } }

// WithStoreOptions passes options (such as store.WithRetryPolicy) to the
// store.Store that New returns. NewBackend ignores them.
func WithStoreOptions(opts ...store.Option) Option {
	return func(b *Backend) { b.storeOps = append(b.storeOps, opts...) }
}

// New returns a Store backed by pool. The pool should be migrated (see
// Migrate) and is not closed by the Store.
func New(pool *pgxpool.Pool, opts ...Option) *store.Store {
	return newStore(pool, opts...)
}

// NewBackend returns the Backend on pool, for store.New or for wrapping.
func NewBackend(pool *pgxpool.Pool, opts ...Option) *Backend {
	return newBackend(pool, opts...)
}

// newStore is New over any beginner, so unit tests can pass a mock.
func newStore(pool beginner, opts ...Option) *store.Store {
	b := newBackend(pool, opts...)
	return store.New(b, b.storeOps...)
}

func newBackend(pool beginner, opts ...Option) *Backend {
	b := &Backend{pool: pool}
	for _, o := range opts {
		o(b)
	}
	return b
}

// Name returns "postgres".
func (b *Backend) Name() string { return "postgres" }

// Executor returns the executor that runs each call on its own pool
// connection (autocommit; the few operations that need several statements
// run them in a short transaction of their own).
func (b *Backend) Executor() store.Executor {
	return executor{conn{q: pooled{b.pool}, pool: b.pool, clock: b.clock}}
}

// Begin starts a transaction with the given isolation and access mode. A
// BEGIN that met a dead connection is tried once more (see begin).
func (b *Backend) Begin(ctx context.Context, opts store.TxOptions) (store.ExecutorTx, error) {
	tx, err := begin(ctx, b.pool, opts)
	if err != nil {
		return nil, mapError(ctx, err, "begin")
	}
	return &backendTx{tx: tx, executor: executor{conn{q: inTx{tx: tx, readOnly: opts.ReadOnly}, clock: b.clock}}}, nil
}

// executor is the store.Executor on a conn: the pool, or a transaction.
// Its methods are in the file of their table; the worker operations are in
// claim.go.
type executor struct{ conn }

// txOptions translates store options to pgx's. The isolation level is
// always named, so the server's default_transaction_isolation cannot
// change what READ COMMITTED means here.
func txOptions(o store.TxOptions) pgx.TxOptions {
	opts := pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite}
	switch o.Isolation {
	case store.IsolationRepeatableRead:
		opts.IsoLevel = pgx.RepeatableRead
	case store.IsolationSerializable:
		opts.IsoLevel = pgx.Serializable
	}
	if o.ReadOnly {
		opts.AccessMode = pgx.ReadOnly
	}
	return opts
}
