package postgres_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestMain fails the package's tests when a goroutine they started (a
// heartbeat, a pool's health check, a server) is still running after the
// last one: every test must stop what it starts. postgrestest.LeakOptions
// names the exceptions a registered postgrestest.Fallback needs (none here:
// this module registers none).
//
// The tests mostly wait on PostgreSQL, so eight run at once rather than
// GOMAXPROCS (-parallel still overrides it). The examples need a server
// too, and cannot skip themselves.
func TestMain(m *testing.M) {
	postgrestest.SetDefaultParallel(8)
	postgrestest.SkipWithoutServer("^Example")
	goleak.VerifyTestMain(m, postgrestest.LeakOptions()...)
}
