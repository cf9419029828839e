package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Isolation is a transaction isolation level.
type Isolation int

// Isolation levels. The zero value is ReadCommitted, PostgreSQL's default.
const (
	IsolationReadCommitted Isolation = iota
	IsolationRepeatableRead
	IsolationSerializable
)

// String returns the SQL name of the level.
func (i Isolation) String() string {
	switch i {
	case IsolationRepeatableRead:
		return "REPEATABLE READ"
	case IsolationSerializable:
		return "SERIALIZABLE"
	default:
		return "READ COMMITTED"
	}
}

// TxOptions are the options of one transaction, as a backend receives them.
type TxOptions struct {
	Isolation Isolation
	ReadOnly  bool
}

// txSettings are TxOptions plus what only WithTx uses.
type txSettings struct {
	TxOptions
	maxRetries *int
	onRetry    func(attempt int, err error)
}

// TxOption configures one WithTx or BeginTx call.
type TxOption func(*txSettings)

// Serializable runs the transaction at SERIALIZABLE isolation.
func Serializable() TxOption { return func(s *txSettings) { s.Isolation = IsolationSerializable } }

// RepeatableRead runs the transaction at REPEATABLE READ isolation.
func RepeatableRead() TxOption {
	return func(s *txSettings) { s.Isolation = IsolationRepeatableRead }
}

// ReadCommitted runs the transaction at READ COMMITTED isolation (the default).
func ReadCommitted() TxOption { return func(s *txSettings) { s.Isolation = IsolationReadCommitted } }

// ReadOnly makes the transaction read-only.
func ReadOnly() TxOption { return func(s *txSettings) { s.ReadOnly = true } }

// MaxRetries overrides the Store's RetryPolicy.MaxRetries for one WithTx call.
func MaxRetries(n int) TxOption { return func(s *txSettings) { s.maxRetries = &n } }

// OnRetry calls f before each retry with the retry's number (1 for the
// first) and the error that caused it.
func OnRetry(f func(attempt int, err error)) TxOption {
	return func(s *txSettings) { s.onRetry = f }
}

// RetryPolicy bounds WithTx's retries of serialization failures.
type RetryPolicy struct {
	MaxRetries int           // retries after the first attempt; 0 disables retrying
	BaseDelay  time.Duration // the first backoff; each next one doubles
	MaxDelay   time.Duration // the backoff cap
}

// DefaultRetryPolicy retries up to 5 times, backing off from 5ms to 200ms
// with full jitter.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 5, BaseDelay: 5 * time.Millisecond, MaxDelay: 200 * time.Millisecond}
}

// backoff returns the jittered delay before retry number n (1-based).
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.BaseDelay << min(n-1, 30)
	if d <= 0 || d > p.MaxDelay {
		d = p.MaxDelay
	}
	if d <= 0 {
		return 0
	}
	return rand.N(d) + 1 // full jitter, never zero
}

func settingsOf(opts []TxOption) txSettings {
	var s txSettings
	for _, o := range opts {
		o(&s)
	}
	return s
}

// WithTx runs fn in a transaction bound to tx, a Store of the same type.
// It commits when fn returns nil and rolls back when fn returns an error or
// panics (and then re-panics). A serialization failure or deadlock
// (ErrSerialization), from fn or from Commit, rolls back and runs fn again
// after a jittered backoff, up to the RetryPolicy's limit, so fn must be
// safe to run more than once and must do its work through tx. Stats and
// OnRetry make the retries observable.
//
// fn receives the transaction's context, derived from ctx: pass it to
// every call fn makes. It marks the transaction as live, and a call on s
// itself (the outer Store, not tx) with that context fails at once with
// ErrInvalidArgument naming "store", on every backend: such a call would
// run outside the transaction (PostgreSQL) or wait for the transaction to
// end (memory). Calls on s with a context that does not carry the marker
// (context.Background(), say) are not caught; they run outside the
// transaction. BeginTx, the manual pattern, has no such marker.
//
// Called on a Store already bound to a transaction, WithTx runs fn in that
// transaction with ctx (no new transaction, no retry; the options are
// ignored). Commit errors are returned as they are, including
// ErrCommitUnknown, which is never retried, and ErrUnavailable: the
// backend retries a BEGIN that failed on a dead connection, but WithTx
// does not rerun fn after the database became unavailable.
func (s *Store) WithTx(ctx context.Context, fn func(ctx context.Context, tx *Store) error, opts ...TxOption) error {
	return s.run(ctx, "Store.WithTx", func(ctx context.Context, _ Executor) error {
		if fn == nil {
			return invalid("fn", "must not be nil")
		}
		if s.InTx() {
			return fn(ctx, s)
		}
		set := settingsOf(opts)
		maxRetries := s.config.retry.MaxRetries
		if set.maxRetries != nil {
			maxRetries = *set.maxRetries
		}
		return s.retrying(ctx, maxRetries, set.onRetry, func() error { return s.runTx(ctx, fn, set.TxOptions) })
	})
}

// retrying runs op, and again after a serialization failure (which undid
// everything op did) after a jittered backoff, up to maxRetries times,
// counting the retries in Stats and telling onRetry, when not nil.
func (s *Store) retrying(ctx context.Context, maxRetries int, onRetry func(attempt int, err error), op func() error) error {
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil || !errors.Is(err, ErrSerialization) || attempt >= maxRetries {
			return err
		}
		s.config.stats.retries.Add(1)
		if o := s.config.retryObs; o != nil {
			o.Retry(ctx, attempt+1, err)
		}
		if onRetry != nil {
			onRetry(attempt+1, err)
		}
		t := time.NewTimer(s.config.retry.backoff(attempt + 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (retry abandoned: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// runTx runs fn once in a new transaction.
func (s *Store) runTx(ctx context.Context, fn func(ctx context.Context, tx *Store) error, opts TxOptions) (err error) {
	btx, err := s.backend.Begin(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		// Rollback on error and on panic; the panic then continues. The
		// rollback must run even if ctx is already cancelled.
		if rbErr := btx.Rollback(context.WithoutCancel(ctx)); rbErr != nil && err != nil {
			err = fmt.Errorf("%w (rollback: %v)", err, rbErr)
		}
		s.config.stats.rollbacks.Add(1)
	}()
	txCtx, end := s.config.withTxMarker(ctx)
	defer end()
	if err := fn(txCtx, s.bind(btx)); err != nil {
		return err
	}
	committed = true
	if err := btx.Commit(ctx); err != nil {
		// The backend has ended the transaction either way.
		s.config.stats.rollbacks.Add(1)
		return fmt.Errorf("commit: %w", err)
	}
	s.config.stats.commits.Add(1)
	return nil
}

// Tx is a transaction begun with BeginTx: the bound Store plus Commit and
// Rollback, for the manual pattern. Always defer Rollback: after Commit it
// does nothing.
type Tx struct {
	*Store
	done bool
}

// BeginTx starts a transaction. Unlike WithTx it never retries; the caller
// handles ErrSerialization. The isolation options apply; MaxRetries and
// OnRetry do not. On a Store already bound to a transaction it is
// ErrInvalidArgument (nested transactions are not supported). The returned
// Tx has no context of its own, so nothing catches a call made on s
// instead of on the Tx: in the manual pattern, use the Tx for every call
// that belongs to the transaction.
func (s *Store) BeginTx(ctx context.Context, opts ...TxOption) (*Tx, error) {
	return call(s, ctx, "Store.BeginTx", func(ctx context.Context, _ Executor) (*Tx, error) {
		if s.InTx() {
			return nil, invalid("tx", "BeginTx called on a Store already bound to a transaction")
		}
		btx, err := s.backend.Begin(ctx, settingsOf(opts).TxOptions)
		if err != nil {
			return nil, fmt.Errorf("begin transaction: %w", err)
		}
		return &Tx{Store: s.bind(btx)}, nil
	})
}

// Commit commits the transaction. After Commit or Rollback it is ErrTxDone.
// The Observer sees it as the operation "Tx.Commit" (and Rollback as
// "Tx.Rollback"), so BeginTx's transactions are traced as WithTx's are.
func (t *Tx) Commit(ctx context.Context) error {
	if t.done {
		return ErrTxDone
	}
	t.done = true
	return t.run(ctx, "Tx.Commit", func(ctx context.Context, _ Executor) error {
		if err := t.tx.Commit(ctx); err != nil {
			t.config.stats.rollbacks.Add(1)
			return fmt.Errorf("commit: %w", err)
		}
		t.config.stats.commits.Add(1)
		return nil
	})
}

// Rollback rolls the transaction back. After Commit or Rollback it does
// nothing and returns nil, so it is safe to defer.
func (t *Tx) Rollback(ctx context.Context) error {
	if t.done {
		return nil
	}
	t.done = true
	t.config.stats.rollbacks.Add(1)
	ctx = context.WithoutCancel(ctx)
	return t.run(ctx, "Tx.Rollback", func(ctx context.Context, _ Executor) error {
		if err := t.tx.Rollback(ctx); err != nil {
			return fmt.Errorf("rollback: %w", err)
		}
		return nil
	})
}
