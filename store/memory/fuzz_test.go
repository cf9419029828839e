package memory_test

import (
	"testing"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
	"github.com/ocpctl/ocpstore/storetest"
)

// The conformance suite's fuzz targets on the memory backend. Their seeds
// run with the tests; fuzz one with, e.g.,
//
//	go test -run '^$' -fuzz '^FuzzListFilters$' -fuzztime 60s ./store/memory

// fuzzStore is the memory backend's storetest.FuzzFactory.
func fuzzStore(_ testing.TB, clock store.Clock) *store.Store {
	return store.New(memory.NewBackend(memory.WithClock(clock)))
}

func FuzzListFilters(f *testing.F)       { storetest.FuzzListFilters(f, fuzzStore) }
func FuzzListAfterCursor(f *testing.F)   { storetest.FuzzListAfterCursor(f, fuzzStore) }
func FuzzClusterRoundTrip(f *testing.F)  { storetest.FuzzClusterRoundTrip(f, fuzzStore) }
func FuzzClusterTransition(f *testing.F) { storetest.FuzzClusterTransition(f, fuzzStore) }
