// Command api serves an idempotent cluster-request API on ocpstore: the
// pattern of reserving an Idempotency-Key, doing the work and storing the
// response, all in one transaction.
//
//	go run ./examples/api                      # in memory, on :8080
//	go run ./examples/api -database-url postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//
//	curl -si localhost:8080/clusters -H 'Idempotency-Key: k1' -H 'X-Actor: alice' -d '{
//	  "name": "demo", "platform": "aws", "version": "4.16.3", "profile": "aws-standard",
//	  "region": "us-east-1", "owner": "alice@example.com", "team": "platform",
//	  "cost_center": "cc-1", "ttl_hours": 24}'
//
// Sending the same request again replays the stored 201 (Idempotent-Replayed:
// true); the same key with another body is 422. On PostgreSQL the schema is
// migrated at start (postgres.Migrate is safe to run on every start).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// usage is what -help prints before the flags.
const usage = `Usage: go run ./examples/api [-addr ADDR] [-database-url URL]

api serves POST /clusters, an idempotent cluster-request API: a request
with an Idempotency-Key creates a cluster, its CREATE job and an audit
event, and stores the response, all in one transaction; the same key and
body again replays the stored response, the same key with another body is
refused with 422. The package documentation has a curl example.

Backend: in memory by default; PostgreSQL with -database-url (or
DATABASE_URL), migrated at start.

Flags:
`

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	// The default is read after parsing, not shown by -help: it may hold a password.
	dbURL := flag.String("database-url", "", "PostgreSQL connection URL (default $DATABASE_URL); empty serves from memory")
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), usage)
		flag.PrintDefaults()
	}
	flag.Parse()
	if *dbURL == "" {
		*dbURL = os.Getenv("DATABASE_URL")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := serve(ctx, *addr, *dbURL); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// serve serves the API on addr until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, addr, dbURL string) error {
	s, closeStore, err := open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer closeStore()

	srv := &http.Server{Addr: addr, Handler: NewHandler(s, nil),
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	slog.Info("serving the clusters API", "addr", addr, "postgres", dbURL != "")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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
