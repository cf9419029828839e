package store

import "context"

// The boundary: every operation of the user API, a sub-store method or a
// method of Store, runs through run, the one place that
//
//   - refuses an outer Store called with the context of its own live
//     transaction (txmarker.go),
//   - chooses the executor: the backend's pool-bound one, or the
//     transaction's,
//   - counts the operation and its error for Stats,
//   - reports the operation to the Observer, when there is one.
//
// The operation itself (validation, IDs and defaults, then one Executor
// call) is fn. Without an Observer the boundary costs a context lookup, an
// atomic add and a nil check.

// Operation describes one call of the user API, for an Observer.
type Operation struct {
	// Name is the method: "Clusters.GetByID", "Jobs.MarkSucceeded",
	// "Store.Claim", "Store.WithTx" (the whole transaction, retries
	// included: the operations fn makes are reported inside it),
	// "Store.BeginTx", "Tx.Commit", "Tx.Rollback".
	Name    string
	Backend string // the backend's Name: "postgres", "memory"
	InTx    bool   // called on a transaction-bound Store
}

// Observer sees every operation of a Store, for tracing and metrics (an
// OpenTelemetry adapter is one Observer). Start is called before the
// operation runs, with the operation's context; the operation runs with the
// context Start returns (a span's, say), and done is called once with its
// error: nil, an error matching ErrInvalidArgument when the input was
// refused, ErrNoJob for an empty claim, ErrLockLost, ErrUnavailable, …
// (ErrorClass names its class). Start must be safe for concurrent use.
// An Observer may also implement RetryObserver and HeartbeatObserver
// (observe.go) to see the events no operation's error shows.
type Observer interface {
	Start(ctx context.Context, op Operation) (opCtx context.Context, done func(err error))
}

// run runs the operation op as fn on s's executor; see the top of the file.
func (s *Store) run(ctx context.Context, op string, fn func(ctx context.Context, x Executor) error) error {
	if err := s.checkCtx(ctx); err != nil {
		return err
	}
	c := s.config
	c.stats.operations.Add(1)
	var err error
	if c.observer == nil {
		err = fn(ctx, s.x)
	} else {
		opCtx, done := c.observer.Start(ctx, Operation{Name: op, Backend: c.backend, InTx: s.tx != nil})
		err = fn(opCtx, s.x)
		done(err)
	}
	if err != nil {
		c.stats.errors.Add(1)
	}
	return err
}

// call is run for an operation with a result.
func call[T any](s *Store, ctx context.Context, op string, fn func(ctx context.Context, x Executor) (T, error)) (T, error) {
	var out T
	err := s.run(ctx, op, func(ctx context.Context, x Executor) error {
		var err error
		out, err = fn(ctx, x)
		return err
	})
	return out, err
}
