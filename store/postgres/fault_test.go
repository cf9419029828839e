package postgres_test

// Shared machinery of the database fault tests (TestFault…): a test
// database with an administrative pool that no fault touches, pools under
// test told apart on the server by their application_name, backend
// termination limited to this test's database, and an invariant check over
// one consistent snapshot of the data.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// faultEpoch is where the fault tests' ManualClocks start.
var faultEpoch = time.Date(2032, time.January, 2, 3, 4, 5, 678901000, time.UTC)

// faultWait bounds every polling wait of the fault tests: how long a pool
// may take to recover or a server backend to go away before the test fails.
// It is shorter than the default lock_timeout, so a backend left waiting
// for a lock on a caller's behalf fails the test instead of timing out.
const faultWait = 5 * time.Second

// faultEnv is one fault test's database and its administrative pool. The
// admin pool reads the truth after a fault and injects the faults (it
// terminates backends, holds row locks); it is never itself a target.
type faultEnv struct {
	db    *postgrestest.DB
	admin *pgxpool.Pool
}

// newFaultEnv gives t a fresh database. It skips t when the server is older
// than PostgreSQL 14, whose pg_terminate_backend cannot wait for the backend
// to exit (the fault tests need that to kill deterministically). No fault
// may cause a deadlock: t fails if PostgreSQL detects one in the database
// (watchDeadlocks).
func newFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	db := postgrestest.New(t)
	e := &faultEnv{db: db, admin: watcherPool(t, db)}
	watchDeadlocks(t, e.admin, db.Name)
	var version int
	if err := e.admin.QueryRow(t.Context(), "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 140000 {
		t.Skipf("server_version_num %d: the fault tests need PostgreSQL 14+ (pg_terminate_backend with a timeout)", version)
	}
	return e
}

// pool opens a pool under test on connURL (the database's URL, or a
// proxy's), named app on the server, with production defaults
// (postgres.DefaultConfig) except a small size and no idle minimum;
// configure adjusts the rest. It is closed when t ends.
func (e *faultEnv) pool(t *testing.T, connURL, app string, configure func(*postgres.Config)) *pgxpool.Pool {
	t.Helper()
	cfg, err := postgres.DefaultConfig(connURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.PoolConfig.MaxConns = postgrestest.PoolMaxConns
	cfg.PoolConfig.MinConns = 0
	cfg.PoolConfig.ConnConfig.RuntimeParams["application_name"] = app
	if configure != nil {
		configure(cfg)
	}
	pool, err := postgres.NewPool(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// terminate terminates every backend of this test's database named app,
// waiting for each to exit, and returns how many it terminated. Only this
// database's backends are ever terminated: other tests share the server.
func (e *faultEnv) terminate(ctx context.Context, app string) (int, error) {
	var n int
	err := e.admin.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))
		FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name = $2`,
		e.db.Name, app).Scan(&n)
	return n, err
}

// terminatePID terminates backend pid if it belongs to this test's
// database, waiting for it to exit.
func (e *faultEnv) terminatePID(ctx context.Context, pid uint32) error {
	_, err := e.admin.Exec(ctx, `SELECT pg_terminate_backend(pid, 5000)
		FROM pg_stat_activity WHERE datname = $1 AND pid = $2 AND pid <> pg_backend_pid()`, e.db.Name, int64(pid))
	return err
}

// busyBackends lists the backends named app that are not idle: running a
// statement, waiting for a lock, or idle inside a transaction (and so
// holding its locks).
func (e *faultEnv) busyBackends(ctx context.Context, app string) ([]string, error) {
	rows, err := e.admin.Query(ctx, `SELECT format('pid %s %s (wait %s): %s', pid, state,
			coalesce(wait_event_type, '-'), left(query, 80))
		FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND state <> 'idle'`, e.db.Name, app)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// requireQuiet waits until no backend named app is busy (see busyBackends)
// and the pool has no connection checked out: what a fault left behind must
// be cleaned up by the store and the pool on their own.
func (e *faultEnv) requireQuiet(t *testing.T, pool *pgxpool.Pool, app string) {
	t.Helper()
	var busy []string
	eventually(t, "no busy backend and no acquired connection", func() (bool, string) {
		var err error
		if busy, err = e.busyBackends(t.Context(), app); err != nil {
			return false, err.Error()
		}
		acquired := pool.Stat().AcquiredConns()
		return len(busy) == 0 && acquired == 0, fmt.Sprintf("%d acquired connections; busy backends: %q", acquired, busy)
	})
}

// waitForLockWait waits until a backend named app is blocked on a lock.
func (e *faultEnv) waitForLockWait(t *testing.T, app string) {
	t.Helper()
	eventually(t, "a backend of "+app+" waiting for a lock", func() (bool, string) {
		var n int
		err := e.admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = $1 AND application_name = $2 AND wait_event_type = 'Lock'`, e.db.Name, app).Scan(&n)
		if err != nil {
			return false, err.Error()
		}
		return n > 0, "none waiting"
	})
}

// holdRows starts a transaction on a connection of the admin pool and runs
// lockSQL in it (a SELECT … FOR UPDATE, a LOCK TABLE): a stuck holder. The
// returned release rolls it back; it also runs when t ends.
func (e *faultEnv) holdRows(t *testing.T, lockSQL string, args ...any) (release func()) {
	t.Helper()
	ctx := t.Context()
	tx, err := e.admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	released := false
	release = func() {
		if !released {
			released = true
			if err := tx.Rollback(context.WithoutCancel(ctx)); err != nil {
				t.Errorf("release held rows: %v", err)
			}
		}
	}
	t.Cleanup(release)
	if _, err := tx.Exec(ctx, lockSQL, args...); err != nil {
		t.Fatalf("hold rows (%s): %v", lockSQL, err)
	}
	return release
}

// eventually polls cond until it holds, failing t after faultWait with the
// last explanation cond gave.
func eventually(t *testing.T, what string, cond func() (ok bool, why string)) {
	t.Helper()
	deadline := time.Now().Add(faultWait)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, still not %s: %s", faultWait, what, why)
		}
		time.Sleep(5 * time.Millisecond) // bounded polling of server state
	}
}

// newFaultCluster returns a valid, unsaved cluster in status with a unique
// name and a fresh ID.
func newFaultCluster(status store.ClusterStatus) *store.Cluster {
	domain := "fault.example.com"
	return &store.Cluster{ID: store.NewID(store.PrefixCluster), Name: "fault-" + strings.ToLower(rand.Text()[:12]),
		Platform: store.PlatformAWS, Version: "4.18.1", Profile: "aws-standard", Region: "us-east-1",
		BaseDomain: &domain, Owner: "owner@example.com", Team: "team-fault", CostCenter: "cc-1",
		RequestedBy: "requester@example.com", TTLHours: 24, Status: status}
}

// seedJob creates a cluster in status with one PENDING job of type jt.
func seedJob(t *testing.T, s *store.Store, status store.ClusterStatus, jt store.JobType) (*store.Cluster, *store.Job) {
	t.Helper()
	c := newFaultCluster(status)
	if err := s.Clusters.Create(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	j := &store.Job{ClusterID: c.ID, JobType: jt}
	if err := s.Jobs.Create(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	return c, j
}

// snapshot is the whole job state of a database, read in one REPEATABLE
// READ transaction so that it is one committed state.
type snapshot struct {
	clusters map[string]store.ClusterStatus
	jobs     map[string][]snapJob // per cluster, in queue order (created_at, id)
	locks    map[string]snapLock  // held locks, per cluster
	audit    map[string]map[string]int
}

// snapJob is the part of a job the invariants look at.
type snapJob struct {
	id        string
	jobType   store.JobType
	status    store.JobStatus
	attempt   int
	errorCode string
}

// snapLock is a job_locks row.
type snapLock struct {
	jobID, lockedBy string
	token           int64
}

// readSnapshot reads the database's job state in one snapshot.
func readSnapshot(ctx context.Context, pool *pgxpool.Pool) (*snapshot, error) {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	each := func(sql string, dests []any, fn func()) error {
		rows, err := tx.Query(ctx, sql)
		if err != nil {
			return err
		}
		_, err = pgx.ForEachRow(rows, dests, func() error { fn(); return nil })
		return err
	}
	s := &snapshot{clusters: map[string]store.ClusterStatus{}, jobs: map[string][]snapJob{},
		locks: map[string]snapLock{}, audit: map[string]map[string]int{}}
	var id, a string
	var status store.ClusterStatus
	var j snapJob
	var l snapLock
	var n int
	for _, q := range []struct {
		sql   string
		dests []any
		fn    func()
	}{
		{"SELECT id, status FROM clusters", []any{&id, &status}, func() { s.clusters[id] = status }},
		{"SELECT cluster_id, id, job_type, status, attempt, coalesce(error_code, '') FROM jobs ORDER BY created_at, id",
			[]any{&id, &j.id, &j.jobType, &j.status, &j.attempt, &j.errorCode},
			func() { s.jobs[id] = append(s.jobs[id], j) }},
		// Released locks stay as rows (released_at set) to keep the
		// clusters' highest tokens; only held ones count.
		{"SELECT cluster_id, job_id, locked_by, token FROM job_locks WHERE released_at IS NULL",
			[]any{&id, &l.jobID, &l.lockedBy, &l.token},
			func() { s.locks[id] = l }},
		{"SELECT target_job_id, action, count(*) FROM audit_events WHERE target_job_id IS NOT NULL GROUP BY 1, 2",
			[]any{&id, &a, &n}, func() {
				if s.audit[id] == nil {
					s.audit[id] = map[string]int{}
				}
				s.audit[id][a] = n
			}},
	} {
		if err := each(q.sql, q.dests, q.fn); err != nil {
			return nil, fmt.Errorf("snapshot: %s: %w", q.sql, err)
		}
	}
	return s, nil
}

// violations checks the invariants no fault may break, because every
// worker operation is one transaction: a half-applied claim or finish
// would break at least one. initial is each cluster's status before any
// job ran.
//
//   - jobs of a cluster run in queue order: after the first unfinished job
//     (PENDING, RUNNING, RETRYING) every job is PENDING;
//   - a RUNNING job holds its cluster's lock, and a lock belongs to a
//     RUNNING job of its cluster (lock and job agree);
//   - the cluster of a RUNNING or RETRYING job is in one of the job type's
//     in-progress statuses; otherwise it is where the last job that ran
//     left it (its Success or Failure status), or its initial status;
//   - the audit trail has one job.start per attempt and one end event
//     (succeed, fail, retry, requeue) per attempt that is over.
func (s *snapshot) violations(initial map[string]store.ClusterStatus) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for clusterID, lock := range s.locks {
		i := slices.IndexFunc(s.jobs[clusterID], func(j snapJob) bool { return j.id == lock.jobID })
		if i < 0 || s.jobs[clusterID][i].status != store.JobRunning {
			bad("cluster %s: lock (token %d, by %s) for job %s, which is not RUNNING", clusterID, lock.token, lock.lockedBy, lock.jobID)
		}
	}
	for clusterID, status := range s.clusters {
		jobs := s.jobs[clusterID]
		want := []store.ClusterStatus{initial[clusterID]}
		unfinished := false
		for _, j := range jobs {
			s.checkAudit(j, bad)
			tr, _ := store.TransitionFor(j.jobType)
			if unfinished && j.status != store.JobPending {
				bad("cluster %s: job %s is %s behind an unfinished older job", clusterID, j.id, j.status)
			}
			switch j.status {
			case store.JobPending:
				unfinished = true
			case store.JobRunning, store.JobRetrying:
				unfinished = true
				want = tr.InProgress()
				if l, ok := s.locks[clusterID]; j.status == store.JobRunning && (!ok || l.jobID != j.id) {
					bad("cluster %s: job %s is RUNNING without holding the cluster's lock (lock %+v)", clusterID, j.id, l)
				}
			case store.JobSucceeded:
				want = []store.ClusterStatus{tr.Success}
			case store.JobFailed:
				if j.errorCode != store.ErrCodeInvalidTransition { // a rejected job never ran
					want = []store.ClusterStatus{tr.Failure}
				}
			}
		}
		if !slices.Contains(want, status) {
			bad("cluster %s is %s, want one of %v after its jobs %+v", clusterID, status, want, jobs)
		}
	}
	return out
}

// checkAudit checks one job's audit counts.
func (s *snapshot) checkAudit(j snapJob, bad func(string, ...any)) {
	a := s.audit[j.id]
	starts := a[store.ActionJobStart]
	ends := a[store.ActionJobSucceed] + a[store.ActionJobFail] + a[store.ActionJobRetry] + a[store.ActionJobRequeue]
	wantEnds := j.attempt
	if j.status == store.JobRunning {
		wantEnds--
	}
	if starts != j.attempt || ends != wantEnds {
		bad("job %s (%s, attempt %d): audit has %d job.start and %d end events, want %d and %d: %v",
			j.id, j.status, j.attempt, starts, ends, j.attempt, wantEnds, a)
	}
}

// isConnFault reports whether err is what a worker may see when its
// connection is killed: the ambiguous commit, or a connection-level error.
// Anything else (a not-found, a refused transition, a lost lock) would mean
// the store misreported a fault as a domain outcome.
func isConnFault(err error) bool {
	for _, domain := range []error{store.ErrNotFound, store.ErrInvalidStateTransition, store.ErrInvalidArgument,
		store.ErrLockLost, store.ErrLockHeld, store.ErrNoJob, store.ErrIdempotencyMismatch} {
		if errors.Is(err, domain) {
			return false
		}
	}
	return true
}

// TestFaultInvariantsCatchViolations checks the checker: a consistent
// snapshot passes, and each kind of half-applied transaction is caught.
func TestFaultInvariantsCatchViolations(t *testing.T) {
	t.Parallel()
	const c, j1, j2 = "clu_1", "job_1", "job_2"
	initial := map[string]store.ClusterStatus{c: store.ClusterPending}
	// consistent: CREATE running (its claim complete), HIBERNATE queued.
	consistent := func() *snapshot {
		return &snapshot{
			clusters: map[string]store.ClusterStatus{c: store.ClusterCreating},
			jobs: map[string][]snapJob{c: {
				{id: j1, jobType: store.JobCreate, status: store.JobRunning, attempt: 1},
				{id: j2, jobType: store.JobHibernate, status: store.JobPending},
			}},
			locks: map[string]snapLock{c: {jobID: j1, lockedBy: "w", token: 1}},
			audit: map[string]map[string]int{j1: {store.ActionJobStart: 1}},
		}
	}
	if v := consistent().violations(initial); len(v) != 0 {
		t.Fatalf("a consistent snapshot has violations: %q", v)
	}
	for name, breakIt := range map[string]func(s *snapshot){
		"claim without its lock":          func(s *snapshot) { delete(s.locks, c) },
		"claim without its status":        func(s *snapshot) { s.clusters[c] = store.ClusterPending },
		"claim without its audit event":   func(s *snapshot) { delete(s.audit, j1) },
		"finish without its lock release": func(s *snapshot) { s.jobs[c][0].status = store.JobSucceeded },
		"finish without its status": func(s *snapshot) {
			s.jobs[c][0].status = store.JobSucceeded
			delete(s.locks, c)
			s.audit[j1][store.ActionJobSucceed] = 1
		},
		"jobs out of order": func(s *snapshot) {
			s.jobs[c][0].status = store.JobPending
			s.jobs[c][0].attempt = 0
			delete(s.audit, j1)
			s.jobs[c][1].status = store.JobRunning
			s.jobs[c][1].attempt = 1
			s.locks[c] = snapLock{jobID: j2, lockedBy: "w", token: 2}
			s.audit[j2] = map[string]int{store.ActionJobStart: 1}
			s.clusters[c] = store.ClusterHibernating
		},
	} {
		s := consistent()
		breakIt(s)
		if v := s.violations(initial); len(v) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
}
