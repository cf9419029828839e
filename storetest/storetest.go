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
	"testing"

	"github.com/ocpctl/ocpstore/store"
)

// Factory returns two handles onto the same fresh, empty data for one
// subtest, both using clock for every timestamp and expiry (a nil clock
// means the backend's own clock: the database's, or time.Now). The second
// handle must be as independent as a second worker process would be: for
// PostgreSQL, a second connection pool. Lock and claim tests race the two.
// The factory registers its own cleanup with t.Cleanup.
type Factory func(t *testing.T, clock store.Clock) (primary, secondary *store.Store)
