// Package pgcontainer gives postgrestest a PostgreSQL server in a Docker
// container when OCPSTORE_TEST_DATABASE_URL is unset. Blank-import it in a
// test file of each package whose tests use postgrestest:
//
//	import _ "github.com/ocpctl/ocpstore/store/postgres/postgrestest/pgcontainer"
//
// Its init function registers a postgrestest.Fallback that starts Image
// with testcontainers-go when a Docker engine answers: one container per
// test process, shared by its tests, removed by testcontainers' reaper once
// the process has exited. Without a Docker engine the tests skip (fail
// under CI), as without any server.
//
// It is a module of its own: testcontainers-go brings the Docker client and
// dozens of modules with it, which ocpstore's own module, and so every
// program built with ocpstore, does not need.
package pgcontainer

import (
	"context"
	"fmt"

	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"go.uber.org/goleak"

	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// Image is the PostgreSQL image the container runs.
const Image = "postgres:17-alpine"

func init() {
	postgrestest.RegisterFallback(postgrestest.Fallback{
		Name:  "container " + Image,
		Start: start,
		// testcontainers-go keeps two kinds of goroutines for the rest of
		// the process by design: the connection to its reaper (Ryuk), held
		// open so that the reaper removes the container only once the test
		// process has exited ((*Reaper).connect's goroutine), and the
		// keep-alive connections of its Docker API client (net/http's
		// persistConn loops).
		LeakOptions: []goleak.Option{
			goleak.IgnoreAnyFunction("github.com/testcontainers/testcontainers-go.(*Reaper).connect.func1"),
			goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
			goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		},
	})
}

// start starts Image and returns its URL, or an error matching
// postgrestest.ErrNoServer when no Docker engine answers. The container is
// never terminated here: testcontainers' reaper removes it when the test
// process exits, after the last test of the process has used it.
func start(ctx context.Context) (string, error) {
	provider, err := testcontainers.NewDockerProvider()
	if err != nil {
		return "", fmt.Errorf("%w: Docker is not available (%w)", postgrestest.ErrNoServer, err)
	}
	if err := provider.Health(ctx); err != nil { // Health also closes provider
		return "", fmt.Errorf("%w: Docker does not answer (%w)", postgrestest.ErrNoServer, err)
	}
	ctr, err := tcpostgres.Run(ctx, Image,
		tcpostgres.BasicWaitStrategies(),
		// Room for the parallel tests of several packages.
		testcontainers.WithCmdArgs("-c", "max_connections=300"),
	)
	if err != nil {
		_ = testcontainers.TerminateContainer(ctr)
		return "", fmt.Errorf("start container %s: %w", Image, err)
	}
	return ctr.ConnectionString(ctx, "sslmode=disable")
}
