package storetest

import (
	"context"
	"reflect"
	"testing"

	"github.com/ocpctl/ocpstore/store"
)

// testOuterStoreInTx covers the misuse WithTx guards against: a call on the
// outer Store (instead of the tx that fn receives) with the transaction's
// context. Every method of every sub-store, and every Store method taking a
// context, must refuse it at once with ErrInvalidArgument naming "store",
// on every backend; without the guard such a call runs outside the
// transaction on PostgreSQL and waits for the transaction to end on memory.
// Calls that do not carry a live transaction of that Store are not
// refused.
func testOuterStoreInTx(t *testing.T, setup setupFunc) {
	t.Run("EveryMethodRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		existing := b.cluster(t)
		// A bound on the transaction, so that a missing guard fails the
		// test (a deadline error instead of the refusal) rather than
		// hanging it.
		ctx, cancel := context.WithTimeout(b.ctx, eventTimeout)
		defer cancel()
		calls := 0
		c := validCluster()
		err := b.s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
			for _, m := range outerMethods(b.s) {
				calls++
				if err := callMethod(ctx, m.recv, m.name, m.args...); !isInvalid(err, "store") {
					t.Errorf("outer %s with the transaction's context: got %v, want ErrInvalidArgument for \"store\"", m.label, err)
				}
			}
			// The transaction itself is unharmed, and the other handle (a
			// different Store) is not refused.
			if _, err := b.s2.Clusters.GetByID(ctx, existing.ID); err != nil {
				t.Errorf("the other handle with the transaction's context: %v", err)
			}
			return tx.Clusters.Create(ctx, c)
		})
		requireNoErr(t, err, "WithTx after the refused calls")
		b.getCluster(t, c.ID)
		requireClusterCount(t, b, 2)
		if calls < 40 {
			t.Fatalf("only %d methods checked; the reflection found too few", calls)
		}
	})

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

// outerCall is one call of a method of the outer Store or of one of its
// sub-stores, with zero arguments after the context: the guard runs before
// any validation, so no argument has to be valid.
type outerCall struct {
	label string // "Clusters.Create", "Store.Claim"
	recv  any
	name  string
	args  []any
}

// outerMethods lists, by reflection, every sub-store method of s and every
// method of s itself whose first parameter is a context.
func outerMethods(s *store.Store) []outerCall {
	var out []outerCall
	add := func(label string, recv any, m reflect.Method, skip int) {
		ft := m.Type
		if ft.NumIn() <= skip || ft.In(skip) != contextType {
			return
		}
		n := ft.NumIn() - skip - 1
		if ft.IsVariadic() {
			n--
		}
		out = append(out, outerCall{label: label + "." + m.Name, recv: recv, name: m.Name, args: make([]any, n)})
	}
	stores := reflect.ValueOf(s.Stores)
	for i := range stores.NumField() {
		f := stores.Field(i)
		for j := range f.Type().NumMethod() {
			add(stores.Type().Field(i).Name, f.Interface(), f.Type().Method(j), 0)
		}
	}
	st := reflect.TypeOf(s)
	for j := range st.NumMethod() {
		add("Store", s, st.Method(j), 1)
	}
	return out
}
