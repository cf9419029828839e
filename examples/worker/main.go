// Command worker is ocpstore's main example: a control plane's job queue
// worked by a fleet of workers, in one process. A producer queues clusters
// with four jobs each; workers loop Claim → KeepAlive → work → Finish; a
// janitor requeues the jobs of workers that died (RecoverStuck). When every
// job is done, or on Ctrl-C, the fleet stops gracefully (no new claims, each
// worker finishes the job in hand), and the program verifies from the
// store's rows and audit trail what workers rely on (verify.go).
//
// The database may come and go: store.ErrUnavailable means pause and try
// again, and a write that also failed with store.ErrCommitUnknown may have
// been applied, so a read decides, never a blind repeat (fleet.go).
//
//	go run ./examples/worker                  # in memory
//	go run ./examples/worker -database-url postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//
// cmd/ocpsim runs such a fleet with injected faults and a detailed report.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// usage is what -help prints before the flags.
const usage = `Usage: go run ./examples/worker [-clusters N] [-workers N] [-database-url URL]

worker is ocpstore's main example: a producer queues cluster jobs, workers run
them (Claim, KeepAlive, work, Finish), a janitor requeues dead workers' jobs
(RecoverStuck). Then it verifies from the store's rows and audit trail that
every job ended exactly once, that no cluster ever had two holders and that
each cluster's jobs ran in order (exit status 0 if so). It rides out an
unavailable database and counts the errors.

Backend: in memory by default; PostgreSQL with -database-url (or
DATABASE_URL), migrated first. Its workers then run every runnable job there,
as any worker would: give it a database for trying things out.

Flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cli is main without the process: it returns the exit status.
func cli(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); fs.PrintDefaults() }
	clusters := fs.Int("clusters", 20, "clusters to queue, with four jobs each")
	workers := fs.Int("workers", 4, "concurrent workers")
	// The default is read after parsing, not shown by -help: it may hold a password.
	dbURL := fs.String("database-url", "", "PostgreSQL URL (default $DATABASE_URL); empty runs in memory")
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		return 2 // the flag package said why
	case fs.NArg() > 0 || *clusters < 1 || *workers < 1:
		fmt.Fprintln(stderr, "worker: flags only, and at least one cluster and one worker")
		return 2
	}
	if *dbURL == "" {
		*dbURL = getenv("DATABASE_URL")
	}
	s, backend, closeStore, err := open(ctx, *dbURL)
	if err == nil {
		defer closeStore()
		fmt.Fprintf(stdout, "%d clusters, %d workers, on %s\n", *clusters, *workers, backend)
		err = run(ctx, s, *clusters, *workers, stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "worker:", err)
		return 1
	}
	return 0
}

// open returns the store: in memory, or on PostgreSQL, migrated, each step
// tried again while the database is unavailable (both are safe to repeat).
func open(ctx context.Context, url string) (*store.Store, string, func(), error) {
	if url == "" {
		return memory.New(), "memory", func() {}, nil
	}
	cfg, err := postgres.DefaultConfig(url)
	if err != nil {
		return nil, "", nil, err
	}
	var pool *pgxpool.Pool
	err = untilAvailable(ctx, func() (err error) { pool, err = postgres.NewPool(ctx, cfg); return err })
	if err != nil {
		return nil, "", nil, err
	}
	if err := untilAvailable(ctx, func() error { return postgres.Migrate(ctx, pool) }); err != nil {
		pool.Close()
		return nil, "", nil, err
	}
	cc := cfg.PoolConfig.ConnConfig
	return postgres.New(pool), fmt.Sprintf("PostgreSQL (database %s on %s)", cc.Database, cc.Host), pool.Close, nil
}

// errDone ends the claiming when every queued job is terminal.
var errDone = errors.New("every job is done")

// run queues the clusters and works them until every job is done, then
// verifies the outcome. Claimed jobs and the janitor run under work, which
// Ctrl-C does not cancel: each worker finishes the job in hand.
func run(ctx context.Context, s *store.Store, clusters, workers int, out io.Writer) error {
	claiming, stopClaiming := context.WithCancelCause(ctx)
	defer stopClaiming(nil)
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	f, start := &fleet{s: s, stop: stopClaiming}, time.Now()

	var fleetDone, janitorDone sync.WaitGroup
	for i := range workers {
		fleetDone.Go(func() { f.worker(work, claiming, fmt.Sprintf("worker-%d", i+1)) })
	}
	janitorDone.Go(func() { f.janitor(work) })
	queued := f.produce(claiming, clusters)
	for _, q := range queued { // wait until every job is terminal, or the claiming ends
		for !f.allTerminal(work, q) && pause(claiming, retryPause) == nil {
		}
	}
	stopClaiming(errDone) // a no-op if Ctrl-C or an error came first
	fleetDone.Wait()
	stopWork()
	janitorDone.Wait()
	if cause := context.Cause(claiming); !errors.Is(cause, errDone) {
		return fmt.Errorf("stopped before every job was done, so not verified: %w", cause)
	}
	fmt.Fprintf(out, "ran %d jobs in %v: %d claims, %d transient failures retried, %d runs lost their lock, %d jobs requeued by the janitor\n",
		len(jobTypes)*len(queued), time.Since(start).Round(time.Millisecond), f.claims.Load(), f.retries.Load(), f.lost.Load(), f.requeued.Load())
	return f.verify(context.WithoutCancel(ctx), queued, out)
}

// untilAvailable runs step until it succeeds or fails for another reason
// than an unavailable database (postgres.IsUnavailable), or ctx ends.
func untilAvailable(ctx context.Context, step func() error) error {
	for {
		err := step()
		if err == nil || !postgres.IsUnavailable(err) || pause(ctx, retryPause) != nil {
			return err
		}
	}
}
