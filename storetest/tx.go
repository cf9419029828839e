package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// errBoom is the error the transaction tests make fn fail with.
var errBoom = errors.New("boom")

// testTx covers transactions: commit, rollback on error and on panic,
// retry of serialization failures, isolation from the outer store and the
// other handle, the manual BeginTx pattern, joining, and read-modify-write
// under contention.
func testTx(t *testing.T, setup setupFunc) {
	t.Run("Commit", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		before := b.s.Stats()
		c := validCluster()
		err := b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
			if !tx.InTx() {
				t.Error("fn got a Store not bound to a transaction")
			}
			if err := tx.Clusters.Create(ctx, c); err != nil {
				return err
			}
			got, err := tx.Clusters.GetByID(ctx, c.ID)
			if err != nil {
				return fmt.Errorf("read own write: %w", err)
			}
			requireEqual(t, c, got, "own write inside the transaction")
			return tx.Audit.Log(ctx, &store.AuditEvent{Actor: "a", Action: "cluster.create",
				TargetClusterID: &c.ID, Status: store.AuditSuccess})
		})
		requireNoErr(t, err, "WithTx")
		if b.s.InTx() {
			t.Fatal("the outer Store reports being in a transaction")
		}
		for name, s := range map[string]*store.Store{"primary": b.s, "secondary": b.s2} {
			got, err := s.Clusters.GetByID(b.ctx, c.ID)
			requireNoErr(t, err, name+" get committed cluster")
			requireEqual(t, c, got, name+" committed cluster")
			_, total, err := s.Audit.List(b.ctx, store.AuditFilters{ClusterID: &c.ID})
			requireNoErr(t, err, name+" list audit")
			if total != 1 {
				t.Fatalf("%s: %d committed audit events, want 1", name, total)
			}
		}
		after := b.s.Stats()
		if after.Commits != before.Commits+1 || after.Rollbacks != before.Rollbacks || after.Retries != before.Retries {
			t.Fatalf("stats %+v after one commit from %+v", after, before)
		}
	})

	t.Run("RollbackOnError", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		existing := b.cluster(t)
		before := b.s.Stats()
		c := validCluster()
		err := b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
			if err := tx.Clusters.Create(ctx, c); err != nil {
				return err
			}
			if _, err := tx.Clusters.Update(ctx, existing.ID, store.ClusterUpdate{TTLHours: ptr(99)}); err != nil {
				return err
			}
			return fmt.Errorf("step 3: %w", errBoom)
		})
		requireErrIs(t, err, errBoom, "WithTx")
		requireInvisible(t, b, c.ID)
		requireEqual(t, existing, b.getCluster(t, existing.ID), "cluster updated in the rolled-back transaction")
		after := b.s.Stats()
		if after.Rollbacks != before.Rollbacks+1 || after.Commits != before.Commits {
			t.Fatalf("stats %+v after one rollback from %+v", after, before)
		}
	})

	t.Run("RollbackOnPanic", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := validCluster()
		recovered := func() (r any) {
			defer func() { r = recover() }()
			_ = b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
				if err := tx.Clusters.Create(ctx, c); err != nil {
					return err
				}
				panic(errBoom)
			})
			return nil
		}()
		if recovered != errBoom {
			t.Fatalf("WithTx re-panicked with %v, want %v", recovered, errBoom)
		}
		requireInvisible(t, b, c.ID)
		// The store still works after the panic.
		b.cluster(t)
		requireClusterCount(t, b, 1)
	})

	t.Run("RetriesSerializationFailure", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		before := b.s.Stats()
		var runs, retries []int
		var retryErr error
		id := "clu_retried"
		err := b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
			runs = append(runs, len(runs)+1)
			// The same ID both times: the second run's insert only works
			// if the first run's was rolled back.
			if err := tx.Clusters.Create(ctx, validCluster(func(c *store.Cluster) { c.ID = id })); err != nil {
				return err
			}
			if len(runs) == 1 {
				return fmt.Errorf("x: %w", store.ErrSerialization)
			}
			return nil
		}, store.OnRetry(func(attempt int, err error) {
			retries = append(retries, attempt)
			retryErr = err
		}))
		requireNoErr(t, err, "WithTx with one serialization failure")
		if len(runs) != 2 || len(retries) != 1 || retries[0] != 1 || !errors.Is(retryErr, store.ErrSerialization) {
			t.Fatalf("runs %v, OnRetry attempts %v with %v; want 2 runs and one retry, attempt 1", runs, retries, retryErr)
		}
		after := b.s.Stats()
		if after.Retries != before.Retries+1 || after.Commits != before.Commits+1 || after.Rollbacks != before.Rollbacks+1 {
			t.Fatalf("stats %+v after a retried commit from %+v", after, before)
		}
		b.getCluster(t, id)
		requireClusterCount(t, b, 1)
	})

	t.Run("MaxRetriesZeroSurfacesTheFailure", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		before := b.s.Stats()
		runs := 0
		c := validCluster()
		err := b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
			runs++
			if err := tx.Clusters.Create(ctx, c); err != nil {
				return err
			}
			return fmt.Errorf("x: %w", store.ErrSerialization)
		}, store.MaxRetries(0), store.OnRetry(func(int, error) { t.Error("OnRetry called with MaxRetries(0)") }))
		requireErrIs(t, err, store.ErrSerialization, "WithTx with MaxRetries(0)")
		requireErrIs(t, err, store.ErrConflict, "ErrSerialization matches ErrConflict")
		if runs != 1 {
			t.Fatalf("fn ran %d times, want 1", runs)
		}
		if after := b.s.Stats(); after.Retries != before.Retries {
			t.Fatalf("retries went from %d to %d", before.Retries, after.Retries)
		}
		requireInvisible(t, b, c.ID)
	})

	t.Run("OuterReadsInsideTx", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		existing := b.cluster(t)
		c := validCluster()
		done := make(chan error, 1)
		go func() {
			done <- b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
				if err := tx.Clusters.Create(ctx, c); err != nil {
					return err
				}
				if _, err := tx.Clusters.UpdateStatus(ctx, existing.ID, store.ClusterCreating); err != nil {
					return err
				}
				// Outside the transaction on purpose: with a context that
				// does not carry the transaction (b.ctx, not ctx).
				for name, s := range map[string]*store.Store{"outer": b.s, "secondary": b.s2} {
					if _, err := s.Clusters.GetByID(b.ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
						return fmt.Errorf("%s store read the uncommitted insert: %v", name, err)
					}
					got, err := s.Clusters.GetByID(b.ctx, existing.ID)
					if err != nil || got.Status != store.ClusterPending {
						return fmt.Errorf("%s store read %+v, %v; want the committed PENDING cluster", name, got, err)
					}
					if _, total, err := s.Clusters.List(b.ctx, store.ClusterFilters{}); err != nil || total != 1 {
						return fmt.Errorf("%s store counted %d clusters (%v), want 1", name, total, err)
					}
				}
				return nil
			})
		}()
		select {
		case err := <-done:
			requireNoErr(t, err, "WithTx reading through the outer store")
		case <-time.After(eventTimeout):
			t.Fatalf("WithTx reading through the outer store did not return within %v: deadlock", eventTimeout)
		}
		b.getCluster(t, c.ID)
		if got := b.getCluster(t, existing.ID); got.Status != store.ClusterCreating {
			t.Fatalf("committed status %q, want CREATING", got.Status)
		}
	})

	t.Run("BeginTxCommit", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		tx, err := b.s.BeginTx(b.ctx, store.ReadCommitted())
		requireNoErr(t, err, "BeginTx")
		if !tx.InTx() {
			t.Fatal("BeginTx returned a Store not bound to a transaction")
		}
		_, err = tx.BeginTx(b.ctx)
		requireInvalid(t, err, "tx")
		c := validCluster()
		requireNoErr(t, tx.Clusters.Create(b.ctx, c), "create in the transaction")
		requireInvisible(t, b, c.ID)
		before := b.s.Stats()
		requireNoErr(t, tx.Commit(b.ctx), "commit")
		requireNoErr(t, tx.Rollback(b.ctx), "rollback after commit")
		requireErrIs(t, tx.Commit(b.ctx), store.ErrTxDone, "commit twice")
		b.getCluster(t, c.ID)
		if after := b.s.Stats(); after.Commits != before.Commits+1 || after.Rollbacks != before.Rollbacks {
			t.Fatalf("stats %+v after commit and a no-op rollback from %+v", after, before)
		}
	})

	t.Run("BeginTxRollback", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		tx, err := b.s2.BeginTx(b.ctx)
		requireNoErr(t, err, "BeginTx")
		c := validCluster()
		requireNoErr(t, tx.Clusters.Create(b.ctx, c), "create in the transaction")
		requireNoErr(t, tx.Rollback(b.ctx), "rollback")
		requireNoErr(t, tx.Rollback(b.ctx), "rollback twice")
		requireErrIs(t, tx.Commit(b.ctx), store.ErrTxDone, "commit after rollback")
		requireInvisible(t, b, c.ID)
	})

	t.Run("WithTxJoinsABoundStore", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		before := b.s.Stats()
		inner := validCluster()
		err := b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
			err := tx.WithTx(ctx, func(ctx context.Context, same *store.Store) error {
				if !same.InTx() {
					return errors.New("joined Store is not bound to the transaction")
				}
				return same.Clusters.Create(ctx, inner)
			}, store.Serializable())
			if err != nil {
				return err
			}
			if _, err := tx.Clusters.GetByID(ctx, inner.ID); err != nil {
				return fmt.Errorf("outer transaction does not see the joined write: %w", err)
			}
			return errBoom
		})
		requireErrIs(t, err, errBoom, "WithTx")
		requireInvisible(t, b, inner.ID)
		if after := b.s.Stats(); after.Commits != before.Commits || after.Rollbacks != before.Rollbacks+1 {
			t.Fatalf("stats %+v from %+v: the joined WithTx must not commit on its own", after, before)
		}
	})

	t.Run("SerializableReadModifyWriteLosesNoUpdate", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.cluster(t, func(c *store.Cluster) { c.TTLHours = 1 })
		const n = 10
		var retries atomic.Int64
		errs := race(n, func(i int) error {
			return b.handle(i).WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
				cur, err := tx.Clusters.GetByIDForUpdate(ctx, c.ID)
				if err != nil {
					return err
				}
				_, err = tx.Clusters.Update(ctx, c.ID, store.ClusterUpdate{TTLHours: ptr(cur.TTLHours + 1)})
				return err
			}, store.Serializable(), store.MaxRetries(100), store.OnRetry(func(int, error) { retries.Add(1) }))
		})
		for i, err := range errs {
			requireNoErr(t, err, fmt.Sprintf("increment %d", i))
		}
		if got := b.getCluster(t, c.ID); got.TTLHours != 1+n {
			t.Fatalf("TTLHours %d after %d increments from 1, want %d (%d retries)", got.TTLHours, n, 1+n, retries.Load())
		}
	})
}

// requireInvisible fails unless cluster id is visible through neither
// handle.
func requireInvisible(t *testing.T, b *bundle, id string) {
	t.Helper()
	for name, s := range map[string]*store.Store{"primary": b.s, "secondary": b.s2} {
		if _, err := s.Clusters.GetByID(b.ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: cluster %s of a transaction that did not commit: got %v, want ErrNotFound", name, id, err)
		}
	}
}
