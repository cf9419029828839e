package postgres

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
)

// Backend implements store.Backend on a PostgreSQL connection pool. Its
// pool-bound executor runs each call on a pool connection; a
// transaction's executor runs on the transaction's connection. (A call
// through the outer Store with the context WithTx gives fn is refused by
// package store; with another context it runs on another connection,
// outside the transaction.)
type Backend struct {
	pool           beginner
	clock          store.Clock
	queueSeenEmpty atomic.Bool // see conn.queueSeenEmpty
}

var (
	_ store.Backend    = (*Backend)(nil)
	_ store.ExecutorTx = (*backendTx)(nil)

	_ store.QueueStatsExecutor = executor{}
)

// Option configures New: a BackendOption (WithClock), or WithStoreOptions.
type Option interface {
	apply(b *Backend, storeOpts *[]store.Option)
}

// BackendOption configures New and NewBackend.
type BackendOption func(*Backend)

func (o BackendOption) apply(b *Backend, _ *[]store.Option) { o(b) }

// storeOptions is WithStoreOptions's Option.
type storeOptions []store.Option

func (o storeOptions) apply(_ *Backend, opts *[]store.Option) { *opts = append(*opts, o...) }

// WithClock makes the backend read every "now" from c instead of the
// database's statement_timestamp(): tests pass a *store.ManualClock to move
// time instead of sleeping. A nil c means the database clock.
func WithClock(c store.Clock) BackendOption { return func(b *Backend) { b.clock = c } }

// WithStoreOptions passes options (such as store.WithRetryPolicy) to the
// store.Store that New returns. It is an Option, not a BackendOption, so
// NewBackend, which makes no Store, does not accept it: pass them to
// store.New there.
func WithStoreOptions(opts ...store.Option) Option { return storeOptions(opts) }

// New returns a Store backed by pool. The pool should be migrated (see
// Migrate) and is not closed by the Store.
func New(pool *pgxpool.Pool, opts ...Option) *store.Store {
	return newStore(pool, opts...)
}

// NewBackend returns the Backend on pool, for store.New or for wrapping.
func NewBackend(pool *pgxpool.Pool, opts ...BackendOption) *Backend {
	return newBackend(pool, opts...)
}

// newStore is New over any beginner, so unit tests can pass a mock.
func newStore(pool beginner, opts ...Option) *store.Store {
	b := &Backend{pool: pool}
	var storeOpts []store.Option
	for _, o := range opts {
		o.apply(b, &storeOpts)
	}
	return store.New(b, storeOpts...)
}

func newBackend(pool beginner, opts ...BackendOption) *Backend {
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
	return executor{conn{q: pooled{b.pool}, pool: b.pool, clock: b.clock, queueSeenEmpty: &b.queueSeenEmpty}}
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
