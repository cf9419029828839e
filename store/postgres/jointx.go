package postgres

import (
	"github.com/jackc/pgx/v5"

	"github.com/ocpctl/ocpstore/store"
)

// NewTx returns a Store bound to tx, a transaction the caller began (on a
// pgxpool.Pool, a pgxpool.Conn or a pgx.Conn) and will commit or roll back
// itself: the Store's writes then commit or roll back atomically with the
// caller's own. The Store never ends tx. Every operation runs in tx,
// nothing is retried (a serialization failure is returned, matching
// store.ErrSerialization, for the caller to roll back and run again),
// WithTx runs its fn directly in tx, and BeginTx and KeepAlive are
// refused: see store.Join. opts are New's (WithClock, WithStoreOptions).
//
// The schema must be migrated (see Migrate). If tx is read-only, a write
// is refused by the server (and reported as store.ErrUnavailable, as on a
// server that is no longer the primary): open it read-write to write.
func NewTx(tx pgx.Tx, opts ...Option) *store.Store {
	b := &Backend{}
	var storeOpts []store.Option
	for _, o := range opts {
		o.apply(b, &storeOpts)
	}
	return store.Join(b, executor{conn{q: inTx{tx: tx}, clock: b.clock}}, storeOpts...)
}
