package postgres_test

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// What the database does per job and per idle call, from its own counters.
// The server CPU figures read /proc of the server process serving the
// benchmark's one connection, so they need the server on this machine
// (they are 0 otherwise); WAL is the whole server's, so run these on a
// server of your own for clean figures.

// profilePool opens a pool of one connection, named app, and returns it
// with the process ID of its server process.
func profilePool(b *testing.B, e *benchEnv, app string) (*pgxpool.Pool, int) {
	b.Helper()
	cfg, err := postgres.DefaultConfig(e.db.URL)
	if err != nil {
		b.Fatal(err)
	}
	cfg.PoolConfig.MaxConns, cfg.PoolConfig.MinConns = 1, 1
	cfg.PoolConfig.ConnConfig.RuntimeParams["application_name"] = app
	pool, err := postgres.NewPool(e.ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	var pid int
	if err := pool.QueryRow(e.ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		b.Fatal(err)
	}
	return pool, pid
}

// serverCPU is the CPU time the server process pid has used, user and
// system, from /proc (0 when it cannot be read).
func serverCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * (time.Second / 100) // USER_HZ
}

// tableCounters sums the tuple counters of the worker tables.
func tableCounters(b *testing.B, e *benchEnv) (ins, upd, hot int64) {
	b.Helper()
	if err := e.pool.QueryRow(e.ctx, `SELECT sum(n_tup_ins), sum(n_tup_upd), sum(n_tup_hot_upd) FROM pg_stat_user_tables
		WHERE relname IN ('jobs', 'job_locks', 'audit_events')`).Scan(&ins, &upd, &hot); err != nil {
		b.Fatal(err)
	}
	return ins, upd, hot
}

// BenchmarkWorkerProfile claims and finishes b.N day-2 jobs (one per READY
// cluster) one at a time on one connection, and reports per job: the
// server CPU of that connection's process, the WAL written (the whole
// server's), and the heap tuples written to jobs, job_locks and
// audit_events (inserted, updated, and of those updated HOT).
func BenchmarkWorkerProfile(b *testing.B) {
	e := newBenchEnv(b)
	clusters := e.copyClusters(b, b.N, func(int) store.ClusterStatus { return store.ClusterReady })
	e.copyJobs(b, clusters, 1, store.JobPostConfigure)
	e.vacuum(b)
	pool, pid := profilePool(b, e, "ocpstore-profile")
	s := postgres.New(pool)
	p := store.ClaimParams{WorkerID: "w", LockTTL: time.Minute}
	var lsn0 string
	if err := e.pool.QueryRow(e.ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn0); err != nil {
		b.Fatal(err)
	}
	ins0, upd0, hot0 := tableCounters(b, e)
	cpu0 := serverCPU(pid)
	b.ResetTimer()
	for range b.N {
		c, err := s.Claim(e.ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Finish(e.ctx, c.Lock, store.Succeeded(nil)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := serverCPU(pid) - cpu0
	pool.Close() // the server process flushes its table counters as it exits
	var wal float64
	if err := e.pool.QueryRow(e.ctx, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)", lsn0).Scan(&wal); err != nil {
		b.Fatal(err)
	}
	for { // bounded by the server process's exit
		var n int
		if err := e.pool.QueryRow(e.ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	ins, upd, hot := tableCounters(b, e)
	n := float64(b.N)
	b.ReportMetric(float64(cpu.Microseconds())/n, "server-cpu-µs/job")
	b.ReportMetric(wal/n, "wal-B/job")
	b.ReportMetric(float64(ins-ins0)/n, "tup-ins/job")
	b.ReportMetric(float64(upd-upd0)/n, "tup-upd/job")
	b.ReportMetric(float64(hot-hot0)/n, "tup-hot/job")
}

// BenchmarkIdleCalls measures the two calls an idle fleet makes: a Claim
// on an empty queue (every job of 1,000 READY clusters RUNNING under a live
// lock, nothing pending) and a heartbeat (JobLocks.Extend of one of those
// locks), b.N each on one connection. It reports each one's server CPU
// (the connection's server process, from /proc) and wall time per call.
func BenchmarkIdleCalls(b *testing.B) {
	e := newBenchEnv(b)
	clusters := e.copyClusters(b, 1000, func(int) store.ClusterStatus { return store.ClusterReady })
	e.copyJobs(b, clusters, 1, store.JobPostConfigure)
	e.vacuum(b)
	var locks []*store.JobLock
	for range clusters {
		c, err := e.store.Claim(e.ctx, store.ClaimParams{WorkerID: "busy", LockTTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		locks = append(locks, c.Lock)
	}
	e.vacuum(b)
	pool, pid := profilePool(b, e, "ocpstore-idle")
	s := postgres.New(pool)
	// pg_stat_statements, where the server preloads it: the statements'
	// own execution time (planning excluded).
	_, err := e.pool.Exec(e.ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
	statements := err == nil && e.pool.QueryRow(e.ctx, "SELECT pg_stat_statements_reset()").Scan(new(any)) == nil
	execTime := func() (ms float64) {
		if statements {
			if err := e.pool.QueryRow(e.ctx, `SELECT COALESCE(sum(total_exec_time), 0) FROM pg_stat_statements
				WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
				AND userid = current_user::regrole AND query NOT LIKE '%pg_stat_statements%'`).Scan(&ms); err != nil {
				b.Fatal(err)
			}
		}
		return ms
	}
	measure := func(name string, op func() error) {
		exec0, cpu0, t0 := execTime(), serverCPU(pid), time.Now()
		for range b.N {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
		wall, cpu, exec := time.Since(t0), serverCPU(pid)-cpu0, execTime()-exec0
		b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), name+"-server-cpu-µs")
		b.ReportMetric(float64(wall.Nanoseconds())/1e3/float64(b.N), name+"-wall-µs")
		if statements {
			b.ReportMetric(exec*1e3/float64(b.N), name+"-exec-µs")
		}
	}
	p := store.ClaimParams{WorkerID: "idle", LockTTL: time.Minute}
	measure("claim", func() error {
		if _, err := s.Claim(e.ctx, p); !errors.Is(err, store.ErrNoJob) {
			return fmt.Errorf("claim on an empty queue: %w", err)
		}
		return nil
	})
	n := 0
	measure("extend", func() error { // each lock in turn, as a fleet's heartbeats come
		_, err := s.JobLocks.Extend(e.ctx, locks[n%len(locks)], time.Hour)
		n++
		return err
	})
}
