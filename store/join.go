package store

import (
	"context"
	"fmt"
)

// Join returns a Store bound to a transaction that its caller began and
// will end, so that the Store's writes commit or roll back with the
// caller's own (River's InsertTx, sqlc's WithTx). x is the backend's
// executor on that transaction (postgres.NewTx makes one from a pgx.Tx and
// calls Join). The Store never commits or rolls it back: the caller does,
// and a rollback undoes everything the Store wrote in it.
//
// It is a transaction-bound Store (InTx is true), with what that means:
//
//   - every operation runs in the caller's transaction, including those
//     a pool-bound Store runs in a short transaction of their own (Claim,
//     ClaimMany, Finish, FinishMany, Jobs.Requeue, Usage.UpsertMany);
//   - nothing is retried: a serialization failure or deadlock is returned
//     (matching ErrSerialization) for the caller to roll back and run
//     again, since only the caller can;
//   - WithTx runs fn directly in the caller's transaction, with ctx: no
//     savepoint, no retry, the options ignored. If fn fails, what it
//     wrote before failing is still in the transaction: roll back;
//   - BeginTx and KeepAlive are refused with ErrInvalidArgument (a
//     heartbeat must commit on its own: run it on a pool-bound Store);
//   - after a statement failed in the database (ErrTxAborted and the
//     errors that cause it), the transaction accepts nothing more until
//     the caller rolls it back.
//
// Like any transaction-bound Store it belongs to the goroutine that runs
// the transaction. Stats and the Observer count its operations; its
// transaction is the caller's, so no commit or rollback is counted.
func Join(b Backend, x Executor, opts ...Option) *Store {
	cfg := &config{retry: DefaultRetryPolicy(), backend: b.Name()}
	for _, o := range opts {
		o(cfg)
	}
	return newStore(b, x, joined{x}, cfg)
}

// joined is the ExecutorTx of a Store made by Join: the caller's
// transaction, which the Store must not end. Nothing calls its Commit or
// Rollback (WithTx and BeginTx do not begin transactions on a
// transaction-bound Store); they refuse, should that change.
type joined struct{ Executor }

// errJoined is what ending a joined transaction returns.
var errJoined = fmt.Errorf("%w: the transaction belongs to the caller of Join, who commits or rolls it back", ErrInvalidArgument)

func (joined) Commit(context.Context) error   { return errJoined }
func (joined) Rollback(context.Context) error { return errJoined }
