package memory_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// TestOverlayIsolation: a transaction sees its own writes, nobody else does
// until it commits, and then everyone does.
func TestOverlayIsolation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.cluster(t, ready)
	tx := get(f.s.BeginTx(f.ctx))(t)
	defer func() { _ = tx.Rollback(f.ctx) }()

	inTx := newCluster()
	must(t, tx.Clusters.Create(f.ctx, inTx))
	got := get(tx.Clusters.UpdateStatus(f.ctx, c.ID, store.ClusterHibernating))(t)
	if got.Status != store.ClusterHibernating {
		t.Fatalf("status in tx = %s", got.Status)
	}
	for name, s := range map[string]*store.Store{"outer": f.s, "other": f.s2} {
		if _, err := s.Clusters.GetByID(f.ctx, inTx.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s sees an uncommitted insert: %v", name, err)
		}
		if got := get(s.Clusters.GetByID(f.ctx, c.ID))(t); got.Status != store.ClusterReady {
			t.Fatalf("%s sees an uncommitted update: %s", name, got.Status)
		}
		_, total := listStatus(t, s, store.ClusterHibernating)
		if total != 0 {
			t.Fatalf("%s lists an uncommitted status change", name)
		}
	}
	// The transaction's own List sees its writes through the indexes.
	if ids, total := listStatus(t, tx.Store, store.ClusterHibernating); total != 1 || ids[0] != c.ID {
		t.Fatalf("tx list by new status = %v", ids)
	}
	if _, total := listStatus(t, tx.Store, store.ClusterReady); total != 0 {
		t.Fatal("tx list by old status still finds the cluster")
	}
	if _, total := listStatus(t, tx.Store, store.ClusterPending); total != 1 {
		t.Fatal("tx list misses its own insert")
	}
	must(t, tx.Commit(f.ctx))
	if ids, total := listStatus(t, f.s2, store.ClusterHibernating); total != 1 || ids[0] != c.ID {
		t.Fatalf("list after commit = %v", ids)
	}
	get(f.s2.Clusters.GetByID(f.ctx, inTx.ID))(t)
}

func listStatus(t *testing.T, s *store.Store, st store.ClusterStatus) ([]string, int) {
	t.Helper()
	rows, total, err := s.Clusters.List(context.Background(), store.ClusterFilters{Status: &st})
	must(t, err)
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	return ids, total
}

// TestRollback: nothing a rolled-back transaction wrote is visible, unique
// keys it took are free again, and rollback works after ctx is cancelled.
func TestRollback(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := newCluster()
	boom := errors.New("boom")
	err := f.s.WithTx(f.ctx, func(ctx context.Context, tx *store.Store) error {
		must(t, tx.Clusters.Create(ctx, c))
		_, created, err := tx.Idempotency.Reserve(ctx, store.IdempotencyReservation{Scope: "s", Key: "k", RequestHash: "h1", TTL: time.Hour})
		must(t, err)
		if !created {
			t.Fatal("first reservation not created")
		}
		return boom
	})
	wantErr(t, err, boom, "WithTx")
	_, err = f.s.Clusters.GetByID(f.ctx, c.ID)
	wantErr(t, err, store.ErrNotFound, "cluster after rollback")
	// Same name is free, and the key can be reserved with another hash.
	must(t, f.s.Clusters.Create(f.ctx, newCluster(func(n *store.Cluster) { n.Name = c.Name })))
	_, created, err := f.s.Idempotency.Reserve(f.ctx, store.IdempotencyReservation{Scope: "s", Key: "k", RequestHash: "h2", TTL: time.Hour})
	must(t, err)
	if !created {
		t.Fatal("key still taken after rollback")
	}

	ctx, cancel := context.WithCancel(f.ctx)
	tx := get(f.s.BeginTx(ctx))(t)
	must(t, tx.Clusters.Create(ctx, newCluster()))
	cancel()
	must(t, tx.Rollback(ctx))
	// The write token was returned: a new transaction can start.
	must(t, f.s.WithTx(f.ctx, func(context.Context, *store.Store) error { return nil }))

	defer func() {
		if recover() == nil {
			t.Fatal("panic swallowed")
		}
		_, total, err := f.s.Clusters.List(f.ctx, store.ClusterFilters{})
		must(t, err)
		if total != 1 {
			t.Fatalf("%d clusters after a panicking tx, want 1", total)
		}
	}()
	_ = f.s.WithTx(f.ctx, func(ctx context.Context, tx *store.Store) error {
		must(t, tx.Clusters.Create(ctx, newCluster()))
		panic("fn panics")
	})
}

// TestOuterReadsInsideTx: reads through the outer store inside WithTx, with
// a context that does not carry the transaction, do not wait for it.
func TestOuterReadsInsideTx(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.cluster(t, ready)
	j := f.job(t, c.ID, store.JobPostConfigure)
	outer, cancel := context.WithTimeout(f.ctx, 10*time.Second)
	defer cancel()
	must(t, f.s.WithTx(outer, func(ctx context.Context, tx *store.Store) error {
		get(tx.Clusters.GetByIDForUpdate(ctx, c.ID))(t)
		get(tx.Jobs.MarkStarted(ctx, j.ID))(t)
		if got := get(f.s.Jobs.GetByID(outer, j.ID))(t); got.Status != store.JobPending {
			t.Fatalf("outer read sees %s", got.Status)
		}
		_, _, err := f.s.Clusters.List(outer, store.ClusterFilters{})
		must(t, err)
		_, err = f.s2.JobLocks.Get(outer, c.ID)
		wantErr(t, err, store.ErrNotFound, "outer lock read")
		return nil
	}))
}

// TestAutocommitWritesWait: an autocommit write waits for the open
// transaction, sees its outcome, and gives up when its context ends.
func TestAutocommitWritesWait(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.cluster(t)
	tx := get(f.s.BeginTx(f.ctx))(t)
	get(tx.Clusters.GetByIDForUpdate(f.ctx, c.ID))(t)

	short, cancel := context.WithTimeout(f.ctx, 20*time.Millisecond)
	defer cancel()
	_, err := f.s2.Clusters.UpdateStatus(short, c.ID, store.ClusterCreating)
	wantErr(t, err, context.DeadlineExceeded, "write while a tx is open")

	done := make(chan error, 1)
	go func() {
		_, err := f.s2.Clusters.UpdateStatus(f.ctx, c.ID, store.ClusterCreating)
		done <- err
	}()
	get(tx.Clusters.UpdateStatus(f.ctx, c.ID, store.ClusterCreating))(t)
	select {
	case err := <-done:
		t.Fatalf("write did not wait: %v", err)
	case <-time.After(10 * time.Millisecond):
	}
	must(t, tx.Commit(f.ctx))
	var te *store.TransitionError
	if err := <-done; !errors.As(err, &te) || te.From != string(store.ClusterCreating) {
		t.Fatalf("waiting write = %v, want a transition error from CREATING", err)
	}
}

// TestTxEnd: a finished transaction refuses statements; a commit whose
// context has ended applies nothing; read-only transactions refuse writes.
func TestTxEnd(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tx := get(f.s.BeginTx(f.ctx))(t)
	must(t, tx.Commit(f.ctx))
	wantErr(t, tx.Commit(f.ctx), store.ErrTxDone, "second commit")
	_, err := tx.Clusters.GetByID(f.ctx, "clu_x")
	wantErr(t, err, store.ErrTxDone, "read after commit")

	ctx, cancel := context.WithCancel(f.ctx)
	c := newCluster()
	tx = get(f.s.BeginTx(ctx))(t)
	must(t, tx.Clusters.Create(ctx, c))
	cancel()
	if err := tx.Commit(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("commit after cancel = %v", err)
	}
	_, err = f.s.Clusters.GetByID(f.ctx, c.ID)
	wantErr(t, err, store.ErrNotFound, "cluster of a commit after cancel")

	err = f.s.WithTx(f.ctx, func(ctx context.Context, tx *store.Store) error {
		return tx.Clusters.Create(ctx, newCluster())
	}, store.ReadOnly())
	wantErr(t, err, store.ErrInvalidArgument, "write in a read-only tx")
	must(t, f.s.WithTx(f.ctx, func(ctx context.Context, tx *store.Store) error {
		_, _, err := tx.Clusters.List(ctx, store.ClusterFilters{})
		return err
	}, store.ReadOnly(), store.Serializable()))
}

// TestReadersSeeWholeCommits: readers running alongside writers only ever
// see whole transactions (each adds two clusters, so counts stay even) and
// a page consistent with its total.
func TestReadersSeeWholeCommits(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const writers, txs = 2, 40
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for range txs {
				err := f.handle(w).WithTx(f.ctx, func(ctx context.Context, tx *store.Store) error {
					for range 2 {
						if err := tx.Clusters.Create(ctx, newCluster()); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	for r := range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				rows, total, err := f.handle(r).Clusters.List(f.ctx, store.ClusterFilters{Limit: store.MaxLimit})
				if err != nil {
					t.Error(err)
					return
				}
				if total%2 != 0 || len(rows) != total {
					t.Errorf("read %d rows of a total %d: a partial commit", len(rows), total)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
}
