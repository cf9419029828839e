package store

import (
	"context"
	"sync/atomic"
)

// The outer-Store guard. Inside WithTx, fn receives a context that carries
// a marker of the live transaction. A call on the Store WithTx was called
// on (not on the transaction-bound tx fn receives) with that context is a
// mistake that is easy to make when porting code that took a pgx.Tx: on
// PostgreSQL it runs on another connection, outside the transaction, and
// on the memory backend a write waits for the transaction to end, which it
// never does while fn waits. The guard refuses such a call at once, on
// every backend, with ErrInvalidArgument naming "store". Every operation
// passes it in Store.run (run.go), before its validation; it is one check
// per call on the outer Store, a context lookup, and none on a
// transaction-bound one.

// txKey is the context key of a live transaction's marker. It holds the
// owning Store's config, which the Store and its transaction-bound copies
// share, so the transactions of different Stores do not shadow each other.
type txKey struct{ owner *config }

// txMarker marks a context as belonging to a transaction until the
// transaction ends.
type txMarker struct{ ended atomic.Bool }

// withTxMarker returns ctx carrying a new marker of a live transaction of
// the Store owning c, and the function that ends it.
func (c *config) withTxMarker(ctx context.Context) (context.Context, func()) {
	m := &txMarker{}
	return context.WithValue(ctx, txKey{c.guardOwner()}, m), func() { m.ended.Store(true) }
}

// guardOwner returns the config whose transactions mark contexts for c:
// c's own, or for a Store made by Derive, that of the Store it was derived
// from, so the guard sees through Derive.
func (c *config) guardOwner() *config {
	if c.derivedFrom != nil {
		return c.derivedFrom
	}
	return c
}

// checkOuter refuses ctx when it carries a live transaction of the Store
// owning c.
func (c *config) checkOuter(ctx context.Context) error {
	if m, ok := ctx.Value(txKey{c.guardOwner()}).(*txMarker); ok && !m.ended.Load() {
		return invalid("store", "called on the outer Store with the context of its live transaction: "+
			"inside WithTx, use the tx Store that fn receives")
	}
	return nil
}

// checkCtx is checkOuter for the Store s, of which only the outer one is
// checked: a transaction-bound Store is never refused.
func (s *Store) checkCtx(ctx context.Context) error {
	if s.InTx() {
		return nil
	}
	return s.config.checkOuter(ctx)
}
