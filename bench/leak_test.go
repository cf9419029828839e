package main

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
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, postgrestest.LeakOptions()...)
}
