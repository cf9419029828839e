package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// The ceiling mode runs the same statements twice against the same data
// with the same number of clients: once as pgbench scripts
// (scripts/pgbench), the most the database can do with them, and once
// through the store, and reports the store's share of that ceiling.

// ceilingTTL is the lock TTL of the ceiling workloads: long enough that no
// lock expires during a run.
const ceilingTTL = time.Minute

// ceilingCase is one workload at one contention.
type ceilingCase struct {
	workload string // "acquire" (Acquire+Release) or "claim" (Claim+Finish)
	hot      bool   // every client on one cluster
}

func (c ceilingCase) String() string {
	name := map[string]string{"acquire": "Acquire+Release", "claim": "Claim+Finish"}[c.workload]
	if c.hot {
		return name + ", 1 hot cluster"
	}
	return name + ", random clusters"
}

// ceilingRow is the outcome of a case over the rounds.
type ceilingRow struct {
	c                 ceilingCase
	pgTPS, storeTPS   []float64 // script runs / store operations per second
	pgDone, storeDone []float64 // locks taken / jobs finished per second
	pgCPU, storeCPU   []float64 // the client's CPU microseconds per operation
	cmd               string    // the pgbench command line
}

// ceiling is the state of a ceiling run.
type ceiling struct {
	o     *options
	out   io.Writer
	pool  *pgxpool.Pool // the harness's own: seeding, resets, counts
	dbURL string
	bin   string // pgbench, or "" for no baseline
	rng   *rand.Rand

	writes int64 // job_locks rows written before the current run (see lockWrites)
}

// runCeiling runs the ceiling mode in database ocpbench_ceiling.
func runCeiling(ctx context.Context, o *options, srv *server, out io.Writer) error {
	name := dbPrefix + "ceiling"
	pool, err := freshDB(ctx, srv, name, 2)
	if err != nil {
		return err
	}
	defer func() {
		pool.Close()
		if !o.keep {
			_ = srv.drop(context.WithoutCancel(ctx), name)
		}
	}()
	c := &ceiling{o: o, out: out, pool: pool, dbURL: srv.urlFor(name),
		bin: findPgbench(o.pgbench), rng: rand.New(rand.NewPCG(1, 2))}
	fmt.Fprintf(out, "ceiling: database %s, %d READY clusters (IDs 1..%d), %d clients, %v per run, %d rounds\n",
		name, o.clusters, o.clusters, o.clients, o.duration, o.rounds)
	if c.bin == "" {
		fmt.Fprintln(out, "  no pgbench (-pgbench none, or none found): the store's figures only")
	}
	if err := copyRows(ctx, pool, "clusters", clusterCopyColumns, o.clusters, func(k int, vals []any) {
		clusterRow(vals, k, strconv.Itoa(k+1), store.ClusterReady, time.Now().Add(-time.Hour).UTC())
	}); err != nil {
		return err
	}
	var rows []ceilingRow
	for _, w := range o.workloads {
		for _, hot := range o.contention {
			row, err := c.measure(ctx, ceilingCase{workload: w, hot: hot})
			if err != nil {
				return err
			}
			rows = append(rows, row)
		}
	}
	printCeiling(out, rows, c.bin != "")
	if o.keep {
		fmt.Fprintf(out, "\ndatabase kept: %s (the last run's data)\n", c.dbURL)
	}
	return nil
}

// measure runs one case for every round, pgbench and store alternating
// which goes first, each on freshly prepared data.
func (c *ceiling) measure(ctx context.Context, cc ceilingCase) (ceilingRow, error) {
	row := ceilingRow{c: cc}
	run := c.pgbenchRun(cc)
	row.cmd = run.String()
	fmt.Fprintf(c.out, "\n%s\n", cc)
	for round := range c.o.rounds {
		sides := []string{"pgbench", "store"}
		if round%2 == 1 {
			sides = []string{"store", "pgbench"}
		}
		for _, side := range sides {
			if side == "pgbench" && c.bin == "" {
				continue
			}
			r, err := c.runSide(ctx, cc, side, run)
			if err != nil {
				// A shared server may restart or kill sessions under a
				// run: try the run once more on fresh data.
				fmt.Fprintf(c.out, "  round %d %-7s failed, running it again: %v\n", round+1, side, firstLine(err))
				r, err = c.runSide(ctx, cc, side, run)
			}
			if err != nil {
				return row, err
			}
			if side == "pgbench" {
				row.pgTPS, row.pgDone, row.pgCPU = append(row.pgTPS, r.tps), append(row.pgDone, r.done), append(row.pgCPU, r.cpuPerOp)
			} else {
				row.storeTPS, row.storeDone, row.storeCPU = append(row.storeTPS, r.tps), append(row.storeDone, r.done), append(row.storeCPU, r.cpuPerOp)
			}
			fmt.Fprintf(c.out, "  round %d %-7s %9.0f ops/s %9.0f %s/s %6.0f µs client CPU/op\n", round+1, side, r.tps, r.done,
				doneUnit(cc), r.cpuPerOp)
		}
	}
	return row, nil
}

// sideResult is one run of one side: operations and work per second, and
// the client's CPU time per operation in microseconds.
type sideResult struct {
	tps, done, cpuPerOp float64
}

// runSide prepares the data and runs one side of a round.
func (c *ceiling) runSide(ctx context.Context, cc ceilingCase, side string, run pgbenchRun) (sideResult, error) {
	if err := c.prepare(ctx, cc); err != nil {
		return sideResult{}, err
	}
	if side == "pgbench" {
		return c.runPgbench(ctx, cc, run)
	}
	return c.runStore(ctx, cc)
}

// firstLine is the first line of err's message.
func firstLine(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// doneUnit names the work a case counts.
func doneUnit(cc ceilingCase) string {
	if cc.workload == "claim" {
		return "jobs"
	}
	return "locks"
}

// clustersFor is how many clusters a case spreads its clients over.
func (c *ceiling) clustersFor(cc ceilingCase) int {
	if cc.hot {
		return 1
	}
	return c.o.clusters
}

// prepare resets the data a case runs on: for Acquire+Release one job per
// cluster (job k of cluster k) and no lock held; for Claim+Finish a queue of
// pending day-2 jobs, one per cluster in random order or all on cluster 1,
// and no locks or audit events. Then VACUUM ANALYZE and a checkpoint, so
// each run starts from the same state.
func (c *ceiling) prepare(ctx context.Context, cc ceilingCase) error {
	if _, err := c.pool.Exec(ctx, truncateQueueSQL); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	now := time.Now().UTC()
	var err error
	switch cc.workload {
	case "acquire":
		err = copyRows(ctx, c.pool, "jobs", jobCopyColumns, c.o.clusters, func(k int, vals []any) {
			id := strconv.Itoa(k + 1)
			pendingJobRow(vals, id, id, now.Add(-time.Minute))
		})
		if err == nil {
			err = c.releasedLocks(ctx, now)
		}
	default:
		n := c.o.queue
		if cc.hot {
			n = c.o.hotQueue
		}
		perm := c.rng.Perm(c.o.clusters)
		err = copyRows(ctx, c.pool, "jobs", jobCopyColumns, n, func(i int, vals []any) {
			cluster := "1"
			if !cc.hot {
				cluster = strconv.Itoa(perm[i%len(perm)] + 1)
			}
			pendingJobRow(vals, genID(store.PrefixJob, i), cluster, now.Add(time.Duration(i-n)*time.Millisecond))
		})
	}
	if err != nil {
		return err
	}
	if _, err := c.pool.Exec(ctx, "VACUUM (ANALYZE) clusters, jobs, job_locks, audit_events"); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	checkpoint(ctx, c.pool)
	c.writes, err = c.lockWrites(ctx)
	return err
}

// releasedLocks gives every cluster the released lock of its job, when
// the schema keeps released locks (a released_at column): in a running
// system every cluster that ran a job has one, and a grant then updates it
// instead of inserting a row.
func (c *ceiling) releasedLocks(ctx context.Context, now time.Time) error {
	var released bool
	err := c.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'job_locks' AND column_name = 'released_at')`).Scan(&released)
	if err != nil || !released {
		return err
	}
	err = copyRows(ctx, c.pool, "job_locks", lockCopyColumns, c.o.clusters, func(k int, vals []any) {
		id := strconv.Itoa(k + 1)
		vals[0], vals[1], vals[2], vals[3] = id, id, "seed", int64(k+1)
		vals[4], vals[5], vals[6] = now.Add(-time.Hour), now.Add(-time.Hour+time.Minute), now.Add(-time.Hour+time.Second)
	})
	if err != nil {
		return err
	}
	_, err = c.pool.Exec(ctx, "SELECT setval('job_lock_tokens', $1)", int64(c.o.clusters))
	return err
}

// pendingJobRow fills vals (jobCopyColumns) for a PENDING day-2 job.
func pendingJobRow(vals []any, id, cluster string, created time.Time) {
	vals[0], vals[1], vals[2], vals[3] = id, cluster, string(store.JobPostConfigure), string(store.JobPending)
	vals[4], vals[5], vals[6], vals[7], vals[8] = int32(0), int32(store.DefaultMaxAttempts), nil, nil, nil
	vals[9], vals[10], vals[11], vals[12] = nil, nil, created, created
}

// pgbenchRun is the pgbench invocation of a case.
func (c *ceiling) pgbenchRun(cc ceilingCase) pgbenchRun {
	r := pgbenchRun{bin: c.bin, dbURL: c.dbURL, clients: c.o.clients, duration: c.o.duration,
		vars: map[string]string{"ttl": "1 minute"}}
	switch cc.workload {
	case "acquire":
		r.script = filepath.Join(c.o.scripts, "acquire_release.sql")
		r.vars["clusters"] = strconv.Itoa(c.clustersFor(cc))
	default:
		r.script = filepath.Join(c.o.scripts, "claim_finish.sql")
		types := make([]string, 0, len(store.JobTypes()))
		for _, t := range store.JobTypes() {
			types = append(types, string(t))
		}
		r.vars["n"], r.vars["limit"] = "0", "1"
		r.vars["types"] = "{" + strings.Join(types, ",") + "}"
		r.vars["act_start"], r.vars["act_done"], r.vars["ok"] = store.ActionJobStart, store.ActionJobSucceed, string(store.AuditSuccess)
		r.vars["md_start"] = `{"attempt":"1","job_status":"RUNNING","job_type":"POST_CONFIGURE","token":"1000000"}`
		r.vars["md_done"] = `{"attempt":"1","job_status":"SUCCEEDED","job_type":"POST_CONFIGURE","token":"1000000"}`
		r.vars["md_job"] = `{"bench":"1"}`
	}
	return r
}

// runPgbench runs the case's script and returns script runs and work done
// per second.
func (c *ceiling) runPgbench(ctx context.Context, cc ceilingCase, run pgbenchRun) (sideResult, error) {
	res, err := run.run(ctx)
	if err != nil {
		return sideResult{}, err
	}
	r := sideResult{tps: res.TPS, cpuPerOp: cpuPerOp(res.CPU, res.Txns)}
	var done int64
	if cc.workload == "acquire" {
		after, err := c.lockWrites(ctx)
		if err != nil {
			return r, err
		}
		done = (after - c.writes) / 2
	} else if done, err = c.finishedJobs(ctx); err != nil {
		return r, err
	}
	r.done = perSecond(done, res.Elapsed())
	return r, nil
}

// cpuPerOp is cpu per operation, in microseconds.
func cpuPerOp(cpu time.Duration, ops int64) float64 {
	if ops == 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / float64(ops)
}

// runStore runs the case through the store and returns operations and work
// done per second.
//
// The store gets a pool of its own with one connection per client, opened
// before and closed after the run, as pgbench's clients connect for theirs.
func (c *ceiling) runStore(ctx context.Context, cc ceilingCase) (sideResult, error) {
	pool, err := openPool(ctx, c.dbURL, c.o.clients)
	if err != nil {
		return sideResult{}, err
	}
	defer pool.Close()
	s := postgres.New(pool)
	var f op
	switch cc.workload {
	case "acquire":
		n := c.clustersFor(cc)
		rngs := clientRNGs(c.o.clients)
		f = func(ctx context.Context, client int) (int, error) {
			id := strconv.Itoa(rngs[client].IntN(n) + 1)
			l, err := s.JobLocks.Acquire(ctx, id, id, strconv.Itoa(client), ceilingTTL)
			if errors.Is(err, store.ErrLockHeld) {
				return 0, nil
			}
			if err != nil {
				return 0, err
			}
			return 1, s.JobLocks.Release(ctx, l)
		}
	default:
		md := map[string]string{"bench": "1"}
		f = func(ctx context.Context, client int) (int, error) {
			cl, err := s.Claim(ctx, store.ClaimParams{WorkerID: strconv.Itoa(client), LockTTL: ceilingTTL})
			if errors.Is(err, store.ErrNoJob) {
				return 0, nil
			}
			if err != nil {
				return 0, err
			}
			_, err = s.Finish(ctx, cl.Lock, store.Succeeded(md))
			return 1, err
		}
	}
	res, err := runLoad(ctx, c.o.clients, c.o.duration, f)
	if err != nil {
		return sideResult{}, err
	}
	r := sideResult{tps: res.TPS(), done: perSecond(res.Done, res.Elapsed), cpuPerOp: cpuPerOp(res.CPU, res.Calls)}
	if cc.workload == "claim" {
		jobs, err := c.finishedJobs(ctx)
		if err == nil && jobs != res.Done {
			err = fmt.Errorf("the store finished %d jobs but the database holds %d SUCCEEDED", res.Done, jobs)
		}
		return r, err
	}
	return r, nil
}

// clientRNGs returns one random source per client, seeded alike every run.
func clientRNGs(n int) []*rand.Rand {
	out := make([]*rand.Rand, n)
	for i := range out {
		out[i] = rand.New(rand.NewPCG(uint64(i), 42))
	}
	return out
}

// lockWrites reads how many rows have ever been inserted, updated and
// deleted in job_locks, from the statistics. Every lock granted is
// released exactly once, and a grant and a release each write one row (an
// insert or an update; a release that deletes the row, a delete), so the
// difference across a run is twice the locks granted; a refused Acquire
// writes nothing. The server publishes a backend's counts at the latest
// when it exits (pgbench's have; the harness's own connections are closed
// here for that), and the value is read until it stops moving.
func (c *ceiling) lockWrites(ctx context.Context) (int64, error) {
	c.pool.Reset()
	var last int64 = -1
	for range 20 {
		var n int64
		if _, err := c.pool.Exec(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
			return 0, err
		}
		err := c.pool.QueryRow(ctx, `SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables
			WHERE relname = 'job_locks'`).Scan(&n)
		if err != nil {
			return 0, err
		}
		if n == last {
			return n, nil
		}
		last = n
		time.Sleep(250 * time.Millisecond)
	}
	return last, nil
}

// finishedJobs counts the SUCCEEDED jobs, and checks that no job was left
// RUNNING and that the queue did not run dry (which would make the rate
// the queue's length over the run's time).
func (c *ceiling) finishedJobs(ctx context.Context) (int64, error) {
	var done, running, pending int64
	err := c.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'SUCCEEDED'),
		count(*) FILTER (WHERE status = 'RUNNING'), count(*) FILTER (WHERE status = 'PENDING') FROM jobs`).
		Scan(&done, &running, &pending)
	switch {
	case err != nil:
		return 0, err
	case running > 0:
		return 0, fmt.Errorf("%d jobs left RUNNING", running)
	case pending == 0:
		return 0, fmt.Errorf("the queue ran dry: raise -queue/-hot-queue or shorten -duration")
	}
	return done, nil
}

// pairRatios returns store[i]/pg[i] for every round both sides ran: each
// pair ran back to back, so the ratio cancels most of the machine's drift
// between rounds.
func pairRatios(store, pg []float64) []float64 {
	var out []float64
	for i := range min(len(store), len(pg)) {
		out = append(out, ratio(store[i], pg[i]))
	}
	return out
}

// spread formats the smallest and largest of xs.
func spread(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f-%.2f", slices.Min(xs), slices.Max(xs))
}

// printCeiling prints the comparison table: the medians of each side's
// rates, and the median and range of the per-round ratios.
func printCeiling(out io.Writer, rows []ceilingRow, baseline bool) {
	fmt.Fprintf(out, "\n%-34s %9s %9s %6s %11s %9s %9s %6s %11s\n", "ceiling (medians of rounds)",
		"pgb tx/s", "store/s", "ratio", "range", "pgb w/s", "store w/s", "ratio", "range")
	for _, r := range rows {
		pt, st := median(r.pgTPS), median(r.storeTPS)
		pd, sd := median(r.pgDone), median(r.storeDone)
		if !baseline {
			fmt.Fprintf(out, "%-34s %9s %9.0f %6s %11s %9s %9.0f %6s %11s\n", r.c, "-", st, "-", "-", "-", sd, "-", "-")
			continue
		}
		rt, rd := pairRatios(r.storeTPS, r.pgTPS), pairRatios(r.storeDone, r.pgDone)
		fmt.Fprintf(out, "%-34s %9.0f %9.0f %6.2f %11s %9.0f %9.0f %6.2f %11s\n", r.c, pt, st, median(rt), spread(rt),
			pd, sd, median(rd), spread(rd))
	}
	fmt.Fprintln(out, "(tx/s: pgbench script runs or store operations per second; w/s: work per second, locks")
	fmt.Fprintln(out, " granted or jobs finished; ratio: store / pgbench, the median of the rounds' ratios)")
	if baseline {
		fmt.Fprintf(out, "\n%-34s %14s %14s\n", "client CPU per operation (medians)", "pgbench µs", "store µs")
		for _, r := range rows {
			fmt.Fprintf(out, "%-34s %14.0f %14.0f\n", r.c, median(r.pgCPU), median(r.storeCPU))
		}
		fmt.Fprintln(out, "(the machine's CPUs serve the clients and the server alike: client CPU is taken from the server)")
	}
	if baseline {
		fmt.Fprintln(out, "\npgbench command lines (the database as the last run left it):")
		for _, r := range rows {
			fmt.Fprintf(out, "  %s\n", r.cmd)
		}
	}
}
