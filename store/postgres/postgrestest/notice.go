package postgrestest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// ttyPath is where announceSkip writes: the terminal of the test process.
// A variable so the tests can point it at a file.
var ttyPath = "/dev/tty"

var announced sync.Once

// announceSkip tells the person at the terminal, once per test process,
// that this package's PostgreSQL tests are being skipped, and why. go test
// shows a passing package's output only with -v, so the skip messages alone
// would leave a plain `go test ./...` printing "ok" for a backend that never
// ran. The terminal is written to directly, past go test's buffering; where
// there is none (CI, an IDE), nothing is written, and the skip messages
// remain. Under CI the tests fail instead (see New).
func announceSkip(cause error) {
	announced.Do(func() {
		tty, err := os.OpenFile(ttyPath, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer tty.Close()
		fmt.Fprintf(tty, "SKIP\t%s: PostgreSQL tests not run (%v; go test -v says how to run them)\n", packageDir(), cause)
	})
}

// packageDir names the directory go test runs a package's tests in (the
// package's own) as ./path from its module's root, or in full when no
// go.mod is found above it.
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "this package"
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(dir, wd)
			if err != nil {
				return wd
			}
			return "./" + filepath.ToSlash(rel)
		}
		if filepath.Dir(dir) == dir {
			return wd
		}
	}
}

// SetDefaultParallel makes n the number of tests that run in parallel
// (go test's -parallel), unless the command line gave -parallel. Call it in
// the TestMain of a package whose parallel tests mostly wait on PostgreSQL
// (creating databases, round trips, lock waits) rather than use the CPU:
// go test's default, GOMAXPROCS, leaves a small machine idle while they
// wait. Each test of postgrestest holds up to PoolMaxConns connections per
// pool, so n bounds the connections the package opens as well.
func SetDefaultParallel(n int) {
	if !flag.Parsed() {
		flag.Parse()
	}
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		if err := flag.Set("test.parallel", strconv.Itoa(n)); err != nil {
			panic(fmt.Sprintf("postgrestest: SetDefaultParallel outside a test binary: %v", err))
		}
	}
}
