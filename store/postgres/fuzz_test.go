package postgres_test

import (
	"testing"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
	"github.com/ocpctl/ocpstore/storetest"
)

// The conformance suite's fuzz targets on PostgreSQL: each target (each
// fuzzing worker process) gets its own database from postgrestest, and is
// skipped without a server (failed under CI). Their seeds run with the
// tests; fuzz one with, e.g.,
//
//	go test -run '^$' -fuzz '^FuzzListFilters$' -fuzztime 60s ./store/postgres

// fuzzStore is the PostgreSQL backend's storetest.FuzzFactory.
func fuzzStore(tb testing.TB, clock store.Clock) *store.Store {
	return postgres.New(postgrestest.New(tb).Pool(tb), postgres.WithClock(clock))
}

func FuzzListFilters(f *testing.F)       { storetest.FuzzListFilters(f, fuzzStore) }
func FuzzListAfterCursor(f *testing.F)   { storetest.FuzzListAfterCursor(f, fuzzStore) }
func FuzzClusterRoundTrip(f *testing.F)  { storetest.FuzzClusterRoundTrip(f, fuzzStore) }
func FuzzClusterTransition(f *testing.F) { storetest.FuzzClusterTransition(f, fuzzStore) }
