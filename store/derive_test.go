package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
)

// TestDeriveSharesTheOuterStoreGuard checks that a Store made by Derive
// is, for the outer-Store guard, the Store it was made from: each called
// with the context of the other's live transaction is refused, and a
// Store derived from a transaction-bound one runs in the transaction.
func TestDeriveSharesTheOuterStoreGuard(t *testing.T) {
	t.Parallel()
	s := memory.New()
	d := store.Derive(s, store.WithPlaintextSecrets())
	dd := store.Derive(d)
	for i, pair := range []struct {
		name       string
		txOn, call *store.Store
	}{{"derived called in the original's tx", s, d}, {"original called in the derived's tx", d, s},
		{"derived twice", s, dd}} {
		err := pair.txOn.WithTx(t.Context(), func(ctx context.Context, tx *store.Store) error {
			_, err := pair.call.Clusters.GetByID(ctx, "clu_01M8Q1SF856B6NK7KYD7YV56SR")
			var ve *store.ValidationError
			if !errors.As(err, &ve) || ve.Field != "store" {
				t.Errorf("%s: got %v, want the outer-Store refusal", pair.name, err)
			}
			inTx := store.Derive(tx, store.WithPlaintextSecrets())
			if !inTx.InTx() {
				t.Errorf("%s: a Store derived from a transaction's is not in it", pair.name)
			}
			c := &store.Cluster{Name: fmt.Sprint("derived-", i), Platform: store.PlatformAWS, Version: "4.18.1",
				Profile: "aws-standard", Region: "us-east-1", Owner: "o", Team: "t", CostCenter: "cc", RequestedBy: "r", TTLHours: 1}
			if err := inTx.Clusters.Create(ctx, c); err != nil {
				return err
			}
			_, err = tx.Clusters.GetByID(ctx, c.ID)
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", pair.name, err)
		}
	}
}
