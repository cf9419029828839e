package postgres_test

import (
	"testing"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
	"github.com/ocpctl/ocpstore/storetest"
)

// TestTorture runs the lock torture test on a fresh PostgreSQL database
// through two Stores on two separate pools, as two worker processes would
// have. Set OCPSTORE_TORTURE_DURATION or OCPSTORE_TORTURE_OPS for a long
// run. The Stores connect as the application role (README: Security), as
// a service does. PostgreSQL must detect no deadlock in the run's database.
func TestTorture(t *testing.T) {
	t.Parallel()
	storetest.RunTorture(t, func(t *testing.T, clock store.Clock) (*store.Store, *store.Store) {
		db := postgrestest.New(t)
		watchDeadlocks(t, watcherPool(t, db), db.Name)
		return postgres.New(db.AppPool(t), postgres.WithClock(clock)), postgres.New(db.AppPool(t), postgres.WithClock(clock))
	})
}
