// Package storetest is the conformance suite of ocpstore: the executable
// specification every backend must pass. It imports only package store.
//
// A backend's test calls Run with a factory that hands each subtest fresh,
// empty data:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, clock store.Clock) (*store.Store, *store.Store) {
//			b := memory.NewBackend(memory.WithClock(clock))
//			return store.New(b), store.New(b)
//		})
//	}
package storetest

import (
	"slices"
	"testing"

	"github.com/ocpctl/ocpstore/store"
)

// Factory returns two handles onto the same fresh, empty data for one
// subtest, both using clock for every timestamp and expiry (a nil clock
// means the backend's own clock: the database's, or time.Now). The second
// handle must be as independent as a second worker process would be: for
// PostgreSQL, a second connection pool. Lock and claim tests race the two.
// The factory registers its own cleanup with t.Cleanup. The suite runs
// every Store it is given with a test keyring of its own (store.Derive and
// store.WithKeyring), so secret fields are sealed on every backend and the
// factory needs no keyring.
type Factory func(t *testing.T, clock store.Clock) (primary, secondary *store.Store)

// Run runs the whole conformance suite against the backend behind
// newStores, as parallel subtests grouped by sub-store and concern. Every
// subtest gets fresh data and its own ManualClock (one lock subtest uses
// the backend's own clock), so the groups and their subtests run in
// parallel.
func Run(t *testing.T, newStores Factory) {
	t.Helper()
	RunGroups(t, newStores)
}

// RunGroups runs the named groups of Run's suite (all of them when none is
// named), for a backend configuration that needs only some of them checked
// again: PostgreSQL on a database with another default collation runs
// "IDOrder". An unknown name fails t.
func RunGroups(t *testing.T, newStores Factory, names ...string) {
	t.Helper()
	setup := newSetup(newStores)
	realClock := func(t *testing.T) *bundle {
		t.Helper()
		s, s2 := newStores(t, nil)
		return &bundle{s: sealed(s), s2: sealed(s2), ctx: t.Context()}
	}
	groups := []group{
		{"Clusters", testClusters},
		{"Jobs", testJobs},
		{"Locks", func(t *testing.T, setup setupFunc) { testLocks(t, setup, realClock) }},
		{"Claim", testClaim},
		{"ClaimMany", testClaimMany},
		{"Coalesce", testCoalesce},
		{"KeepAlive", testKeepAlive},
		{"RecoverStuck", testRecoverStuck},
		{"QueueStats", testQueueStats},
		{"StateMachine", testStateMachine},
		{"Tx", testTx},
		{"TxOuterStore", testOuterStoreInTx},
		{"TxAborted", testTxAborted},
		{"Idempotency", testIdempotency},
		{"Audit", testAudit},
		{"RBAC", testRBAC},
		{"Outputs", testOutputs},
		{"Sealing", testSealing},
		{"Usage", testUsage},
		{"Paging", testKeysetPaging},
		{"IDOrder", testIDOrder},
		{"Times", testTimes},
		{"Durations", testDurations},
		{"ExactValues", testExactValues},
		{"HostileStrings", testHostileStrings},
	}
	for _, name := range names {
		if !slices.ContainsFunc(groups, func(g group) bool { return g.name == name }) {
			t.Fatalf("storetest: no group %q", name)
		}
	}
	for _, g := range groups {
		if len(names) > 0 && !slices.Contains(names, g.name) {
			continue
		}
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.run(t, setup)
		})
	}
}

// group is one group of the suite: a sub-store or a concern.
type group struct {
	name string
	run  func(*testing.T, setupFunc)
}
