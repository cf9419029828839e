package fleet_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestMain fails the package's tests when a goroutine they started (a
// process waiter, a pool, a sampler) is still running after the last one.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, postgrestest.LeakOptions()...)
}
