// Command ocpfleet is one process of a fleet (see package fleet): a worker
// process running several workers, the janitor, or the producer, on the
// database named by -url (a multi-host URL with
// target_session_attrs=read-write on a replicated PostgreSQL). It logs
// what the store acknowledged as JSON lines to -log and runs until SIGTERM
// or SIGINT, then stops claiming (or producing), finishes the jobs in hand
// and exits 0.
//
//	ocpfleet -role producer -url "$URL" -log producer.jsonl
//	ocpfleet -role worker -workers 4 -url "$URL" -log worker1.jsonl
//	ocpfleet -role janitor -url "$URL" -log janitor.jsonl
//
// -role migrate applies ocpstore's migrations and exits.
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

	"github.com/ocpctl/ocpstore/internal/fleet"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// Exit codes.
const (
	exitSetup    = 2 // bad flags, no database, no log
	exitTimedOut = 3 // the jobs in hand did not finish within -drain
)

// options are the command line.
type options struct {
	role, url, name, logPath string
	workers                  int
	ttl, workMin, workMax    time.Duration
	retryRate                float64
	clusters, backlog, every int
	interval, drain          time.Duration
}

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err != nil {
		return exitSetup
	}
	if o.role == "migrate" {
		return migrate(o, stderr)
	}
	logFile, err := os.OpenFile(o.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(stderr, "ocpfleet:", err)
		return exitSetup
	}
	defer logFile.Close()
	log := fleet.NewLog(o.name, logFile)

	stop, cancelStop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancelStop()
	// Store calls outlive stop by at most -drain, so the jobs in hand are
	// finished but a process never hangs on a database that is gone.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-stop.Done()
		time.AfterFunc(o.drain, cancel)
	}()

	pool, err := open(stop, o)
	if err != nil {
		fmt.Fprintln(stderr, "ocpfleet:", err)
		return exitSetup
	}
	defer pool.Close()
	s := postgres.New(pool)
	log.Add(fleet.Event{Kind: fleet.KindStart})
	var wg sync.WaitGroup
	switch o.role {
	case "worker":
		for i := range o.workers {
			w := &fleet.Worker{ID: fmt.Sprintf("%s-w%d", o.name, i), Store: s, Log: log, LockTTL: o.ttl,
				WorkMin: o.workMin, WorkMax: o.workMax, RetryRate: o.retryRate}
			wg.Go(func() { w.Run(ctx, stop) })
		}
	case "janitor":
		j := &fleet.Janitor{ID: o.name, Store: s, Log: log, Interval: o.interval}
		wg.Go(func() { j.Run(stop) })
	case "producer":
		p := &fleet.Producer{Name: o.name, Store: s, Log: log, Clusters: o.clusters, Backlog: o.backlog, NewClusterEvery: o.every}
		wg.Go(func() { p.Run(ctx, stop) })
	}
	wg.Wait()
	timedOut := ctx.Err() != nil
	log.Add(fleet.Event{Kind: fleet.KindStop, Retries: s.Stats().Retries})
	if err := log.Err(); err != nil {
		fmt.Fprintln(stderr, "ocpfleet: writing the log:", err)
		return exitSetup
	}
	if timedOut {
		fmt.Fprintf(stderr, "ocpfleet: the jobs in hand did not finish within %v\n", o.drain)
		return exitTimedOut
	}
	return 0
}

func parse(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("ocpfleet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.StringVar(&o.role, "role", "worker", "worker, janitor, producer or migrate")
	// The default is read after parsing, not shown by -help: it may hold a password.
	fs.StringVar(&o.url, "url", "", "the database (default $DATABASE_URL)")
	fs.StringVar(&o.name, "name", "", "the process's name, unique in the fleet (default role-PID)")
	fs.StringVar(&o.logPath, "log", "/dev/stdout", "the JSON-lines log to append to")
	fs.IntVar(&o.workers, "workers", 4, "workers in this process (role worker)")
	fs.DurationVar(&o.ttl, "ttl", 10*time.Second, "the lock TTL of each claim")
	fs.DurationVar(&o.workMin, "work-min", 50*time.Millisecond, "the shortest simulated job")
	fs.DurationVar(&o.workMax, "work-max", 250*time.Millisecond, "the longest simulated job")
	fs.Float64Var(&o.retryRate, "retry-rate", 0.1, "the share of jobs finished with a transient failure")
	fs.IntVar(&o.clusters, "clusters", 24, "READY clusters the producer creates at start")
	fs.IntVar(&o.backlog, "backlog", 30, "PENDING jobs the producer keeps queued")
	fs.IntVar(&o.every, "new-cluster-every", 25, "every n-th job the producer creates is a new cluster's CREATE job")
	fs.DurationVar(&o.interval, "interval", time.Second, "the janitor's interval")
	fs.DurationVar(&o.drain, "drain", 60*time.Second, "after a stop signal, how long the jobs in hand may take")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.url == "" {
		o.url = os.Getenv("DATABASE_URL")
	}
	if o.name == "" {
		o.name = fmt.Sprintf("%s-%d", o.role, os.Getpid())
	}
	var bad error
	switch {
	case o.role != "worker" && o.role != "janitor" && o.role != "producer" && o.role != "migrate":
		bad = fmt.Errorf("-role %q: want worker, janitor, producer or migrate", o.role)
	case o.url == "":
		bad = errors.New("-url is required")
	case o.workers < 1 || o.ttl <= 0 || o.workMin < 0 || o.workMax < o.workMin || o.interval <= 0:
		bad = errors.New("-workers, -ttl and -interval must be positive, 0 <= -work-min <= -work-max")
	}
	if bad != nil {
		fmt.Fprintln(stderr, "ocpfleet:", bad)
		return nil, bad
	}
	return o, nil
}

// open opens the store on o.url, retrying for a while: a process may start
// while the cluster is failing over.
func open(ctx context.Context, o *options) (*pgxpool.Pool, error) {
	cfg, err := postgres.DefaultConfig(o.url)
	if err != nil {
		return nil, err
	}
	// A worker uses a connection per worker plus the heartbeats'; keep the
	// fleet well under the nodes' max_connections.
	// One idle connection is kept: a fleet of many processes would
	// otherwise hold DefaultMinConns each on every leader it fails over to.
	cfg.PoolConfig.MaxConns = int32(2*o.workers + 2)
	cfg.PoolConfig.MinConns = 1
	deadline := time.Now().Add(30 * time.Second)
	for {
		pool, err := postgres.NewPool(ctx, cfg)
		if err == nil {
			return pool, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// migrate applies the migrations on o.url.
func migrate(o *options, stderr io.Writer) int {
	ctx := context.Background()
	pool, err := open(ctx, o)
	if err == nil {
		defer pool.Close()
		err = postgres.Migrate(ctx, pool)
	}
	if err != nil {
		fmt.Fprintln(stderr, "ocpfleet: migrate:", err)
		return exitSetup
	}
	return 0
}
