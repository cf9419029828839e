package memory_test

import (
	"testing"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
	"github.com/ocpctl/ocpstore/storetest"
)

// TestConformance runs the conformance suite: both handles of a subtest
// are store.New over one Backend, two processes on one database.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock store.Clock) (*store.Store, *store.Store) {
		b := memory.NewBackend(memory.WithClock(clock))
		return store.New(b), store.New(b)
	})
}
