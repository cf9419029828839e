package postgres_test

// Deterministic regressions of the deadlocks between a cluster's row and
// its lock row (issue 10, item 1), and of the others the same rule
// removed. Each test runs two store calls on two pools, the way two
// workers would, and interleaves them step by step: a gate pauses one
// call inside its transaction right after a given statement, the other
// call runs until it is done or waits for a lock (read from
// pg_stat_activity), then the gate opens. Before the lock order was fixed
// each of them ended in "deadlock detected" (40P01) after deadlock_timeout;
// now neither call waits on the other in a cycle, each gets the answer the
// API promises (ErrLockHeld, ErrNoJob, ErrLockLost), and the database's
// deadlock counter does not move (newFaultEnv's watchDeadlocks).

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// gate pauses the first statement of its pool whose SQL contains match,
// just after it completed (its locks held), until open is closed.
type gate struct {
	match   string
	reached chan struct{} // closed when the statement has run
	open    chan struct{} // closed by the test to let the call go on
	once    sync.Once
}

func newGate(match string) *gate {
	return &gate{match: match, reached: make(chan struct{}), open: make(chan struct{})}
}

// sqlKey is the context key under which TraceQueryStart keeps the SQL.
type sqlKey struct{}

// TraceQueryStart implements pgx.QueryTracer.
func (g *gate) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, sqlKey{}, data.SQL)
}

// TraceQueryEnd implements pgx.QueryTracer: it blocks the matching
// statement's caller until the gate opens.
func (g *gate) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if sql, _ := ctx.Value(sqlKey{}).(string); strings.Contains(sql, g.match) {
		g.once.Do(func() {
			close(g.reached)
			<-g.open
		})
	}
}

// lockOrderEnv is a fault environment with a ManualClock and helpers to
// open stores on named pools.
type lockOrderEnv struct {
	*faultEnv
	clock *store.ManualClock
}

func newLockOrderEnv(t *testing.T) *lockOrderEnv {
	t.Helper()
	return &lockOrderEnv{faultEnv: newFaultEnv(t), clock: store.NewManualClock(faultEpoch)}
}

// store opens a Store on a pool named app, with tracer when not nil. Its
// WithTx never retries, so that a deadlock surfaces as ErrSerialization
// instead of being retried away.
func (e *lockOrderEnv) store(t *testing.T, app string, tracer pgx.QueryTracer) *store.Store {
	t.Helper()
	pool := e.pool(t, e.db.URL, app, func(c *postgres.Config) { c.Tracer = tracer })
	return postgres.New(pool, postgres.WithClock(e.clock), postgres.WithStoreOptions(store.WithRetryPolicy(store.RetryPolicy{})))
}

// doneOrWaiting waits until the call behind done has returned, or a
// backend named app waits for a lock. It returns the call's error if it
// returned; otherwise the caller collects it later from done.
func (e *lockOrderEnv) doneOrWaiting(t *testing.T, app string, done chan error) (error, bool) {
	t.Helper()
	deadline := time.Now().Add(faultWait)
	for {
		select {
		case err := <-done:
			return err, true
		default:
		}
		var n int
		if err := e.admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = $1 AND application_name = $2 AND wait_event_type = 'Lock'`, e.db.Name, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return nil, false
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s the call of %s neither returned nor waited for a lock", faultWait, app)
		}
		time.Sleep(5 * time.Millisecond) // bounded polling of server state
	}
}

// result returns the call's error: the one doneOrWaiting got, or the one
// still to come on done.
func result(err error, returned bool, done chan error) error {
	if returned {
		return err
	}
	return <-done
}

// TestLockOrderManualPatternVsAcquire: the README's manual pattern (BeginTx,
// GetByIDForUpdate, then Acquire) against a plain Acquire of the same
// cluster's first lock. The plain Acquire's foreign-key check takes FOR KEY
// SHARE on the cluster row, which FOR UPDATE blocked, while the manual
// Acquire waited for the plain one's insert: a deadlock every time. Now
// GetByIDForUpdate takes FOR NO KEY UPDATE: the plain Acquire gets the
// lock, the manual one ErrLockHeld.
func TestLockOrderManualPatternVsAcquire(t *testing.T) {
	t.Parallel()
	e := newLockOrderEnv(t)
	ctx := t.Context()
	manual, plain := e.store(t, "lo-manual", nil), e.store(t, "lo-acquire", nil)
	c, j1 := seedJob(t, manual, store.ClusterReady, store.JobPostConfigure)
	j2 := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
	if err := manual.Jobs.Create(ctx, j2); err != nil {
		t.Fatal(err)
	}

	tx, err := manual.BeginTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Clusters.GetByIDForUpdate(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := plain.JobLocks.Acquire(ctx, c.ID, j2.ID, "w-plain", time.Minute)
		done <- err
	}()
	plainErr, returned := e.doneOrWaiting(t, "lo-acquire", done)
	_, manualErr := tx.JobLocks.Acquire(ctx, c.ID, j1.ID, "w-manual", time.Minute)
	plainErr = result(plainErr, returned, done)
	if plainErr != nil || !errors.Is(manualErr, store.ErrLockHeld) {
		t.Fatalf("plain Acquire: %v (want nil); manual Acquire: %v (want ErrLockHeld)", plainErr, manualErr)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestLockOrderAcquireVsClaim: a plain Acquire of a cluster against a Claim
// that has just locked that cluster's job and cluster rows (LockRunnable)
// and is about to take the lock. The Acquire's foreign-key check (FOR KEY
// SHARE on the cluster row for a first grant, on the job row when the lock
// row changes job) waited for the Claim's FOR UPDATE, and the Claim's
// Acquire for the plain Acquire's row: a deadlock. LockRunnable now takes
// FOR NO KEY UPDATE: the plain Acquire gets the lock and the Claim, finding
// the cluster locked, nothing (ErrNoJob).
func TestLockOrderAcquireVsClaim(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		prior bool // the cluster had a lock before, for another job (the ON CONFLICT arm)
	}{{"FirstGrant", false}, {"TakeOverOfAnotherJobsRow", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newLockOrderEnv(t)
			ctx := t.Context()
			g := newGate("SKIP LOCKED")
			claimer, plain := e.store(t, "lo-claim", g), e.store(t, "lo-acquire", nil)
			c := newFaultCluster(store.ClusterReady)
			if err := plain.Clusters.Create(ctx, c); err != nil {
				t.Fatal(err)
			}
			if tc.prior { // a released lock of an older job, now FAILED
				old := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
				if err := plain.Jobs.Create(ctx, old); err != nil {
					t.Fatal(err)
				}
				l, err := plain.JobLocks.Acquire(ctx, c.ID, old.ID, "w-old", time.Minute)
				if err == nil {
					err = plain.JobLocks.Release(ctx, l)
				}
				if err == nil {
					_, err = plain.Jobs.Cancel(ctx, old.ID, "CANCELLED", "for the test")
				}
				if err != nil {
					t.Fatal(err)
				}
				e.clock.Advance(time.Second)
			}
			j := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
			if err := plain.Jobs.Create(ctx, j); err != nil {
				t.Fatal(err)
			}

			claimed := make(chan error, 1)
			go func() {
				_, err := claimer.Claim(ctx, store.ClaimParams{WorkerID: "w-claim", LockTTL: time.Minute})
				claimed <- err
			}()
			<-g.reached // the Claim holds the job and cluster rows
			done := make(chan error, 1)
			go func() {
				_, err := plain.JobLocks.Acquire(ctx, c.ID, j.ID, "w-plain", time.Minute)
				done <- err
			}()
			plainErr, returned := e.doneOrWaiting(t, "lo-acquire", done)
			close(g.open)
			claimErr := <-claimed
			plainErr = result(plainErr, returned, done)
			if plainErr != nil || !errors.Is(claimErr, store.ErrNoJob) {
				t.Fatalf("plain Acquire: %v (want nil); Claim: %v (want ErrNoJob)", plainErr, claimErr)
			}
		})
	}
}

// startManually starts job j on its cluster the manual way (the README's
// pattern), with a lock for ttl, and returns the lock.
func startManually(t *testing.T, s *store.Store, c *store.Cluster, j *store.Job, ttl time.Duration) *store.JobLock {
	t.Helper()
	ctx := t.Context()
	tx, err := s.BeginTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Clusters.GetByIDForUpdate(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	l, err := tx.JobLocks.Acquire(ctx, c.ID, j.ID, "w-manual", ttl)
	if err == nil {
		_, err = tx.Jobs.MarkStarted(ctx, j.ID)
	}
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLockOrderFinishVsClaim: a worker finishes a job whose lock has
// expired (still its own: nobody took it over) while a Claim picks an older
// job of the same cluster (the manual pattern started the newer one out of
// queue order). Finish took the lock row (its fence) and then the cluster
// row, the Claim the cluster row and then the lock row: a deadlock. Finish
// now takes the cluster row first, so the Claim skips the cluster.
func TestLockOrderFinishVsClaim(t *testing.T) {
	t.Parallel()
	e := newLockOrderEnv(t)
	ctx := t.Context()
	g := newGate("FOR NO KEY UPDATE OF jl") // Finish's fenced write (batchEndSQL)
	finisher, claimer := e.store(t, "lo-finish", g), e.store(t, "lo-claim", nil)
	c, older := seedJob(t, claimer, store.ClusterReady, store.JobPostConfigure)
	newer := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
	if err := claimer.Jobs.Create(ctx, newer); err != nil {
		t.Fatal(err)
	}
	lock := startManually(t, claimer, c, newer, time.Minute)
	e.clock.Advance(2 * time.Minute) // expired, still current

	finished := make(chan error, 1)
	go func() {
		_, err := finisher.Finish(ctx, lock, store.Succeeded(nil))
		finished <- err
	}()
	<-g.reached // Finish has made its fenced write
	done := make(chan error, 1)
	go func() {
		_, err := claimer.Claim(ctx, store.ClaimParams{WorkerID: "w-claim", LockTTL: time.Minute})
		done <- err
	}()
	claimErr, returned := e.doneOrWaiting(t, "lo-claim", done)
	close(g.open)
	finishErr := <-finished
	claimErr = result(claimErr, returned, done)
	if finishErr != nil || !errors.Is(claimErr, store.ErrNoJob) {
		t.Fatalf("Finish: %v (want nil); Claim: %v (want ErrNoJob: the cluster was being finished)", finishErr, claimErr)
	}
	if _, err := claimer.Claim(ctx, store.ClaimParams{WorkerID: "w-claim", LockTTL: time.Minute}); err != nil {
		t.Fatalf("claim of the older job after the finish: %v", err)
	}
	_ = older
}

// TestLockOrderFinishVsDuplicateFencedWrite: a Finish and a duplicate fenced
// write of the same lock (a retried call of the same worker). Both took
// the lock row FOR SHARE; the fenced write then waited for the Finish's
// job row, and the Finish, releasing the lock, for the fenced write's
// share lock: a deadlock. The fence now takes FOR NO KEY UPDATE, so the
// second writer waits at the lock row and then finds the lock released
// (ErrLockLost).
func TestLockOrderFinishVsDuplicateFencedWrite(t *testing.T) {
	t.Parallel()
	e := newLockOrderEnv(t)
	ctx := t.Context()
	g := newGate("FOR NO KEY UPDATE OF jl") // Finish's fenced write (batchEndSQL)
	finisher, writer := e.store(t, "lo-finish", g), e.store(t, "lo-write", nil)
	c, j := seedJob(t, writer, store.ClusterReady, store.JobPostConfigure)
	lock := startManually(t, writer, c, j, time.Minute)

	finished := make(chan error, 1)
	go func() {
		_, err := finisher.Finish(ctx, lock, store.Succeeded(nil))
		finished <- err
	}()
	<-g.reached
	done := make(chan error, 1)
	go func() {
		_, err := writer.Jobs.MarkSucceeded(ctx, lock, nil)
		done <- err
	}()
	writeErr, returned := e.doneOrWaiting(t, "lo-write", done)
	close(g.open)
	finishErr := <-finished
	writeErr = result(writeErr, returned, done)
	if finishErr != nil || !errors.Is(writeErr, store.ErrLockLost) {
		t.Fatalf("Finish: %v (want nil); duplicate fenced write: %v (want ErrLockLost)", finishErr, writeErr)
	}
}

// TestLockOrderReleaseExpired: two ReleaseExpired calls whose plans visit the
// expired lock rows in different orders (a sequential scan in table order,
// an index scan in expiry order), as different parameters or statistics
// can make them. Each locked rows as its scan met them: the torture test
// found the deadlock. ReleaseExpired now locks the rows in cluster order
// before it updates them.
func TestLockOrderReleaseExpired(t *testing.T) {
	t.Parallel()
	e := newLockOrderEnv(t)
	ctx := t.Context()
	plan := func(params map[string]string) func(*postgres.Config) {
		return func(c *postgres.Config) {
			for k, v := range params {
				c.PoolConfig.ConnConfig.RuntimeParams[k] = v
			}
		}
	}
	open := func(app string, params map[string]string) *store.Store {
		return postgres.New(e.pool(t, e.db.URL, app, plan(params)), postgres.WithClock(e.clock),
			postgres.WithStoreOptions(store.WithRetryPolicy(store.RetryPolicy{})))
	}
	bySeqScan := open("lo-seqscan", map[string]string{"enable_indexscan": "off", "enable_bitmapscan": "off"})
	byIndex := open("lo-indexscan", map[string]string{"enable_seqscan": "off", "enable_bitmapscan": "off"})
	// Two locks: a (cluster ID first, row first in the table, expiring
	// last) and b (expiring first).
	var ids []string
	for i, ttl := range []time.Duration{2 * time.Minute, time.Minute} {
		c := newFaultCluster(store.ClusterReady)
		c.ID = []string{"clu_lockorder_a", "clu_lockorder_b"}[i]
		if err := bySeqScan.Clusters.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		j := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
		if err := bySeqScan.Jobs.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		if _, err := bySeqScan.JobLocks.Acquire(ctx, c.ID, j.ID, "w", ttl); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	e.clock.Advance(time.Hour)
	// Hold row a: the sequential scan waits there holding nothing, the
	// index scan takes b first and then waits there too.
	release := e.holdRows(t, "SELECT 1 FROM job_locks WHERE cluster_id = $1 FOR UPDATE", ids[0])
	seqDone, idxDone := make(chan error, 1), make(chan error, 1)
	go func() { _, err := bySeqScan.JobLocks.ReleaseExpired(ctx); seqDone <- err }()
	if _, returned := e.doneOrWaiting(t, "lo-seqscan", seqDone); returned {
		t.Fatal("ReleaseExpired did not wait for the held row")
	}
	go func() { _, err := byIndex.JobLocks.ReleaseExpired(ctx); idxDone <- err }()
	if _, returned := e.doneOrWaiting(t, "lo-indexscan", idxDone); returned {
		t.Fatal("the second ReleaseExpired did not wait for the held row")
	}
	release()
	for name, err := range map[string]error{"sequential scan": <-seqDone, "index scan": <-idxDone} {
		if err != nil {
			t.Errorf("ReleaseExpired by %s: %v", name, err)
		}
	}
}
