package store_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/ocpctl/ocpstore/store"
)

// TestOuterStoreRefusedInItsTransaction covers the misuse WithTx guards
// against: a call on the outer Store (instead of the tx that fn receives)
// with the transaction's context. Every method of every sub-store, and
// every Store method taking a context, must refuse it at once with
// ErrInvalidArgument naming "store", before its validation and before the
// backend (refusingBackend panics on any call); another Store is not
// refused. Moved here from storetest's TxOuterStore group, where it ran on
// every backend although no backend took part.
func TestOuterStoreRefusedInItsTransaction(t *testing.T) {
	b := newBundle(t)
	other := store.New(refusingBackend{})
	calls := 0
	err := b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
		for _, m := range outerMethods(b.s) {
			calls++
			err := refusedCall(b, nil, invalidCase{call: func(*bundle, *validationFixture) error {
				return callMethod(ctx, m.recv, m.name, m.args...)
			}})
			if !isInvalid(err, "store") {
				t.Errorf("outer %s with the transaction's context: got %v, want ErrInvalidArgument for \"store\"", m.label, err)
			}
		}
		// Another Store gets through the guard to its validation.
		if _, err := other.Clusters.GetByID(ctx, ""); !isInvalid(err, "id") {
			t.Errorf("another Store with the transaction's context: got %v, want ErrInvalidArgument for \"id\"", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("WithTx after the refused calls: %v", err)
	}
	if calls < 40 {
		t.Fatalf("only %d methods checked; the reflection found too few", calls)
	}
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
	sv := reflect.ValueOf(s).Elem()
	for _, f := range subStoreFields() {
		v := sv.FieldByIndex(f.Index)
		for j := range f.Type.NumMethod() {
			add(f.Name, v.Interface(), f.Type.Method(j), 1)
		}
	}
	st := reflect.TypeOf(s)
	for j := range st.NumMethod() {
		add("Store", s, st.Method(j), 1)
	}
	return out
}
