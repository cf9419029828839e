package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// The drain mode is a burn-down, the method of River's `river bench`:
// insert N jobs up front, start the workers, and time how long they take
// to work the queue down to empty; jobs per second is N over that time.
// Here the jobs are no-op day-2 jobs (POST_CONFIGURE on READY clusters,
// one job per cluster, in random cluster order), each worker owns one pool
// connection, and a job is "worked" by finishing it as a success the moment
// it is claimed. Batch size 1 is Claim then Finish, one job per
// transaction each; a batch size b > 1 is ClaimMany(b) then FinishMany of
// the whole batch, two transactions per batch. Either way every job runs
// under its cluster's lock and is finished by a write fenced by that lock's
// token, and the run is verified afterwards: every job SUCCEEDED once, on
// its first attempt, no lock left behind, one job.start and one
// job.succeed audit event per job.

// drainTTL is the lock TTL of the drained jobs.
const drainTTL = time.Minute

// drainRow is the outcome of one batch size over the rounds.
type drainRow struct {
	batch int
	rates []float64 // jobs per second, one per round
}

// runDrain runs the drain mode in database ocpbench_drain.
func runDrain(ctx context.Context, o *options, srv *server, out io.Writer) error {
	name := dbPrefix + "drain"
	admin, err := freshDB(ctx, srv, name, 2)
	if err != nil {
		return err
	}
	defer func() {
		admin.Close()
		if !o.keep {
			_ = srv.drop(context.WithoutCancel(ctx), name)
		}
	}()
	fmt.Fprintf(out, "drain (burn-down): database %s, %d pre-inserted no-op jobs on as many READY clusters,\n"+
		"  %d workers with a connection each, batch sizes %v, %d rounds each\n", name, o.jobs, o.workers, o.batches, o.rounds)
	now := time.Now().UTC()
	if err := copyRows(ctx, admin, "clusters", clusterCopyColumns, o.jobs, func(k int, vals []any) {
		clusterRow(vals, k, genID(store.PrefixCluster, k), store.ClusterReady, now.Add(-time.Hour))
	}); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(3, 4))
	rows := make([]drainRow, len(o.batches))
	for round := range o.rounds {
		for j := range o.batches {
			// Rotate the order of the batch sizes so none always runs first.
			i := (j + round) % len(o.batches)
			b := o.batches[i]
			if err := resetQueue(ctx, admin, o.jobs, rng); err != nil {
				return err
			}
			checkpoint(ctx, admin)
			elapsed, err := drain(ctx, srv.urlFor(name), o, b)
			if err != nil {
				return fmt.Errorf("drain, batch %d: %w", b, err)
			}
			if err := verifyDrain(ctx, admin, o.jobs); err != nil {
				return fmt.Errorf("drain, batch %d: %w", b, err)
			}
			rate := perSecond(int64(o.jobs), elapsed)
			rows[i].batch, rows[i].rates = b, append(rows[i].rates, rate)
			fmt.Fprintf(out, "  round %d batch %4d: %d jobs in %v, %.0f jobs/s\n", round+1, b, o.jobs,
				elapsed.Round(time.Millisecond), rate)
		}
	}
	printDrain(out, rows)
	return nil
}

// resetQueue empties the jobs, locks and audit trail, inserts n pending
// jobs, one per cluster, in random cluster order, and vacuums.
func resetQueue(ctx context.Context, pool *pgxpool.Pool, n int, rng *rand.Rand) error {
	if _, err := pool.Exec(ctx, "TRUNCATE job_locks, jobs, audit_events"); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	perm, now := rng.Perm(n), time.Now().UTC()
	err := copyRows(ctx, pool, "jobs", jobCopyColumns, n, func(i int, vals []any) {
		pendingJobRow(vals, genID(store.PrefixJob, i), genID(store.PrefixCluster, perm[i]),
			now.Add(time.Duration(i-n)*time.Millisecond))
	})
	if err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) clusters, jobs, job_locks, audit_events"); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	return nil
}

// drain works the queue down with o.workers workers taking batch jobs at a
// time, and returns the time from the start to the last job finished.
func drain(ctx context.Context, dbURL string, o *options, batch int) (time.Duration, error) {
	pool, err := openPool(ctx, dbURL, o.workers)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	s := postgres.New(pool)
	var finished atomic.Int64
	var once sync.Once
	var firstErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) { once.Do(func() { firstErr = err; cancel() }) }
	start := time.Now()
	var wg sync.WaitGroup
	for w := range o.workers {
		p := store.ClaimParams{WorkerID: "worker-" + strconv.Itoa(w), LockTTL: drainTTL}
		wg.Go(func() {
			for ctx.Err() == nil && finished.Load() < int64(o.jobs) {
				n, err := workOnce(ctx, s, p, batch)
				if err != nil {
					fail(err)
					return
				}
				finished.Add(int64(n))
			}
		})
	}
	wg.Wait()
	return time.Since(start), firstErr
}

// workOnce claims up to batch jobs and finishes them as successes; it
// returns how many it finished (0 when nothing was runnable).
func workOnce(ctx context.Context, s *store.Store, p store.ClaimParams, batch int) (int, error) {
	if batch == 1 {
		c, err := s.Claim(ctx, p)
		if errors.Is(err, store.ErrNoJob) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if _, err := s.Finish(ctx, c.Lock, store.Succeeded(nil)); err != nil {
			return 0, err
		}
		return 1, nil
	}
	cs, err := s.ClaimMany(ctx, p, batch)
	if errors.Is(err, store.ErrNoJob) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	items := make([]store.Completion, len(cs))
	for i, c := range cs {
		items[i] = store.Completion{Lock: c.Lock, Outcome: store.Succeeded(nil)}
	}
	_, errs, err := s.FinishMany(ctx, items)
	if err != nil {
		return 0, err
	}
	for _, e := range errs {
		if e != nil {
			return 0, e
		}
	}
	return len(cs), nil
}

// verifyDrain checks that the queue of n jobs was worked exactly once:
// every job SUCCEEDED on its first attempt, no lock is left held (a
// released lock is deleted, or kept with its released_at set, depending on
// the schema version), and the audit trail holds one start and one success
// per job, each start naming a fencing token of its own.
func verifyDrain(ctx context.Context, pool *pgxpool.Pool, n int) error {
	var done, first, locks, starts, ends, tokens int64
	err := pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM jobs WHERE status = 'SUCCEEDED'),
		(SELECT count(*) FROM jobs WHERE status = 'SUCCEEDED' AND attempt = 1),
		(SELECT count(*) FROM job_locks l WHERE to_jsonb(l) ->> 'released_at' IS NULL),
		(SELECT count(*) FROM audit_events WHERE action = $1),
		(SELECT count(*) FROM audit_events WHERE action = $2),
		(SELECT count(DISTINCT metadata->>'token') FROM audit_events WHERE action = $1)`,
		store.ActionJobStart, store.ActionJobSucceed).Scan(&done, &first, &locks, &starts, &ends, &tokens)
	switch {
	case err != nil:
		return fmt.Errorf("verify: %w", err)
	case done != int64(n) || first != int64(n):
		return fmt.Errorf("verify: %d of %d jobs SUCCEEDED, %d on their first attempt", done, n, first)
	case locks != 0:
		return fmt.Errorf("verify: %d locks left held", locks)
	case starts != int64(n) || ends != int64(n) || tokens != int64(n):
		return fmt.Errorf("verify: %d start and %d success events with %d distinct tokens, want %d each", starts, ends, tokens, n)
	}
	return nil
}

// printDrain prints the jobs per second of each batch size and its speedup
// over batch size 1 (the median of per-round ratios when it ran).
func printDrain(out io.Writer, rows []drainRow) {
	var base []float64
	for _, r := range rows {
		if r.batch == 1 {
			base = r.rates
		}
	}
	fmt.Fprintf(out, "\n%-34s %10s %10s %11s\n", "drain (burn-down)", "jobs/s", "vs batch 1", "range")
	for _, r := range rows {
		name := "Claim+Finish (batch 1)"
		if r.batch > 1 {
			name = fmt.Sprintf("ClaimMany+FinishMany (batch %d)", r.batch)
		}
		if base == nil || r.batch == 1 {
			fmt.Fprintf(out, "%-34s %10.0f %10s %11s\n", name, median(r.rates), "-", "-")
			continue
		}
		rs := pairRatios(r.rates, base)
		fmt.Fprintf(out, "%-34s %10.0f %10.2f %11s\n", name, median(r.rates), median(rs), spread(rs))
	}
}
