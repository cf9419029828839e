package postgrestest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
)

// Open is New for code that has no testing.TB, such as a runnable example:
// a fresh database with ocpstore's schema migrated and no rows, which the
// caller drops with Drop. Its server is New's (see the package
// documentation). Without one it returns an error matching ErrNoServer.
func Open(ctx context.Context) (*DB, error) {
	srv, err := sharedServer()
	if err != nil {
		return nil, err
	}
	return srv.create(ctx, srv.template)
}

// OpenEmpty is Open without the schema, as NewEmpty is New without it.
func OpenEmpty(ctx context.Context) (*DB, error) {
	srv, err := sharedServer()
	if err != nil {
		return nil, err
	}
	return srv.create(ctx, "template0")
}

// SkipWithoutServer makes go test skip the tests and examples whose names
// match pattern (it adds pattern to -skip) when no server is available and
// the environment variable CI is empty, as New skips a test then. Call it in
// the TestMain of a package whose runnable examples use Open: unlike a
// test, an example cannot skip itself. Under CI nothing is skipped, so the
// examples fail without a server, as New fails a test.
func SkipWithoutServer(pattern string) {
	_, err := sharedServer()
	if !errors.Is(err, ErrNoServer) || os.Getenv("CI") != "" {
		return
	}
	announceSkip(err)
	if !flag.Parsed() {
		flag.Parse()
	}
	skip := flag.Lookup("test.skip")
	if skip == nil {
		return // not a test binary
	}
	if old := skip.Value.String(); old != "" {
		pattern = old + "|" + pattern
	}
	if err := skip.Value.Set(pattern); err != nil {
		panic(fmt.Sprintf("postgrestest: SkipWithoutServer: set -test.skip: %v", err))
	}
}
