// Command bench measures ocpstore's PostgreSQL backend against the
// database's own ceiling, and shows that its costs stay flat as the data
// grows. It needs a PostgreSQL server on which it may create databases; it
// works only in databases of its own, named ocpbench_*, and drops them
// afterwards (unless -keep).
//
// It is a Go module of its own (github.com/ocpctl/ocpstore/bench, with a
// replace directive onto the library in the directory above), so that what
// it compares the store with, River, never enters the library's module. Run
// it from this directory:
//
//	go run . -mode ceiling   # the store vs pgbench running the same statements
//	go run . -mode drain     # burn-down: Claim+Finish vs ClaimMany+FinishMany
//	go run . -mode peer      # burn-down: the store's drain vs River's, alternated
//	go run . -mode gen       # generate the 1M-cluster dataset (ocpbench_flat)
//	go run . -mode flat      # costs on the big dataset vs near-empty tables
//
// Modes:
//
//   - ceiling: the same statements, the same clients, the same data, run
//     by pgbench (scripts/pgbench, executed here when pgbench is found) and
//     through the store, for Acquire+Release and Claim+Finish, with the
//     clients on random clusters and on one hot cluster. It prints both
//     rates and the store's share of pgbench's. Run it from this
//     directory, or point -scripts at the repository's scripts/pgbench.
//   - drain: a burn-down in the manner of River's `river bench`: a queue of
//     pre-inserted no-op jobs is drained by workers, one job per
//     transaction (Claim, Finish) and in batches (ClaimMany, FinishMany),
//     and the jobs per second are compared. Per-cluster exclusion and
//     fencing hold in both: the batch calls take a lock per cluster and
//     write fenced by its token, as the single ones do.
//   - peer: River (v0.51.2), the job queue users compare the store with,
//     burns down the same number of no-op jobs with its own client
//     (-river-workers workers), alternated round by round with the store's
//     drain (-batches, default 1 and 100, with -workers workers), on the
//     same server, River's tables in a database of their own; it prints
//     each side's jobs per second and the store/River ratios.
//   - gen: generates the flat mode's dataset (1,000,000 clusters, 3,000,000
//     finished jobs, 5,000,000 audit events at -scale 1) with COPY into a
//     fresh database, ocpbench_flat, and keeps it.
//   - flat: on that dataset (generated first when missing or of another
//     scale) and on near-empty tables, measures keyset pages deep in the
//     listings against the first page, a filtered list page, and Claim with
//     1,000 pending jobs, and prints the claim query's plan on an empty
//     queue (EXPLAIN ANALYZE, BUFFERS).
//
// The machine is measured as it is: every figure is compared only with a
// baseline taken in the same run, on the same machine, and the report says
// which.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"
)

// Exit codes.
const (
	exitFailed = 1 // a measurement failed
	exitSetup  = 2 // bad flags
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// defaultURL is the server used when neither -database-url nor
// $DATABASE_URL names one.
const defaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// options are the command line.
type options struct {
	mode        string
	databaseURL string
	clients     int
	duration    time.Duration
	rounds      int
	keep        bool
	profile     bool
	history     bool
	cpuProfile  string

	// ceiling
	pgbench    string
	scripts    string
	clusters   int
	queue      int
	hotQueue   int
	workloads  []string
	contention []bool // false: random clusters, true: one hot cluster

	// drain
	jobs     int
	workers  int
	batches  []int
	coalesce string // batch 1 through a store.Coalescer: true, false or both
	inFlight []int  // the Coalescer's MaxInFlight values

	// peer
	riverWorkers []int

	// gen, flat
	scale   float64
	samples int
}

// parseFlags parses args; it returns flag.ErrHelp for -h.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: go run . -mode ceiling|drain|peer|gen|flat [flags]

Measures ocpstore on PostgreSQL: against pgbench running the same statements
(ceiling), draining a queue one job or a batch at a time (drain), against
River draining the same queue (peer), and on a generated dataset of a million
clusters (gen, flat). Works only in databases
named ocpbench_*, which it creates and drops.

Flags:
`)
		fs.PrintDefaults()
	}
	o := &options{}
	def := os.Getenv("DATABASE_URL")
	if def == "" {
		def = defaultURL
	}
	var workloads, contention, batches, riverWorkers, inFlight string
	fs.StringVar(&o.mode, "mode", "ceiling", "ceiling, drain, peer, gen or flat")
	fs.StringVar(&o.databaseURL, "database-url", def, "a PostgreSQL server and database on which CREATE DATABASE may run (default $DATABASE_URL)")
	fs.IntVar(&o.clients, "clients", 8, "ceiling: concurrent clients (pgbench -c), and connections of the store's pool")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "ceiling: length of each run (whole seconds for pgbench)")
	fs.IntVar(&o.rounds, "rounds", 3, "ceiling, drain, peer: runs of each side; the medians are compared")
	fs.BoolVar(&o.keep, "keep", false, "keep the ceiling and drain databases afterwards (the flat one is always kept)")
	fs.BoolVar(&o.profile, "profile", false, "drain, peer: print what the database did per job in the last round's runs (needs pg_stat_statements in shared_preload_libraries; for the profile, not the rates)")
	fs.BoolVar(&o.history, "history", false, "drain, peer: give every cluster a finished job and its released lock before each queue (job_locks never empty, as in production)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.StringVar(&o.pgbench, "pgbench", "", `ceiling: the pgbench binary; empty finds one, "none" skips the baseline`)
	fs.StringVar(&o.scripts, "scripts", "../scripts/pgbench", "ceiling: the directory of the pgbench scripts")
	fs.IntVar(&o.clusters, "clusters", 50_000, "ceiling: READY clusters (random contention picks among them)")
	fs.IntVar(&o.queue, "queue", 50_000, "ceiling: pending jobs of Claim+Finish on random clusters (one per cluster while they last)")
	fs.IntVar(&o.hotQueue, "hot-queue", 2_000, "ceiling: pending jobs of Claim+Finish on the hot cluster")
	fs.StringVar(&workloads, "workloads", "acquire,claim", "ceiling: acquire (Acquire+Release) and/or claim (Claim+Finish)")
	fs.StringVar(&contention, "contention", "random,hot", "ceiling: random (clients on random clusters) and/or hot (one cluster)")
	fs.IntVar(&o.jobs, "jobs", 20_000, "drain, peer: pre-inserted jobs, one per cluster")
	fs.IntVar(&o.workers, "workers", 8, "drain, peer: the store's concurrent workers (one connection each; River's pool has as many)")
	fs.StringVar(&batches, "batches", "1,10,100", "drain, peer: batch sizes; 1 is Claim+Finish, more is ClaimMany+FinishMany (peer's default: 1,100)")
	fs.StringVar(&o.coalesce, "coalesce", "both", "drain, peer: batch 1 (Claim+Finish) through a store.Coalescer (true), one call per job (false), or both")
	fs.StringVar(&inFlight, "in-flight", "1", "drain, peer: the coalesced batch 1's MaxInFlight values (store.CoalescerOptions), one variant each")
	fs.StringVar(&riverWorkers, "river-workers", "8,100", "peer: River's worker counts (MaxWorkers of its queue)")
	fs.Float64Var(&o.scale, "scale", 1, "gen, flat: dataset size; 1 is 1,000,000 clusters, 3,000,000 jobs, 5,000,000 audit events")
	fs.IntVar(&o.samples, "samples", 200, "flat: timed calls per measurement")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var err error
	if o.workloads, err = oneOf("-workloads", workloads, "acquire", "claim"); err != nil {
		return nil, err
	}
	cs, err := oneOf("-contention", contention, "random", "hot")
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		o.contention = append(o.contention, c == "hot")
	}
	if o.mode == "peer" && !isSet(fs, "batches") {
		batches = "1,100"
	}
	if o.batches, err = counts("-batches", batches, 1000); err != nil {
		return nil, err
	}
	if o.inFlight, err = counts("-in-flight", inFlight, 1000); err != nil {
		return nil, err
	}
	if o.riverWorkers, err = counts("-river-workers", riverWorkers, 10_000); err != nil {
		return nil, err
	}
	switch {
	case o.mode != "ceiling" && o.mode != "drain" && o.mode != "peer" && o.mode != "gen" && o.mode != "flat":
		return nil, fmt.Errorf("-mode %q: want ceiling, drain, peer, gen or flat", o.mode)
	case o.clients < 1 || o.workers < 1 || o.rounds < 1 || o.samples < 1:
		return nil, errors.New("-clients, -workers, -rounds and -samples must be positive")
	case o.clusters < 1 || o.queue < 1 || o.hotQueue < 1 || o.jobs < 1:
		return nil, errors.New("-clusters, -queue, -hot-queue and -jobs must be positive")
	case o.coalesce != "true" && o.coalesce != "false" && o.coalesce != "both":
		return nil, fmt.Errorf("-coalesce %q: want true, false or both", o.coalesce)
	case o.scale <= 0:
		return nil, errors.New("-scale must be positive")
	}
	return o, nil
}

// isSet reports whether flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// counts splits a comma-separated list of numbers between 1 and most.
func counts(flagName, list string, most int) ([]int, error) {
	var out []int
	for _, item := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(item))
		if err != nil || n < 1 || n > most {
			return nil, fmt.Errorf("%s: %q is not a number between 1 and %d", flagName, item, most)
		}
		out = append(out, n)
	}
	return out, nil
}

// oneOf splits a comma-separated list whose items must be among allowed.
func oneOf(flagName, list string, allowed ...string) ([]string, error) {
	var out []string
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		ok := false
		for _, a := range allowed {
			ok = ok || item == a
		}
		if !ok {
			return nil, fmt.Errorf("%s: %q is not one of %s", flagName, item, strings.Join(allowed, ", "))
		}
		out = append(out, item)
	}
	return out, nil
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
	srv, err := newServer(o.databaseURL)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitSetup
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if o.cpuProfile != "" {
		stopProfile, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitSetup
		}
		defer stopProfile()
	}
	printMachine(ctx, srv, stdout)
	switch o.mode {
	case "ceiling":
		err = runCeiling(ctx, o, srv, stdout)
	case "drain":
		err = runDrain(ctx, o, srv, stdout)
	case "peer":
		err = runPeer(ctx, o, srv, stdout, stderr)
	case "gen":
		err = runGen(ctx, o, srv, stdout)
	default:
		err = runFlat(ctx, o, srv, stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	return 0
}
