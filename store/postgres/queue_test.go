package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// The waiting mark (queue.go) must never hide a head: these tests take a
// cluster's queue through every way a job starts or ends and check, after
// each step, that no unfinished job with no older unfinished job on its
// cluster is marked, and that the claims get the jobs FIFO says they get.

// markedHeads counts the jobs that are their cluster's head (unfinished,
// no older unfinished job) and marked waiting: a claim would never find
// them.
func markedHeads(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM jobs h
		WHERE h.waiting AND h.status IN ('PENDING', 'RUNNING', 'RETRYING') AND NOT EXISTS (SELECT 1 FROM jobs o
		WHERE o.cluster_id = h.cluster_id AND o.status IN ('PENDING', 'RUNNING', 'RETRYING')
		AND (o.created_at, o.id) < (h.created_at, h.id))`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// marked counts the cluster's jobs marked waiting.
func marked(t *testing.T, pool *pgxpool.Pool, clusterID string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM jobs WHERE cluster_id = $1 AND waiting`, clusterID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestQueueMarksNeverHideAHead(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	pool := db.Pool(t)
	s, ctx := postgres.New(pool), t.Context()
	c := newFaultCluster(store.ClusterReady)
	if err := s.Clusters.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	create := func(jt store.JobType, maxAttempts int) *store.Job {
		t.Helper()
		j := &store.Job{ClusterID: c.ID, JobType: jt, MaxAttempts: maxAttempts}
		if err := s.Jobs.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		return j
	}
	p := store.ClaimParams{WorkerID: "w", LockTTL: time.Hour}
	claim := func(want *store.Job) *store.Claimed {
		t.Helper()
		got, err := s.Claim(ctx, p)
		if err != nil || got.Job.ID != want.ID {
			t.Fatalf("claim: %v, %v; want job %s", got, err, want.ID)
		}
		return got
	}
	check := func(step string, wantMarked int) {
		t.Helper()
		if n := markedHeads(t, pool); n != 0 {
			t.Fatalf("after %s: %d heads marked waiting", step, n)
		}
		if n := marked(t, pool, c.ID); n != wantMarked {
			t.Fatalf("after %s: %d jobs marked waiting, want %d", step, n, wantMarked)
		}
	}

	j1, j2, j3, j4 := create(store.JobPostConfigure, 0), create(store.JobPostConfigure, 0),
		create(store.JobPostConfigure, 0), create(store.JobPostConfigure, 0)
	j5 := create(store.JobPostConfigure, 1) // abandoned by RecoverStuck after one attempt
	j6, j7, j8 := create(store.JobPostConfigure, 0), create(store.JobPostConfigure, 0), create(store.JobPostConfigure, 0)

	// A head's start marks the rest of its cluster's queue.
	c1 := claim(j1)
	check("claiming the head", 7)
	// Finish ends the head: the next job is unmarked and claimed.
	if _, err := s.Finish(ctx, c1.Lock, store.Succeeded(nil)); err != nil {
		t.Fatal(err)
	}
	check("finishing the head", 6)
	c2 := claim(j2)
	check("claiming the next head", 6)
	// Cancelling a queued job that is not the head clears its own mark and
	// the oldest other marked job's (j4: not a head, so the claims walk it
	// until the next head starts, which costs only time).
	if _, err := s.Jobs.Cancel(ctx, j3.ID, "CANCELLED", "not wanted"); err != nil {
		t.Fatal(err)
	}
	check("cancelling a queued job", 4)
	// Finish with a retry keeps the head: nothing is unmarked.
	if _, err := s.Finish(ctx, c2.Lock, store.Retry("E", "again", 0)); err != nil {
		t.Fatal(err)
	}
	check("a retry of the head", 4)
	c2 = claim(j2)
	if _, err := s.Finish(ctx, c2.Lock, store.Succeeded(nil)); err != nil {
		t.Fatal(err)
	}
	check("finishing the retried head", 4) // j4 is next: j3 ended
	// A fenced write of the manual pattern ends the head.
	c4 := claim(j4)
	if _, err := s.Jobs.MarkFailed(ctx, c4.Lock, "E", "failed by hand"); err != nil {
		t.Fatal(err)
	}
	check("a fenced MarkFailed", 3)
	if err := s.JobLocks.Release(ctx, c4.Lock); err != nil { // the manual pattern releases on its own
		t.Fatal(err)
	}
	// RecoverStuck abandons a head whose lock expired with no attempts left.
	c5 := claim(j5)
	if _, err := s.JobLocks.Extend(ctx, c5.Lock, store.TimeResolution); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RecoverStuck(ctx, "janitor", 10); err != nil || n != 1 {
		t.Fatalf("RecoverStuck: %d, %v; want 1", n, err)
	}
	check("RecoverStuck abandoning the head", 2)
	// Cancelling a pending head unmarks the job behind it.
	if _, err := s.Jobs.Cancel(ctx, j6.ID, "CANCELLED", "not wanted"); err != nil {
		t.Fatal(err)
	}
	check("cancelling the pending head", 1)
	// A claim rejects a head its cluster's status forbids (RESUME on a
	// READY cluster) and takes the job behind it in the same call.
	c7 := claim(j7)
	j9 := create(store.JobResume, 0)
	j10 := create(store.JobPostConfigure, 0)
	if _, err := s.Finish(ctx, c7.Lock, store.Succeeded(nil)); err != nil {
		t.Fatal(err)
	}
	c8 := claim(j8) // marks j9 and j10, created while j7 ran
	check("claiming a head with jobs created behind the previous one", 2)
	if _, err := s.Finish(ctx, c8.Lock, store.Succeeded(nil)); err != nil {
		t.Fatal(err)
	}
	claim(j10) // j9 rejected
	if got, err := s.Jobs.GetByID(ctx, j9.ID); err != nil || got.Status != store.JobFailed {
		t.Fatalf("the RESUME job on a READY cluster: %v, %v; want FAILED by the claim's reject", got, err)
	}
	check("a claim's reject", 0)
}

// Many workers, a producer and a canceller on a few clusters at once: every
// job created ends, and no head is ever left marked. A head left marked
// would never be claimed, and the run would not end: the context's bound
// turns that hang into a failure (it is not a performance threshold).
func TestQueueMarksUnderConcurrency(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	pool := db.Pool(t)
	s := postgres.New(pool)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	const clusters, perCluster, workers = 4, 40, 4
	ids := make([]string, clusters)
	for i := range ids {
		c := newFaultCluster(store.ClusterReady)
		if err := s.Clusters.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		ids[i] = c.ID
	}
	created := make(chan *store.Job, clusters*perCluster)
	var wg sync.WaitGroup
	wg.Go(func() { // the producer, interleaving the clusters
		defer close(created)
		for k := range clusters * perCluster {
			j := &store.Job{ClusterID: ids[k%clusters], JobType: store.JobPostConfigure}
			if err := s.Jobs.Create(ctx, j); err != nil {
				t.Error(err)
				return
			}
			created <- j
		}
	})
	var mu sync.Mutex
	all := map[string]bool{}
	wg.Go(func() { // the canceller: every seventh job, if still pending
		k := 0
		for j := range created {
			mu.Lock()
			all[j.ID] = true
			mu.Unlock()
			if k++; k%7 == 0 {
				_, err := s.Jobs.Cancel(ctx, j.ID, "CANCELLED", "not wanted")
				if err != nil && !errors.Is(err, store.ErrInvalidStateTransition) {
					t.Error(err)
				}
			}
		}
	})
	unfinished := func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE status IN ('PENDING', 'RUNNING', 'RETRYING')`).Scan(&n); err != nil {
			t.Error(err)
			return -1
		}
		return n
	}
	var done sync.WaitGroup
	for w := range workers {
		done.Go(func() {
			p := store.ClaimParams{WorkerID: fmt.Sprint("w", w), LockTTL: time.Minute}
			for n := 0; ctx.Err() == nil; n++ {
				c, err := s.Claim(ctx, p)
				if errors.Is(err, store.ErrNoJob) {
					mu.Lock()
					total := len(all)
					mu.Unlock()
					if total == clusters*perCluster && unfinished() == 0 {
						return
					}
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				o := store.Succeeded(nil)
				if n%5 == 0 && c.Job.Attempt < c.Job.MaxAttempts {
					o = store.Retry("E", "again", 0)
				}
				if _, err := s.Finish(ctx, c.Lock, o); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	done.Wait()
	if ctx.Err() != nil {
		t.Fatalf("jobs left unfinished: %d (%d heads marked waiting)", unfinished(), markedHeads(t, pool))
	}
	if n := markedHeads(t, pool); n != 0 {
		t.Fatalf("%d heads marked waiting", n)
	}
}

// A claim while a hot cluster's head runs does not walk its backlog: the
// head's start marked the 2,000 jobs queued behind it, and the runnable
// jobs' index leaves them out, so the claim query's scan of it visits
// nothing (before the mark it visited all 2,000, each then rejected).
func TestClaimSkipsAHotClustersBacklog(t *testing.T) {
	t.Parallel()
	rec := &sqlRecorder{}
	s, db := tracedStore(t, rec)
	pool, ctx := db.Pool(t), t.Context()
	for _, q := range []string{
		`INSERT INTO clusters (id, name, platform, version, profile, region, owner, team, cost_center, status,
			requested_by, ttl_hours, created_at, updated_at)
		 VALUES ('clu_hot', 'hot', 'aws', '4.16', 'p', 'r', 'o@example.com', 't', 'cc', 'READY', 'o', 1, now(), now())`,
		`INSERT INTO jobs (id, cluster_id, job_type, status, created_at, updated_at)
		 SELECT 'job_' || lpad(g::text, 26, '0'), 'clu_hot', 'POST_CONFIGURE', 'PENDING',
			now() + g * interval '1 microsecond', now()
		 FROM generate_series(1, 2001) AS g`,
		`ANALYZE clusters, jobs, job_locks`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	p := store.ClaimParams{WorkerID: "w", LockTTL: time.Hour}
	if _, err := s.Claim(ctx, p); err != nil { // the head runs
		t.Fatal(err)
	}
	var claimQuery sentSQL
	for _, st := range rec.record(t, func() error {
		if _, err := s.Claim(ctx, p); !errors.Is(err, store.ErrNoJob) {
			return fmt.Errorf("claim behind a running head: %v, want ErrNoJob", err)
		}
		return nil
	}) {
		if strings.Contains(st.sql, "SKIP LOCKED") {
			claimQuery = st
		}
	}
	if claimQuery.sql == "" {
		t.Fatal("the claim sent no claim query")
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // EXPLAIN ANALYZE's locks are undone
	var raw []byte
	if err := tx.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+claimQuery.sql, claimQuery.args...).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal(raw, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("plan JSON %s: %v", raw, err)
	}
	scanned := -1.0
	plans[0].Plan.walk(func(n planNode) {
		if n.Index == "jobs_runnable_idx" {
			scanned = n.Rows + n.Removed // what the scan visited
		}
	})
	if scanned != 0 {
		t.Fatalf("the claim query's scan of jobs_runnable_idx visited %v rows behind a running head, want 0 (-1: not used)", scanned)
	}
}

// beforeStatement is a pgx.QueryTracer that runs fn once, on the
// connection's goroutine, just before the first statement containing
// marker is sent: the tests use it to interleave another transaction at an
// exact point of a store operation.
type beforeStatement struct {
	mu     sync.Mutex
	marker string
	fn     func()
}

// arm makes h run fn before the next statement containing marker.
func (h *beforeStatement) arm(marker string, fn func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.marker, h.fn = marker, fn
}

func (h *beforeStatement) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	h.mu.Lock()
	fn := h.fn
	if fn == nil || !strings.Contains(d.SQL, h.marker) {
		fn = nil
	} else {
		h.fn = nil
	}
	h.mu.Unlock()
	if fn != nil {
		fn()
	}
	return ctx
}

func (h *beforeStatement) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A job can commit after the claim query looked and before the batch start
// marks the queue, with a created_at older than the head the claim took
// (its transaction began first). It is its cluster's head then, not a job
// queued behind the started one, so the start must not mark it: had it been
// marked, a retry of the started job would leave both unclaimable (the
// marked one hidden, the retried one behind it). The test commits such a
// job exactly in that window, from the tracer, before the batch start.
func TestQueueMarksSkipAnOlderJobCommittedDuringTheClaim(t *testing.T) {
	t.Parallel()
	hook := &beforeStatement{}
	s, db := tracedStore(t, hook)
	raw, ctx := db.Pool(t), t.Context()
	c := newFaultCluster(store.ClusterReady)
	if err := s.Clusters.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	// The older job, inserted in a transaction left open.
	older, err := raw.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer older.Rollback(ctx) //nolint:errcheck // committed by the hook
	if _, err := older.Exec(ctx, `INSERT INTO jobs (id, cluster_id, job_type, status, created_at, updated_at)
		VALUES ('job_older', $1, 'POST_CONFIGURE', 'PENDING', now() - interval '1 hour', now())`, c.ID); err != nil {
		t.Fatal(err)
	}
	head := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
	behind := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
	for _, j := range []*store.Job{head, behind} {
		if err := s.Jobs.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	hook.arm("SET waiting = true", func() { // the batch start, after the claim query
		if err := older.Commit(ctx); err != nil {
			t.Error(err)
		}
	})
	p := store.ClaimParams{WorkerID: "w", LockTTL: time.Hour}
	got, err := s.Claim(ctx, p)
	if err != nil || got.Job.ID != head.ID {
		t.Fatalf("claim: %v, %v; want the head %s (the older job was not committed yet)", got, err, head.ID)
	}
	if n := markedHeads(t, raw); n != 0 {
		t.Fatalf("%d heads marked waiting after the claim", n)
	}
	if _, err := s.Finish(ctx, got.Lock, store.Retry("E", "again", 0)); err != nil {
		t.Fatal(err)
	}
	next, err := s.Claim(ctx, p)
	if err != nil || next.Job.ID != "job_older" {
		t.Fatalf("claim after the retry: %v, %v; want job_older, the cluster's oldest", next, err)
	}
}

// waitForALockWait waits until a backend of db waits for a lock.
func waitForALockWait(t *testing.T, raw *pgxpool.Pool) {
	t.Helper()
	eventually(t, "a backend waiting for a lock", func() (bool, string) {
		var n int
		if err := raw.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			return false, err.Error()
		}
		return n > 0, "none waiting"
	})
}

// queueOf creates a READY cluster with n pending jobs, claims the first
// (which marks the others waiting) and returns the claim and the jobs.
func queueOf(t *testing.T, s *store.Store, n int) (*store.Claimed, []*store.Job) {
	t.Helper()
	ctx := t.Context()
	c := newFaultCluster(store.ClusterReady)
	if err := s.Clusters.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	js := make([]*store.Job, n)
	for i := range js {
		js[i] = &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
		if err := s.Jobs.Create(ctx, js[i]); err != nil {
			t.Fatal(err)
		}
	}
	h, err := s.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Hour})
	if err != nil || h.Job.ID != js[0].ID {
		t.Fatalf("claim: %v, %v; want %s", h, err, js[0].ID)
	}
	return h, js
}

// Two Cancels of consecutive jobs at once, the pending head J1 and J2
// behind it (J2 and J3 marked by the previous head's start): before the
// ends were serialized on the cluster row, each saw the other's job
// unfinished, so neither unmarked J3, the new head, and nothing claimed it
// again. The first Cancel runs in a transaction left open until the second
// waits.
func TestQueueMarksTwoCancelsOfConsecutiveJobs(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	raw := db.Pool(t)
	s, ctx := postgres.New(raw), t.Context()
	h, js := queueOf(t, s, 4)
	if _, err := s.Finish(ctx, h.Lock, store.Succeeded(nil)); err != nil { // J1 unmarked
		t.Fatal(err)
	}
	tx, err := raw.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // committed below
	if _, err := postgres.NewTx(tx).Jobs.Cancel(ctx, js[2].ID, "CANCELLED", "not wanted"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Jobs.Cancel(ctx, js[1].ID, "CANCELLED", "not wanted")
		done <- err
	}()
	waitForALockWait(t, raw)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := markedHeads(t, raw); n != 0 {
		t.Errorf("%d heads marked waiting", n)
	}
	if got, err := s.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Hour}); err != nil || got.Job.ID != js[3].ID {
		t.Errorf("claim: %v, %v; want J3 %s", got, err, js[3].ID)
	}
}

// A Finish of the running head and a Cancel of the job behind it at once:
// before the ends were serialized on the cluster row, the Finish unmarked
// J1 and the Cancel, whose snapshot still had the head running, unmarked
// nothing after J1, so J2, the new head, stayed marked. The Cancel starts
// from a tracer when the Finish's batch end has run, before it commits.
func TestQueueMarksFinishAndCancelOfTheNextJob(t *testing.T) {
	t.Parallel()
	hook := &beforeStatement{}
	s, db := tracedStore(t, hook)
	raw, ctx := db.Pool(t), t.Context()
	other := postgres.New(raw)
	h, js := queueOf(t, s, 3)
	done := make(chan error, 1)
	hook.arm("INSERT INTO audit_events", func() { // the Finish's batch end ran, not committed
		go func() {
			_, err := other.Jobs.Cancel(ctx, js[1].ID, "CANCELLED", "not wanted")
			done <- err
		}()
		waitForALockWait(t, raw)
	})
	if _, err := s.Finish(ctx, h.Lock, store.Succeeded(nil)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := markedHeads(t, raw); n != 0 {
		t.Errorf("%d heads marked waiting", n)
	}
	if got, err := s.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Hour}); err != nil || got.Job.ID != js[2].ID {
		t.Errorf("claim: %v, %v; want J2 %s", got, err, js[2].ID)
	}
}

// A caller's REPEATABLE READ or SERIALIZABLE transaction keeps its first
// statement's snapshot, which the cluster-row lock does not refresh. P
// runs (the head), S sits between P and T unmarked (it committed after P's
// start), T is marked. A plain Cancel of S commits; then the transaction
// ends P with the snapshot that still has S pending. When the end unmarked
// "the oldest unfinished job other than P", it named S and left T, the new
// head, marked for good; now it unmarks the oldest marked job, T, or fails
// with a serialization error if another end changed T (here the Cancel
// did, so the caller gets ErrSerialization and P is finished again).
func TestQueueMarksSurviveAStaleSnapshot(t *testing.T) {
	t.Parallel()
	for _, iso := range []pgx.TxIsoLevel{pgx.RepeatableRead, pgx.Serializable} {
		t.Run(string(iso), func(t *testing.T) {
			t.Parallel()
			db := postgrestest.New(t)
			raw := db.Pool(t)
			s, ctx := postgres.New(raw), t.Context()
			h, js := queueOf(t, s, 2) // P = js[0] runs, T = js[1] marked
			if _, err := raw.Exec(ctx, `INSERT INTO jobs (id, cluster_id, job_type, status, created_at, updated_at)
				SELECT 'job_s', p.cluster_id, 'POST_CONFIGURE', 'PENDING', p.created_at + (t.created_at - p.created_at) / 2, now()
				FROM jobs p, jobs t WHERE p.id = $1 AND t.id = $2`, js[0].ID, js[1].ID); err != nil {
				t.Fatal(err)
			}
			tx, err := raw.BeginTx(ctx, pgx.TxOptions{IsoLevel: iso})
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx) //nolint:errcheck // committed below, or refused
			ts := postgres.NewTx(tx)
			if _, err := ts.Jobs.GetByID(ctx, js[0].ID); err != nil { // the snapshot
				t.Fatal(err)
			}
			if _, err := s.Jobs.Cancel(ctx, "job_s", "CANCELLED", "not wanted"); err != nil {
				t.Fatal(err)
			}
			_, err = ts.Jobs.MarkSucceeded(ctx, h.Lock, nil)
			if err == nil {
				err = tx.Commit(ctx)
			}
			switch {
			case errors.Is(err, store.ErrSerialization):
				_ = tx.Rollback(ctx)
				if _, err := s.Jobs.MarkSucceeded(ctx, h.Lock, nil); err != nil { // P again, outside
					t.Fatal(err)
				}
			case err != nil:
				t.Fatalf("ending P in the %s transaction: %v", iso, err)
			}
			if err := s.JobLocks.Release(ctx, h.Lock); err != nil {
				t.Fatal(err)
			}
			if n := markedHeads(t, raw); n != 0 {
				t.Errorf("%d heads marked waiting", n)
			}
			if got, err := s.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Hour}); err != nil || got.Job.ID != js[1].ID {
				t.Errorf("claim: %v, %v; want T %s", got, err, js[1].ID)
			}
		})
	}
}

// The manual pattern in one caller transaction, out of FIFO order, as the
// README writes it (GetByIDForUpdate, Acquire(Q), MarkStarted(Q), then the
// fenced MarkSucceeded(Q)), while a claim looks at the pending head H: the
// caller takes the cluster row first, so the claim skips the cluster, and
// the fenced write, which locks the cluster row before it ends the job,
// finds it its own. (Without the GetByIDForUpdate, a review found, the
// claim, holding the cluster row, waits for the caller's lock row while the
// fenced write waits for the cluster row: PostgreSQL aborts one of them.)
func TestQueueMarksManualPatternInATransactionBesideAClaim(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	watchDeadlocks(t, watcherPool(t, db), db.Name)
	raw := db.Pool(t)
	s, ctx := postgres.New(raw), t.Context()
	c := newFaultCluster(store.ClusterReady)
	if err := s.Clusters.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	head := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
	q := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
	for _, j := range []*store.Job{head, q} {
		if err := s.Jobs.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := raw.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // committed below
	ts := postgres.NewTx(tx)
	if _, err := ts.Clusters.GetByIDForUpdate(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	lock, err := ts.JobLocks.Acquire(ctx, c.ID, q.ID, "manual", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Jobs.MarkStarted(ctx, q.ID); err != nil {
		t.Fatal(err)
	}
	claimed := make(chan error, 1)
	go func() {
		_, err := s.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Hour})
		claimed <- err
	}()
	// The claim either skips the cluster at once or (before) waits for the
	// caller's lock row; give it the chance to get that far either way.
	var claimErr error
	eventually(t, "the claim done or waiting for a lock", func() (bool, string) {
		select {
		case claimErr = <-claimed:
			claimed <- claimErr
			return true, ""
		default:
		}
		var n int
		if err := raw.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			return false, err.Error()
		}
		return n > 0, "neither"
	})
	if _, err := ts.Jobs.MarkSucceeded(ctx, lock, nil); err != nil {
		t.Fatalf("the caller's fenced write: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-claimed; err != nil && !errors.Is(err, store.ErrNoJob) {
		t.Fatalf("the claim beside it: %v", err)
	}
}
