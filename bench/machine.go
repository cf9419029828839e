package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// printMachine prints what the figures were measured on: the date, the
// CPUs, Go, and the server's version and the settings that weigh on them.
func printMachine(ctx context.Context, srv *server, out io.Writer) {
	fmt.Fprintf(out, "date: %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(out, "machine: %d CPUs (%s), GOMAXPROCS %d, %s %s/%s\n", runtime.NumCPU(), cpuModel(),
		runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	var version, sb, sc, fsync string
	err := srv.admin(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT version(), current_setting('shared_buffers'),
			current_setting('synchronous_commit'), current_setting('fsync')`).Scan(&version, &sb, &sc, &fsync)
	})
	if err != nil {
		fmt.Fprintf(out, "server: %s (unreachable: %v)\n", srv.url.Redacted(), err)
		return
	}
	if i := strings.Index(version, " on "); i > 0 {
		version = version[:i]
	}
	fmt.Fprintf(out, "server: %s, shared_buffers %s, synchronous_commit %s, fsync %s at %s\n",
		version, sb, sc, fsync, srv.url.Hostname())
}

// cpuModel is the first "model name" of /proc/cpuinfo, or "unknown CPU".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// startCPUProfile writes a CPU profile to path until the returned function
// is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
