package memory

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// Backend is the in-memory store.Backend: one database shared by every
// store.Store built on it (two store.New(b) are two processes on the same
// data). It is safe for concurrent use. See the package documentation for
// how transactions are isolated.
type Backend struct {
	clock     store.Clock
	storeOpts []store.Option // WithStoreOptions, for New

	// writer is the write token: held by the one open transaction, or by
	// one autocommit write for the length of the call. Its holder is the
	// only goroutine that modifies db, so it may read db without mu.
	writer chan struct{}
	// mu guards db between its readers and a commit applying an overlay.
	mu        sync.RWMutex
	db        *tables
	committed *dbView // db without an overlay, for autocommit reads

	// tokens is the fencing-token source (a PostgreSQL SEQUENCE): never
	// rolled back, never reused.
	tokens atomic.Int64
}

var (
	_ store.Backend    = (*Backend)(nil)
	_ store.ExecutorTx = (*tx)(nil)
)

// Option configures NewBackend.
type Option func(*Backend)

// WithClock makes the backend read every timestamp it writes and every
// expiry it checks from c; nil means time.Now. Readings are truncated to
// microseconds, in UTC, like PostgreSQL's timestamps.
func WithClock(c store.Clock) Option { return func(b *Backend) { b.clock = c } }

// NewBackend returns an empty in-memory database.
func NewBackend(opts ...Option) *Backend {
	b := &Backend{writer: make(chan struct{}, 1), db: newTables()}
	b.committed = b.db.view(nil)
	for _, o := range opts {
		o(b)
	}
	return b
}

// WithStoreOptions passes options (such as store.WithKeyring) to the
// store.Store that New returns; NewBackend ignores them.
func WithStoreOptions(opts ...store.Option) Option {
	return func(b *Backend) { b.storeOpts = append(b.storeOpts, opts...) }
}

// New returns a store.Store over a new, empty in-memory database:
// store.New(NewBackend(opts...), the WithStoreOptions options...).
func New(opts ...Option) *store.Store {
	b := NewBackend(opts...)
	return store.New(b, b.storeOpts...)
}

// Name returns "memory".
func (b *Backend) Name() string { return "memory" }

// Executor returns the autocommit executor: each call is its own
// transaction. Reads never wait; writes wait for an open transaction.
func (b *Backend) Executor() store.Executor { return executor{b, auto{b}} }

// Begin starts a transaction, waiting (until ctx ends) for the open one, if
// any, to end. Every isolation level is served as SERIALIZABLE.
func (b *Backend) Begin(ctx context.Context, opts store.TxOptions) (store.ExecutorTx, error) {
	if err := b.lock(ctx); err != nil {
		return nil, err
	}
	t := &tx{readOnly: opts.ReadOnly}
	t.executor = executor{b, t}
	t.view = b.db.view(&t.ov)
	return t, nil
}

// lock takes the write token, or fails when ctx ends first.
func (b *Backend) lock(ctx context.Context) error {
	select {
	case b.writer <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the open transaction: %w", context.Cause(ctx))
	}
}

// unlock returns the write token.
func (b *Backend) unlock() { <-b.writer }

// commit makes o visible to everyone. The caller holds the write token.
func (b *Backend) commit(o *overlay) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.db.apply(o)
}

// now reads the clock once: the time of one statement.
func (b *Backend) now() time.Time {
	if b.clock != nil {
		return utc(b.clock.Now())
	}
	return utc(time.Now())
}

// executor is the store.Executor: every operation, run through via, either
// on its own (auto) or in a transaction (tx). Its methods are in the file
// of their table.
type executor struct {
	b   *Backend
	via runner
}

// runner runs one call, either on its own (auto) or in a transaction (tx).
type runner interface {
	// read runs fn on a consistent view of the data.
	read(ctx context.Context, fn func(v *dbView) error) error
	// write runs fn on a view it may write; fn's writes take effect only
	// if it returns nil (at once, or at the transaction's commit).
	write(ctx context.Context, fn func(v *dbView) error) error
}

// auto runs each call as its own transaction.
type auto struct{ b *Backend }

func (a auto) read(ctx context.Context, fn func(v *dbView) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.b.mu.RLock()
	defer a.b.mu.RUnlock()
	return fn(a.b.committed)
}

func (a auto) write(ctx context.Context, fn func(v *dbView) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := a.b.lock(ctx); err != nil {
		return err
	}
	defer a.b.unlock()
	var o overlay
	if err := fn(a.b.db.view(&o)); err != nil {
		err, _ = statementFailed(err) // no transaction to abort
		return err
	}
	a.b.commit(&o)
	return nil
}
