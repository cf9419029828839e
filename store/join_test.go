package store_test

import (
	"errors"
	"testing"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
)

// TestJoinOnMemory: store.Join binds a Store to a transaction its caller
// began on any backend; the caller's rollback undoes the Store's writes,
// its commit keeps them, and the Store never ends the transaction.
func TestJoinOnMemory(t *testing.T) {
	ctx := t.Context()
	b := memory.NewBackend()
	outer := store.New(b)
	for _, commit := range []bool{false, true} {
		x, err := b.Begin(ctx, store.TxOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s := store.Join(b, x)
		c := newCluster("joined")
		if err := s.Clusters.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, err := s.BeginTx(ctx); !errors.Is(err, store.ErrInvalidArgument) {
			t.Fatalf("BeginTx on a joined Store: %v", err)
		}
		if commit {
			err = x.Commit(ctx)
		} else {
			err = x.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		_, err = outer.Clusters.GetByID(ctx, c.ID)
		if commit && err != nil || !commit && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("commit=%v: the cluster after the caller ended the transaction: %v", commit, err)
		}
		if st := s.Stats(); st.Commits != 0 || st.Rollbacks != 0 {
			t.Fatalf("the joined Store counted a transaction of its own: %+v", st)
		}
	}
}
