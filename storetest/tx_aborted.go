package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// testTxAborted covers what a transaction is after a statement fails, as
// PostgreSQL defines it and the memory backend must mirror: a failed
// statement (a unique or foreign-key violation, a write in a read-only
// transaction) aborts the transaction, every later statement fails with
// ErrTxAborted, and Commit rolls back; an answer that is an error (not
// found, lock held, lock lost, a refused transition, a refused argument)
// leaves it usable. Code that carries on after a failed statement must
// fail on memory as it would on PostgreSQL.
func testTxAborted(t *testing.T, setup setupFunc) {
	failing := []struct {
		name string
		opts []store.TxOption
		fail func(ctx context.Context, tx *store.Store, existing *store.Cluster) error
		want error
	}{
		{"UniqueViolation", nil, func(ctx context.Context, tx *store.Store, existing *store.Cluster) error {
			return tx.Clusters.Create(ctx, validCluster(func(c *store.Cluster) { c.ID = existing.ID }))
		}, store.ErrConflict},
		{"ForeignKeyViolation", nil, func(ctx context.Context, tx *store.Store, _ *store.Cluster) error {
			return tx.Jobs.Create(ctx, &store.Job{ClusterID: "clu_missing", JobType: store.JobCreate})
		}, store.ErrNotFound},
		{"WriteInReadOnlyTransaction", []store.TxOption{store.ReadOnly()}, func(ctx context.Context, tx *store.Store, _ *store.Cluster) error {
			return tx.Clusters.Create(ctx, validCluster())
		}, store.ErrInvalidArgument},
	}
	for _, tc := range failing {
		t.Run("AbortedBy"+tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			existing := b.cluster(t)
			tx, err := b.s.BeginTx(b.ctx, tc.opts...)
			requireNoErr(t, err, "BeginTx")
			defer func() { _ = tx.Rollback(b.ctx) }()
			if _, err := tx.Clusters.GetByID(b.ctx, existing.ID); err != nil {
				t.Fatalf("read before the failure: %v", err)
			}
			requireErrIs(t, tc.fail(b.ctx, tx.Store, existing), tc.want, "the failing statement")
			_, err = tx.Clusters.GetByID(b.ctx, existing.ID)
			requireErrIs(t, err, store.ErrTxAborted, "a read after the failed statement")
			requireErrIs(t, tx.Commit(b.ctx), store.ErrTxAborted, "commit after the failed statement")
		})
	}

	t.Run("WithTxCarryingOnAfterAFailure", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		taken := b.cluster(t)
		c := validCluster()
		err := b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
			if err := tx.Clusters.Create(ctx, c); err != nil {
				return err
			}
			// The mistake: treat the conflict as "already there" and go on.
			if err := tx.Clusters.Create(ctx, validCluster(func(d *store.Cluster) { d.ID = taken.ID })); !errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("duplicate create: %v, want ErrConflict", err)
			}
			return tx.Audit.Log(ctx, &store.AuditEvent{Actor: "a", Action: "cluster.create", TargetClusterID: &c.ID,
				Status: store.AuditSuccess})
		})
		requireErrIs(t, err, store.ErrTxAborted, "WithTx whose fn carried on after a failed statement")
		requireInvisible(t, b, c.ID)
	})

	t.Run("AnswersDoNotAbort", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		held, heldLock := b.startedJob(t, "w1", time.Hour)
		cluster := b.readyCluster(t)
		idem := store.IdempotencyReservation{Scope: "user:ann", Key: uniq("done"), RequestHash: "hash", TTL: time.Hour}
		_, _, err := b.s.Idempotency.Reserve(b.ctx, idem)
		requireNoErr(t, err, "reserve")
		_, err = b.s.Idempotency.Complete(b.ctx, idem.Scope, idem.Key, 200, nil)
		requireNoErr(t, err, "complete")
		c := validCluster()
		err = b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
			answers := []struct {
				what string
				err  error
				want error
			}{
				{"get a missing cluster", second(tx.Clusters.GetByID(ctx, "clu_missing")), store.ErrNotFound},
				{"acquire a held lock", second(tx.JobLocks.Acquire(ctx, held.ClusterID, held.ID, "w2", time.Minute)), store.ErrLockHeld},
				{"extend with a stale token", second(tx.JobLocks.Extend(ctx, &store.JobLock{ClusterID: heldLock.ClusterID,
					JobID: heldLock.JobID, Token: heldLock.Token + 100}, time.Minute)), store.ErrLockLost},
				{"a refused transition", second(tx.Clusters.UpdateStatus(ctx, cluster.ID, store.ClusterResuming)), store.ErrInvalidStateTransition},
				{"complete a completed key", second(tx.Idempotency.Complete(ctx, idem.Scope, idem.Key, 200, nil)), store.ErrConflict},
				{"an invalid argument", second(tx.Clusters.GetByID(ctx, "")), store.ErrInvalidArgument},
			}
			for _, a := range answers {
				if !errors.Is(a.err, a.want) {
					return fmt.Errorf("%s: %v, want %v", a.what, a.err, a.want)
				}
			}
			return tx.Clusters.Create(ctx, c)
		})
		requireNoErr(t, err, "a transaction that only met answers")
		b.getCluster(t, c.ID)
	})
}

// second returns the error of a two-value call.
func second[T any](_ T, err error) error { return err }
