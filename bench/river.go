package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// River's side of the peer mode: River's own burn-down, as its
// `river bench -n N` runs it (cmd/river/riverbench in River's repository):
// N no-op jobs inserted up front, a client started with W workers on the
// default queue, and the time until the N-th job's completion event, with
// the fetch settings `river bench` uses (FetchCooldown 2 ms,
// FetchPollInterval 20 ms). River's tables live in a database of their
// own on the same server as the store's.

// riverNoop is the arguments of the no-op job River works.
type riverNoop struct {
	N int `json:"n"`
}

// Kind is River's name for the job kind.
func (riverNoop) Kind() string { return "ocpbench_noop" }

// riverNoopWorker works a riverNoop job by doing nothing.
type riverNoopWorker struct {
	river.WorkerDefaults[riverNoop]
}

// Work does nothing and succeeds.
func (riverNoopWorker) Work(context.Context, *river.Job[riverNoop]) error { return nil }

// River's fetch settings in `river bench`, tuned there for throughput.
const (
	riverFetchCooldown     = 2 * time.Millisecond
	riverFetchPollInterval = 20 * time.Millisecond
)

// riverQueue is River's side of a burn-down: a database of its own with
// River's schema, and a pool on it.
type riverQueue struct {
	srv     *server
	name    string
	pool    *pgxpool.Pool // River's clients and the harness share it
	jobs    int
	log     *slog.Logger
	profile bool      // pg_stat_statements is there: runs may print a profile
	out     io.Writer // where profiles go
}

// openRiverQueue creates database name, migrates it to River's schema
// (rivermigrate) and opens a pool of conns connections on it. With
// profile, runs can print the database-side profile to out.
func openRiverQueue(ctx context.Context, srv *server, name string, jobs, conns int, profile bool, out, logs io.Writer) (*riverQueue, error) {
	dbURL, err := srv.create(ctx, name)
	if err != nil {
		return nil, err
	}
	q := &riverQueue{srv: srv, name: name, jobs: jobs, out: out,
		log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns, cfg.MinConns = int32(conns), int32(conns)
	if q.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		_ = srv.drop(context.WithoutCancel(ctx), name)
		return nil, fmt.Errorf("river pool: %w", err)
	}
	if err := q.migrate(ctx); err != nil {
		q.close(ctx, false)
		return nil, err
	}
	if err := warm(ctx, q.pool, conns); err != nil {
		q.close(ctx, false)
		return nil, err
	}
	if profile {
		if err := enableStatements(ctx, q.pool); err != nil {
			fmt.Fprintf(out, "  (no database-side profile of River: %v)\n", err)
		} else {
			q.profile = true
		}
	}
	return q, nil
}

// migrate brings the database to River's current schema.
func (q *riverQueue) migrate(ctx context.Context) error {
	m, err := rivermigrate.New(riverpgxv5.New(q.pool), &rivermigrate.Config{Logger: q.log})
	if err != nil {
		return fmt.Errorf("river migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrate: %w", err)
	}
	return nil
}

// close closes the pool and drops the database unless keep.
func (q *riverQueue) close(ctx context.Context, keep bool) {
	q.pool.Close()
	if !keep {
		_ = q.srv.drop(context.WithoutCancel(ctx), q.name)
	}
}

// newClient is a River client working the no-op jobs with workers workers
// (workers 0: a client that only inserts).
func (q *riverQueue) newClient(workers int) (*river.Client[pgx.Tx], error) {
	ws := river.NewWorkers()
	river.AddWorker(ws, riverNoopWorker{})
	cfg := &river.Config{
		FetchCooldown:     riverFetchCooldown,
		FetchPollInterval: riverFetchPollInterval,
		Logger:            q.log,
		Workers:           ws,
	}
	if workers > 0 {
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: workers}}
	}
	c, err := river.NewClient(riverpgxv5.New(q.pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return c, nil
}

// reset empties River's job table, inserts the queue's jobs (with COPY,
// InsertManyFast) and vacuums, as the store's queue is reset.
func (q *riverQueue) reset(ctx context.Context) error {
	if _, err := q.pool.Exec(ctx, "TRUNCATE river_job"); err != nil {
		return fmt.Errorf("river reset: %w", err)
	}
	c, err := q.newClient(0)
	if err != nil {
		return err
	}
	params := make([]river.InsertManyParams, q.jobs)
	for i := range params {
		params[i].Args = riverNoop{N: i}
	}
	if n, err := c.InsertManyFast(ctx, params); err != nil || n != q.jobs {
		return fmt.Errorf("river insert: %d of %d jobs: %w", n, q.jobs, err)
	}
	if _, err := q.pool.Exec(ctx, "VACUUM (ANALYZE) river_job"); err != nil {
		return fmt.Errorf("river vacuum: %w", err)
	}
	return nil
}

// run lays a fresh queue, checkpoints, burns it down with workers River
// workers, verifies that every job completed on its first attempt and
// returns the time from the client's start to the last completion. With
// profile (and the queue's profiling on) it prints what the database did
// per job; the pool's connections are then closed before the run, and
// River opens them again during it.
func (q *riverQueue) run(ctx context.Context, workers int, profile bool) (time.Duration, error) {
	if err := q.reset(ctx); err != nil {
		return 0, err
	}
	checkpoint(ctx, q.pool)
	var before *dbSnapshot
	if profile = profile && q.profile; profile {
		var err error
		if before, err = takeSnapshot(ctx, q.pool, riverTables, true, true); err != nil {
			return 0, err
		}
	}
	elapsed, err := q.burnDown(ctx, workers)
	if err != nil {
		return 0, fmt.Errorf("river, %d workers: %w", workers, err)
	}
	if profile {
		after, err := takeSnapshot(ctx, q.pool, riverTables, false, true)
		if err != nil {
			return 0, err
		}
		printProfile(q.out, fmt.Sprintf("river workers=%d", workers), q.jobs, before, after)
	}
	var completed, first int
	err = q.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'completed'),
		count(*) FILTER (WHERE state = 'completed' AND attempt = 1) FROM river_job`).Scan(&completed, &first)
	switch {
	case err != nil:
		return 0, fmt.Errorf("river verify: %w", err)
	case completed != q.jobs || first != q.jobs:
		return 0, fmt.Errorf("river verify: %d of %d jobs completed, %d on their first attempt", completed, q.jobs, first)
	}
	return elapsed, nil
}

// burnDown starts a client with workers workers and waits for the
// completion events of all the queue's jobs; the client is stopped before
// it returns (not timed).
func (q *riverQueue) burnDown(ctx context.Context, workers int) (time.Duration, error) {
	c, err := q.newClient(workers)
	if err != nil {
		return 0, err
	}
	// River's bench counts completions from a subscription, which sees a
	// job once its completion is written (River completes in batches).
	events, unsubscribe := c.SubscribeConfig(&river.SubscribeConfig{
		ChanSize: q.jobs,
		Kinds:    []river.EventKind{river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled},
	})
	defer unsubscribe()
	start := time.Now()
	if err := c.Start(ctx); err != nil {
		return 0, fmt.Errorf("river start: %w", err)
	}
	defer func() { _ = c.Stop(context.WithoutCancel(ctx)) }()
	for done := 0; done < q.jobs; {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-c.Stopped():
			return 0, errors.New("river client stopped")
		case e, ok := <-events:
			if !ok {
				return 0, errors.New("river subscription closed")
			}
			if e.Kind != river.EventKindJobCompleted {
				return 0, fmt.Errorf("river job %d: event %s", e.Job.ID, e.Kind)
			}
			done++
		}
	}
	return time.Since(start), nil
}
