package main

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestMain fails the package's tests when a goroutine they started (a
// pool's health check, say) is still running after the last one: every
// command must close what it opens.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, postgrestest.LeakOptions()...)
}
