package postgrestest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine they started (a
// pool's health check, say) is still running after the last one: every test
// must stop what it starts.
//
// The tests mostly wait on PostgreSQL, so eight run at once rather than
// GOMAXPROCS (-parallel still overrides it). The examples need a server
// too, and cannot skip themselves.
func TestMain(m *testing.M) {
	SetDefaultParallel(8)
	SkipWithoutServer("^Example")
	goleak.VerifyTestMain(m, LeakOptions()...)
}
