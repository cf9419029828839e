package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// usage is what -help prints before the flags.
const usage = `Usage: go run ./examples/manual [-database-url URL]

manual walks through the worker pattern of ocpctl's store README step by
step: a cluster request, worker-1 starting its job by hand in one
transaction (lock the cluster row, check the state machine, acquire the
cluster lock, mark the job started, commit) while worker-2 is refused, the
heartbeat, and the fenced Finish, printing each step and the audit trail.

Backend: in memory by default; PostgreSQL with -database-url (or
DATABASE_URL), migrated first.

Flags:
`

// cli is main without the process: it parses args, runs the walkthrough
// and returns the exit status.
func cli(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("manual", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// The default is read after parsing, not shown by -help: it may hold a password.
	dbURL := fs.String("database-url", "",
		"PostgreSQL connection URL (default $DATABASE_URL); empty runs in memory")
	help := func(w io.Writer) {
		fmt.Fprint(w, usage)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	fs.Usage = func() {} // the flag package prints a parse error itself
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			help(stdout)
			return 0
		}
		help(stderr)
		return 2
	}
	if *dbURL == "" {
		*dbURL = getenv("DATABASE_URL")
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "manual: unexpected arguments %q\n", fs.Args())
		return 2
	}
	s, closeStore, err := open(ctx, *dbURL)
	if err != nil {
		fmt.Fprintln(stderr, "manual:", err)
		return 1
	}
	defer closeStore()
	if err := run(ctx, s, stdout); err != nil {
		fmt.Fprintln(stderr, "manual:", err)
		return 1
	}
	return 0
}

// open returns the store: memory, or PostgreSQL (migrated) when dbURL is set.
func open(ctx context.Context, dbURL string) (*store.Store, func(), error) {
	if dbURL == "" {
		return memory.New(), func() {}, nil
	}
	cfg, err := postgres.DefaultConfig(dbURL)
	if err != nil {
		return nil, nil, err
	}
	pool, err := postgres.NewPool(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := postgres.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, nil, err
	}
	return postgres.New(pool), pool.Close, nil
}
