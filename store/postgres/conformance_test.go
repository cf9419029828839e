package postgres_test

import (
	"testing"

	"github.com/ocpctl/ocpstore/storetest"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestConformance runs the conformance suite on PostgreSQL: each subtest
// gets its own fresh database and two Stores on two separate pools, as two
// worker processes would have.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock store.Clock) (*store.Store, *store.Store) {
		db := postgrestest.New(t)
		var opts []postgres.Option
		if clock != nil {
			opts = append(opts, postgres.WithClock(clock))
		}
		return postgres.New(db.Pool(t), opts...), postgres.New(db.Pool(t), opts...)
	})
}
