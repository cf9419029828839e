// Command observability shows ocpstore's OpenTelemetry instrumentation
// (module otelstore) exported by the SDK's stdout exporters: it runs a
// small job queue (clusters requested, jobs claimed, heartbeated and
// finished, an empty claim, a read of a missing row), then prints the
// metrics (operation durations, errors by class, claims, queue gauges,
// and on PostgreSQL the pool's statistics) as JSON, and with -spans the
// spans too.
//
//	go run ./examples/observability                 # in memory (from otelstore/)
//	go run ./examples/observability -spans -database-url postgres://postgres@127.0.0.1:5432/test?sslmode=disable
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ocpctl/ocpstore/otelstore"
	"github.com/ocpctl/ocpstore/otelstore/otelpool"
	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// usage is what -help prints before the flags.
const usage = `Usage: go run ./examples/observability [-clusters N] [-spans] [-database-url URL]

observability runs a small job queue on an ocpstore Store instrumented with
otelstore (an OpenTelemetry Observer, the queue gauges and, on PostgreSQL, the
pool's statistics), then prints what the SDK's stdout exporters export: the
metrics as JSON on stdout, and with -spans every span before them.

Backend: in memory by default; PostgreSQL with -database-url (or
DATABASE_URL), migrated first. It queues and works jobs of its own there (and
would work any other runnable job): give it a database for trying things out.

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
	fs := flag.NewFlagSet("observability", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); fs.PrintDefaults() }
	clusters := fs.Int("clusters", 3, "clusters to request, one CREATE job each")
	spans := fs.Bool("spans", false, "print the spans too (one JSON object each)")
	dbURL := fs.String("database-url", getenv("DATABASE_URL"), "PostgreSQL URL (default $DATABASE_URL); empty runs in memory")
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		return 2
	case fs.NArg() > 0 || *clusters < 1:
		fmt.Fprintln(stderr, "observability: flags only, and at least one cluster")
		return 2
	}
	if err := run(ctx, *dbURL, *clusters, *spans, stdout); err != nil {
		fmt.Fprintln(stderr, "observability:", err)
		return 1
	}
	return 0
}

// run sets up the exporters and the instrumented Store, runs the work and
// flushes the exporters.
func run(ctx context.Context, dbURL string, clusters int, spans bool, out io.Writer) (err error) {
	var pool *pgxpool.Pool // opened first, closed last: after the final collection
	if dbURL != "" {
		if pool, err = openPool(ctx, dbURL); err != nil {
			return err
		}
		defer pool.Close()
	}

	// The SDK: spans to out when asked (else dropped), metrics to out when
	// the reader is shut down (a long-running service would use a
	// PeriodicReader's interval, or the Prometheus exporter).
	var tpOpts []sdktrace.TracerProviderOption
	if spans {
		exp, err := stdouttrace.New(stdouttrace.WithWriter(out))
		if err != nil {
			return err
		}
		tpOpts = append(tpOpts, sdktrace.WithSyncer(exp))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)
	mexp, err := stdoutmetric.New(stdoutmetric.WithWriter(out), stdoutmetric.WithPrettyPrint())
	if err != nil {
		return err
	}
	reader := sdkmetric.NewPeriodicReader(mexp, sdkmetric.WithInterval(time.Hour))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() {
		err = errors.Join(err, tp.Shutdown(context.WithoutCancel(ctx)), mp.Shutdown(context.WithoutCancel(ctx)))
	}()

	// The instrumentation.
	obs, err := otelstore.NewObserver(otelstore.WithTracerProvider(tp), otelstore.WithMeterProvider(mp))
	if err != nil {
		return err
	}
	meter := mp.Meter("ocpstore-example")
	var s *store.Store
	if pool == nil {
		s = store.New(memory.NewBackend(), store.WithObserver(obs))
	} else {
		s = postgres.New(pool, postgres.WithStoreOptions(store.WithObserver(obs)))
		if _, err := otelpool.Register(meter, pool); err != nil {
			return err
		}
	}
	if _, err := otelstore.RegisterQueueMetrics(meter, s); err != nil {
		return err
	}
	return work(ctx, s, clusters)
}

// openPool opens and migrates the PostgreSQL database.
func openPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := postgres.DefaultConfig(url)
	if err != nil {
		return nil, err
	}
	pool, err := postgres.NewPool(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := postgres.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// work requests the clusters and runs all but one of their jobs, so the
// queue gauges have something to show, plus an empty claim and a read of
// a missing cluster (answers, not failures: their spans stay unset).
func work(ctx context.Context, s *store.Store, clusters int) error {
	suffix := time.Now().Format("150405.000000")
	for i := range clusters {
		err := s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
			c := &store.Cluster{Name: fmt.Sprintf("obs-%d-%s", i, suffix), Platform: store.PlatformAWS,
				Version: "4.16.3", Profile: "aws-standard", Region: "us-east-1", Owner: "alice@example.com",
				Team: "platform", CostCenter: "cc-1", RequestedBy: "alice", TTLHours: 24}
			if err := tx.Clusters.Create(ctx, c); err != nil {
				return err
			}
			return tx.Jobs.Create(ctx, &store.Job{ClusterID: c.ID, JobType: store.JobCreate})
		})
		if err != nil {
			return fmt.Errorf("request a cluster: %w", err)
		}
	}
	for range clusters - 1 {
		cl, err := s.Claim(ctx, store.ClaimParams{WorkerID: "example", LockTTL: time.Minute})
		if err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		h, err := s.KeepAlive(ctx, cl.Lock, time.Minute, 0)
		if err != nil {
			return err
		}
		lock := h.Stop() // the work would run under h.Context()
		if _, err := s.Finish(ctx, lock, store.Succeeded(nil)); err != nil {
			return fmt.Errorf("finish: %w", err)
		}
	}
	if _, err := s.Claim(ctx, store.ClaimParams{WorkerID: "example", LockTTL: time.Minute,
		JobTypes: []store.JobType{store.JobDestroy}}); !errors.Is(err, store.ErrNoJob) {
		return fmt.Errorf("claim a DESTROY job: %w, want none", err)
	}
	if _, err := s.Clusters.GetByID(ctx, store.NewID(store.PrefixCluster)); !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("read a missing cluster: %w, want not found", err)
	}
	return nil
}
