package storetest

import (
	"context"
	"testing"

	"github.com/ocpctl/ocpstore/store"
)

// testOuterStoreInTx covers the misuse WithTx guards against: a call on the
// outer Store (instead of the tx that fn receives) with the transaction's
// context, which without the guard runs outside the transaction on
// PostgreSQL and waits for the transaction to end on memory. That every
// method refuses it is package store's test (store/txguard_test.go); here,
// that the refused write is not written, and that calls that do not carry
// a live transaction of that Store are not refused, on every backend.
func testOuterStoreInTx(t *testing.T, setup setupFunc) {
	t.Run("WriteThroughTheOuterStore", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx, cancel := context.WithTimeout(b.ctx, eventTimeout)
		defer cancel()
		c := validCluster(func(c *store.Cluster) { c.ID = store.NewID(store.PrefixCluster) })
		var outerErr error
		err := b.s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
			outerErr = b.s.Clusters.Create(ctx, c) // the mistake: s, not tx
			return errBoom
		})
		requireErrIs(t, err, errBoom, "WithTx")
		requireInvalid(t, outerErr, "store")
		requireInvisible(t, b, c.ID) // not written outside the rolled-back transaction
	})

	t.Run("ContextAfterTheTransactionEnds", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var leaked context.Context
		requireNoErr(t, b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
			leaked = ctx
			return nil
		}), "WithTx")
		// The transaction is over: its context is an ordinary one now.
		c := validCluster()
		requireNoErr(t, b.s.Clusters.Create(leaked, c), "create with the ended transaction's context")
		b.getCluster(t, c.ID)
	})

	t.Run("JoinedTransactionKeepsTheMarker", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		err := b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
			return tx.WithTx(ctx, func(ctx context.Context, same *store.Store) error {
				_, err := b.s.Clusters.GetByID(ctx, "clu_x")
				return err
			})
		})
		requireInvalid(t, err, "store")
	})
}
