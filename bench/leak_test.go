package main

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestMain fails the package's tests when a goroutine they started (a
// heartbeat, a pool's health check, a server) is still running after the
// last one: every test must stop what it starts. The only exceptions are
// the goroutines testcontainers keeps by design when postgrestest starts a
// container (see postgrestest.LeakOptions).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, postgrestest.LeakOptions()...)
}
