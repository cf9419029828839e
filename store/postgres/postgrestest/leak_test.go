package postgrestest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine they started (a
// pool's health check, say) is still running after the last one: every test
// must stop what it starts.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, LeakOptions()...)
}
