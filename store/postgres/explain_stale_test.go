package postgres_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// The worker statements must find their rows by primary key even when the
// statistics are stale, as they are after a burst of claims: the tables
// were analyzed with no job running and no lock held, and autovacuum has
// not analyzed them again yet. The planner then believes that few rows are
// RUNNING or held, and before the statements said otherwise it reached
// them through the status index, the partial index of running jobs or the
// partial index of held locks, walking every running job or held lock (and
// their dead versions) for each row: the batch end of a FinishMany of 100
// after a burst read 193-196 buffers per job, 36 with its rows found by
// key. This test lays exactly that state
// (autovacuum off for the test database's tables, so it stays stale) and
// checks the plans, custom and generic, of the statements a claim, a finish
// and a manual fenced write send.

// scanIndexes are the indexes that serve listings and sweeps, not lookups:
// a worker statement that uses one walks rows of a status or held locks.
var scanIndexes = []string{"jobs_status_created_idx", "jobs_running_idx", "job_locks_expires_idx"}

// checkLookups fails t if plan reaches jobs or job_locks through one of
// scanIndexes, or, with seqScans false, scans them sequentially. (A custom
// plan for a batch of 100 may fairly read all of job_locks once instead of
// probing its key 100 times; a generic plan, which expects 10, may not.)
func checkLookups(t *testing.T, what string, plan planNode, seqScans bool) {
	t.Helper()
	plan.walk(func(n planNode) {
		if !seqScans && n.NodeType == "Seq Scan" && (n.Relation == "jobs" || n.Relation == "job_locks") {
			t.Errorf("%s: sequential scan of %s", what, n.Relation)
		}
		if slices.Contains(scanIndexes, n.Index) {
			t.Errorf("%s: reaches %s through %s (a walk of every row of that kind)", what, n.Relation, n.Index)
		}
	})
}

func TestWorkerPlansSurviveStaleStatistics(t *testing.T) {
	t.Parallel()
	rec := &sqlRecorder{}
	s, db := tracedStore(t, rec)
	pool := db.Pool(t)
	ctx := t.Context()
	// 20,000 READY clusters with one pending job each, and a finished one
	// whose released lock row remembers the cluster's token (as in
	// production, where job_locks keeps a row per cluster ever locked),
	// analyzed while nothing runs and no lock is held.
	for _, q := range []string{
		`ALTER TABLE jobs SET (autovacuum_enabled = false)`,
		`ALTER TABLE job_locks SET (autovacuum_enabled = false)`,
		`ALTER TABLE clusters SET (autovacuum_enabled = false)`,
		`INSERT INTO clusters (id, name, platform, version, profile, region, owner, team, cost_center, status,
			requested_by, ttl_hours, created_at, updated_at)
		 SELECT 'clu_' || lpad(g::text, 26, '0'), 'c-' || g, 'aws', '4.16', 'p', 'r', 'o@example.com', 't', 'cc',
			'READY', 'o', 1, now() - interval '1 day', now()
		 FROM generate_series(1, 20000) AS g`,
		`INSERT INTO jobs (id, cluster_id, job_type, status, attempt, max_attempts, started_at, ended_at, created_at, updated_at)
		 SELECT 'job_f' || lpad(g::text, 25, '0'), 'clu_' || lpad(g::text, 26, '0'), 'POST_CONFIGURE', 'SUCCEEDED',
			1, 3, now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour', now()
		 FROM generate_series(1, 20000) AS g`,
		`INSERT INTO jobs (id, cluster_id, job_type, status, created_at, updated_at)
		 SELECT 'job_p' || lpad(g::text, 25, '0'), 'clu_' || lpad(g::text, 26, '0'), 'POST_CONFIGURE', 'PENDING',
			now() + g * interval '1 microsecond', now()
		 FROM generate_series(1, 20000) AS g`,
		`INSERT INTO job_locks (cluster_id, job_id, locked_by, token, locked_at, expires_at, released_at)
		 SELECT 'clu_' || lpad(g::text, 26, '0'), 'job_f' || lpad(g::text, 25, '0'), 'w', g,
			now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour'
		 FROM generate_series(1, 20000) AS g`,
		`SELECT setval('job_lock_tokens', 20000)`,
		`ANALYZE clusters, jobs, job_locks`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// The burst: 3,000 jobs claimed and running under held locks.
	p := store.ClaimParams{WorkerID: "w", LockTTL: time.Hour}
	var locks []*store.JobLock
	for len(locks) < 3000 {
		got, err := s.ClaimMany(ctx, p, 500)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range got {
			locks = append(locks, c.Lock)
		}
	}

	claimed := rec.record(t, func() error {
		_, err := s.ClaimMany(ctx, p, 100)
		return err
	})
	finished := rec.record(t, func() error {
		items := make([]store.Completion, 100)
		for i := range items {
			items[i] = store.Completion{Lock: locks[i], Outcome: store.Succeeded(nil)}
		}
		_, _, err := s.FinishMany(ctx, items)
		return err
	})
	marked := rec.record(t, func() error {
		_, err := s.Jobs.MarkSucceeded(ctx, locks[100], nil)
		return err
	})
	heartbeat := rec.record(t, func() error {
		_, err := s.JobLocks.Extend(ctx, locks[101], time.Hour)
		return err
	})
	read := rec.record(t, func() error {
		_, err := s.JobLocks.Get(ctx, locks[102].ClusterID)
		return err
	})
	released := rec.record(t, func() error { return s.JobLocks.Release(ctx, locks[103]) })
	// Job 103 now runs without a lock and job 104's expires at once:
	// RecoverStuck requeues both, looking each lock up by key (is it
	// live?) and releasing 104's.
	if _, err := s.JobLocks.Extend(ctx, locks[104], store.TimeResolution); err != nil {
		t.Fatal(err)
	}
	recovered := rec.record(t, func() error {
		n, err := s.RecoverStuck(ctx, "janitor", 10)
		if err == nil && n != 2 {
			t.Errorf("RecoverStuck requeued %d jobs, want 2", n)
		}
		return err
	})
	checked := map[string]bool{}
	for _, st := range slices.Concat(claimed, finished, marked, heartbeat, read, released, recovered) {
		if checked[st.sql] || !strings.Contains(st.sql, "job_locks") || strings.HasPrefix(st.sql, "INSERT INTO audit_events") ||
			strings.Contains(st.sql, "ORDER BY j.started_at") { // ListStuck: a sweep of the running jobs, not a lookup
			continue
		}
		checked[st.sql] = true
		what := st.sql[:min(len(st.sql), 60)]
		checkLookups(t, what+" (custom plan)", explainPlan(t, pool, st, false), true)
		checkLookups(t, what+" (generic plan)", explainPlan(t, pool, st, true), false)
	}
	// The claim query, the batch start and end, the fenced write, Extend,
	// Get, Release, and the recovery's lock check and release.
	if len(checked) != 9 {
		t.Fatalf("checked %d statements that look up job_locks rows, want 9", len(checked))
	}
}
