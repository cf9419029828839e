package postgrestest

import (
	"context"
	"errors"
	"sync"

	"go.uber.org/goleak"
)

// ErrNoServer marks the absence of any server: EnvURL unset and no fallback
// that could start one. It skips a test (fails it under CI); every other
// setup error fails it. A Fallback returns it (wrapped) when it has no
// server to offer, such as when no Docker engine answers.
var ErrNoServer = errors.New("no PostgreSQL server for tests")

// containerPackage is the module whose package starts PostgreSQL in Docker
// for postgrestest. It is a module of its own so that this module, and every
// program that imports it, does not depend on testcontainers and the Docker
// client.
const containerPackage = "github.com/ocpctl/ocpstore/store/postgres/postgrestest/pgcontainer"

// Fallback is where New finds a server when EnvURL is unset: typically one
// it starts in a container. pgcontainer (see containerPackage) registers one
// when a test binary imports it.
type Fallback struct {
	// Name says where the server comes from in messages ("container
	// postgres:17-alpine").
	Name string
	// Start returns the postgres:// URL of a database on which the user may
	// create and drop databases, or an error matching ErrNoServer when it
	// has no server to offer. It is called at most once per process, and
	// whatever it starts must outlive every test of the process.
	Start func(ctx context.Context) (url string, err error)
	// LeakOptions are the goleak options for goroutines the server's client
	// keeps running by design after the tests (see LeakOptions).
	LeakOptions []goleak.Option
}

var fallback struct {
	mu sync.Mutex
	fb *Fallback
}

// RegisterFallback makes fb the source of the server when EnvURL is unset.
// Call it from an init function (pgcontainer does), before any test calls
// New; a later registration replaces an earlier one.
func RegisterFallback(fb Fallback) {
	fallback.mu.Lock()
	defer fallback.mu.Unlock()
	fallback.fb = &fb
}

// registered returns the registered Fallback, or nil.
func registered() *Fallback {
	fallback.mu.Lock()
	defer fallback.mu.Unlock()
	return fallback.fb
}
