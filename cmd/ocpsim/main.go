// Command ocpsim simulates the control plane's worker fleet on ocpstore,
// with injected faults, and verifies that the store kept its promises. It
// is a tool for testing the store under adversity; the program to read to
// learn the worker API is examples/worker.
//
// It seeds clusters with a queue of jobs each (CREATE, then HIBERNATE and
// RESUME pairs, then usually DESTROY), runs several workers that Claim jobs,
// heartbeat with KeepAlive and Finish them fenced by the lock's token, and a
// janitor that requeues stuck jobs with RecoverStuck. Faults are injected:
// transient errors (the job is retried), workers that stall past their lock's
// expiry while another worker takes the cluster over (their late Finish must
// be refused with store.ErrLockLost), and job contexts cancelled mid-run.
//
// The database may come and go (connections killed, a restart, a failover):
// every call that fails with store.ErrUnavailable is waited out and tried
// again, a write whose outcome is unknown (store.ErrCommitUnknown) is
// resolved by reading back, and the report counts them.
//
// When every job is terminal it reads the store back and verifies that every
// job reached a terminal state exactly once, that no cluster ever had two
// holders at once and fencing tokens only grew, and that every cluster's
// final status is what the state machine says its jobs' outcomes imply. It
// exits 1 if a check fails.
//
//	go run ./cmd/ocpsim                       # in memory
//	go run ./cmd/ocpsim -database-url postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//
// On PostgreSQL the simulation runs in a schema of its own, created and
// migrated for the run and dropped afterwards (see -schema), because its
// workers claim every runnable job they can see.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
)

// Exit codes.
const (
	exitFailed = 1 // a verification check failed
	exitSetup  = 2 // bad flags, or the store could not be set up
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command line.
type options struct {
	cfg         Config
	databaseURL string
	schema      string
	keepSchema  bool
}

// parseFlags parses args; it returns flag.ErrHelp for -h.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("ocpsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: go run ./cmd/ocpsim [flags]

ocpsim simulates a fleet of workers running cluster jobs on ocpstore, with
injected faults (transient errors, workers stalling past their lock's
expiry, cancelled jobs), then verifies the store's record of the run (exit
status 1 if a check fails, 2 if it could not run).

Backend: in memory by default; PostgreSQL with -database-url (or
DATABASE_URL), in a schema of the run's own, created, migrated and dropped
afterwards (see -schema).

Flags:
`)
		fs.PrintDefaults()
	}
	o := &options{}
	fs.IntVar(&o.cfg.Clusters, "clusters", 24, "clusters to seed; each gets a CREATE job, up to two HIBERNATE+RESUME pairs and usually a DESTROY")
	fs.IntVar(&o.cfg.Workers, "workers", 6, "concurrent workers")
	fs.Float64Var(&o.cfg.FaultRate, "fault-rate", 0.15, "probability (0-1) that one run of a job meets a fault:\nhalf transient errors, a quarter stalls past the lock TTL, a quarter cancelled contexts")
	fs.Uint64Var(&o.cfg.Seed, "seed", 15, "seed of the job mix, the fault plan and the work durations; the same\nseed injects the same faults (timing still varies). The default, 15,\ninjects every kind of fault and ends jobs in every way")
	fs.DurationVar(&o.cfg.LockTTL, "lock-ttl", 300*time.Millisecond, "TTL of a cluster lock; heartbeats extend it every third of it")
	fs.DurationVar(&o.cfg.Timeout, "timeout", 2*time.Minute, "give up (and fail) after this long")
	// The default is read after parsing, not shown by -help: it may hold a password.
	fs.StringVar(&o.databaseURL, "database-url", "", "PostgreSQL connection URL (default $DATABASE_URL); empty runs in memory")
	fs.StringVar(&o.schema, "schema", "", "PostgreSQL schema to run in; empty creates a fresh schema for the run\n(ocpsim_<run id>) and drops it afterwards. A named schema is created\nand migrated if needed, kept, and must hold no unfinished jobs")
	fs.BoolVar(&o.keepSchema, "keep-schema", false, "keep the fresh schema afterwards, to inspect the run's rows")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.databaseURL == "" {
		o.databaseURL = os.Getenv("DATABASE_URL")
	}
	return o, nil
}

// run is main with its exit code returned, for testing.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitSetup
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	o.cfg = o.cfg.withDefaults() // fixes the run ID, which names the schema
	o.cfg.Progress, o.cfg.Live = stdout, isTerminal(stdout)

	s, backend, closeStore, err := open(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitSetup
	}
	defer closeStore()

	fmt.Fprintf(stdout, "ocpstore simulation on %s: %d clusters, %d workers, fault rate %.2f, seed %d\n",
		backend, o.cfg.Clusters, o.cfg.Workers, o.cfg.FaultRate, o.cfg.Seed)
	rep, err := Run(ctx, s, o.cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitSetup
	}
	rep.Print(stdout)
	if !rep.OK() {
		return exitFailed
	}
	return 0
}

// open returns the store to run on, a description of it, and how to close it.
func open(ctx context.Context, o *options) (*store.Store, string, func(), error) {
	if o.databaseURL == "" {
		return memory.New(), "memory", func() {}, nil
	}
	return openPostgres(ctx, o)
}

// isTerminal reports whether w is a terminal (a character device), where a
// progress line can be rewritten in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
