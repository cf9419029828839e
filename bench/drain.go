package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
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
	q, err := openStoreQueue(ctx, srv, dbPrefix+"drain", o.jobs, o.history, o.profile, out)
	if err != nil {
		return err
	}
	defer q.close(ctx, o.keep)
	fmt.Fprintf(out, "drain (burn-down): database %s, %d pre-inserted no-op jobs on as many READY clusters,\n"+
		"  %d workers with a connection each, batch sizes %v, %d rounds each\n", q.name, o.jobs, o.workers, o.batches, o.rounds)
	rows := make([]drainRow, len(o.batches))
	for round := range o.rounds {
		for j := range o.batches {
			// Rotate the order of the batch sizes so none always runs first.
			i := (j + round) % len(o.batches)
			b := o.batches[i]
			elapsed, err := q.run(ctx, o.workers, variantFor(b), round == o.rounds-1)
			if err != nil {
				return err
			}
			rate := perSecond(int64(o.jobs), elapsed)
			rows[i].batch, rows[i].rates = b, append(rows[i].rates, rate)
			fmt.Fprintf(out, "  round %d batch %4d: %d jobs in %v, %.0f jobs/s\n", round+1, b, o.jobs,
				elapsed.Round(time.Millisecond), rate)
		}
	}
	printDrain(out, rows)
	fmt.Fprintln(out)
	for _, r := range rows {
		fmt.Fprintln(out, drainResult(r.batch, o.workers, median(r.rates)))
	}
	return nil
}

// storeQueue is the store's side of a burn-down: a database of its own
// holding jobs READY clusters, on which a queue of as many jobs, one per
// cluster, is laid before every run.
type storeQueue struct {
	srv     *server
	name    string
	admin   *pgxpool.Pool // the harness's own: seeding, resets, verification
	jobs    int
	rng     *rand.Rand
	history bool      // lay a finished job and a released lock per cluster under every queue
	profile bool      // print the database-side profile of the last round's runs
	out     io.Writer // where the profile goes
}

// openStoreQueue creates and migrates database name and seeds its clusters.
func openStoreQueue(ctx context.Context, srv *server, name string, jobs int, history, profile bool, out io.Writer) (*storeQueue, error) {
	admin, err := freshDB(ctx, srv, name, 2)
	if err != nil {
		return nil, err
	}
	q := &storeQueue{srv: srv, name: name, admin: admin, jobs: jobs, rng: rand.New(rand.NewPCG(3, 4)), history: history, profile: profile, out: out}
	now := time.Now().UTC()
	if err := copyRows(ctx, admin, "clusters", clusterCopyColumns, jobs, func(k int, vals []any) {
		clusterRow(vals, k, genID(store.PrefixCluster, k), store.ClusterReady, now.Add(-time.Hour))
	}); err != nil {
		q.close(ctx, false)
		return nil, err
	}
	if profile {
		if err := enableStatements(ctx, admin); err != nil {
			fmt.Fprintf(out, "  (no database-side profile: %v)\n", err)
			q.profile = false
		}
	}
	return q, nil
}

// close closes the harness's pool and drops the database unless keep.
func (q *storeQueue) close(ctx context.Context, keep bool) {
	q.admin.Close()
	if !keep {
		_ = q.srv.drop(context.WithoutCancel(ctx), q.name)
	}
}

// run lays a fresh queue, checkpoints, drains it with workers workers
// taking jobs as v does, verifies the outcome and returns the drain's
// time. With profile (and the queue's profiling on) it prints what the
// database did per job.
func (q *storeQueue) run(ctx context.Context, workers int, v drainVariant, profile bool) (time.Duration, error) {
	if err := resetQueue(ctx, q.admin, q.jobs, q.rng, q.history); err != nil {
		return 0, err
	}
	checkpoint(ctx, q.admin)
	var before *dbSnapshot
	if profile = profile && q.profile; profile {
		var err error
		if before, err = takeSnapshot(ctx, q.admin, storeTables, true, true); err != nil {
			return 0, err
		}
	}
	elapsed, err := drain(ctx, q.srv.urlFor(q.name), workers, q.jobs, v)
	if err != nil {
		return 0, fmt.Errorf("drain, batch %d: %w", v.batch, err)
	}
	if profile {
		after, err := takeSnapshot(ctx, q.admin, storeTables, false, true)
		if err != nil {
			return 0, err
		}
		printProfile(q.out, fmt.Sprintf("drain batch=%d workers=%d", v.batch, workers), q.jobs, before, after)
	}
	if err := verifyDrain(ctx, q.admin, q.jobs); err != nil {
		return 0, fmt.Errorf("drain, batch %d: %w", v.batch, err)
	}
	return elapsed, nil
}

// drainResult is the machine-readable result line of the store's drain
// with a batch size and a worker count, at rate jobs per second (the
// median of the rounds): "drain batch=1 workers=8 jobs_per_sec=257".
func drainResult(batch, workers int, rate float64) string {
	return fmt.Sprintf("drain batch=%d workers=%d jobs_per_sec=%.0f", batch, workers, rate)
}

// truncateQueueSQL empties the jobs, locks and audit trail. audit_events
// refuses TRUNCATE (migration 0005) unless the transaction sets the
// retention setting, as the owner, which the benchmark runs as: the two
// statements of one simple query run in one transaction.
const truncateQueueSQL = "SELECT set_config('" + postgres.AuditRetentionSetting + "', 'purge', true);" +
	" TRUNCATE job_locks, jobs, audit_events"

// resetQueue empties the jobs, locks and audit trail, inserts n pending
// jobs, one per cluster, in random cluster order, and vacuums. With
// history, every cluster first gets a finished job and the released lock
// that job held (token k+1 for cluster k), as in a fleet whose clusters
// have run jobs before: job_locks is then never empty, as it is not in
// production (a lock row lives as long as its cluster).
func resetQueue(ctx context.Context, pool *pgxpool.Pool, n int, rng *rand.Rand, history bool) error {
	if _, err := pool.Exec(ctx, truncateQueueSQL); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	perm, now := rng.Perm(n), time.Now().UTC()
	if history {
		if err := copyHistory(ctx, pool, n, now.Add(-time.Hour)); err != nil {
			return err
		}
	}
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

// copyHistory gives each of clusters 0..n-1 a job that SUCCEEDED at
// about at (IDs after the queue's) and the released lock it held.
func copyHistory(ctx context.Context, pool *pgxpool.Pool, n int, at time.Time) error {
	err := copyRows(ctx, pool, "jobs", jobCopyColumns, n, func(k int, vals []any) {
		pendingJobRow(vals, genID(store.PrefixJob, n+k), genID(store.PrefixCluster, k), at)
		vals[3], vals[4], vals[9], vals[10], vals[12] = string(store.JobSucceeded), int32(1), at, at.Add(time.Second), at.Add(time.Second)
	})
	if err != nil {
		return err
	}
	err = copyRows(ctx, pool, "job_locks", lockCopyColumns, n, func(k int, vals []any) {
		vals[0], vals[1], vals[2] = genID(store.PrefixCluster, k), genID(store.PrefixJob, n+k), "history"
		vals[3], vals[4], vals[5], vals[6] = int64(k+1), at, at.Add(time.Minute), at.Add(time.Second)
	})
	if err != nil {
		return err
	}
	// The tokens came from the sequence: the next grant's exceeds them all.
	if _, err := pool.Exec(ctx, "SELECT setval('job_lock_tokens', GREATEST($1::bigint, (SELECT last_value FROM job_lock_tokens)))", n); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}

// drain works the queue of jobs down with workers workers, each taking
// jobs as variant v does, each with a connection of its own, and returns
// the time from the start to the last job finished. The pool is opened and
// its connections set up before the clock starts.
func drain(ctx context.Context, dbURL string, workers, jobs int, v drainVariant) (time.Duration, error) {
	pool, err := openPool(ctx, dbURL, workers)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	take, stop, err := v.start(ctx, postgres.New(pool), workers)
	if err != nil {
		return 0, err
	}
	defer stop()
	var finished atomic.Int64
	var once sync.Once
	var firstErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) { once.Do(func() { firstErr = err; cancel() }) }
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil && finished.Load() < int64(jobs) {
				n, err := take(ctx, w)
				if err != nil {
					fail(fmt.Errorf("worker %d: %w", w, err))
					return
				}
				finished.Add(int64(n))
			}
		})
	}
	wg.Wait()
	return time.Since(start), firstErr
}

// verifyDrain checks that the queue of n jobs was worked exactly once:
// every job SUCCEEDED on its first attempt, no lock is left held (a
// released lock is deleted, or kept with its released_at set, depending on
// the schema version), and the audit trail holds one start and one success
// per job, each start naming a fencing token of its own. The queue's jobs
// are the first n job IDs (the history's come after).
func verifyDrain(ctx context.Context, pool *pgxpool.Pool, n int) error {
	var done, first, locks, starts, ends, tokens int64
	err := pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM jobs WHERE status = 'SUCCEEDED' AND id < $3),
		(SELECT count(*) FROM jobs WHERE status = 'SUCCEEDED' AND attempt = 1 AND id < $3),
		(SELECT count(*) FROM job_locks l WHERE to_jsonb(l) ->> 'released_at' IS NULL),
		(SELECT count(*) FROM audit_events WHERE action = $1),
		(SELECT count(*) FROM audit_events WHERE action = $2),
		(SELECT count(DISTINCT metadata->>'token') FROM audit_events WHERE action = $1)`,
		store.ActionJobStart, store.ActionJobSucceed, genID(store.PrefixJob, n)).Scan(&done, &first, &locks, &starts, &ends, &tokens)
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
