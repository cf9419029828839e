package main

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestMain fails the package's tests when a goroutine they started (a
// pool's health check, say) is still running after the last one: every
// command must close what it opens.
//
// The tests mostly wait on PostgreSQL, so eight run at once rather than
// GOMAXPROCS (-parallel still overrides it).
func TestMain(m *testing.M) {
	postgrestest.SetDefaultParallel(8)
	goleak.VerifyTestMain(m, postgrestest.LeakOptions()...)
}
