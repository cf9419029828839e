package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// killChain is the job queue of every cluster in TestFaultTerminateBackends:
// a cluster's whole life, through every kind of status change.
var killChain = []store.JobType{store.JobCreate, store.JobHibernate, store.JobResume, store.JobPostConfigure, store.JobDestroy}

const (
	killClusters   = 5 // clusters, each with killChain queued
	killWorkers    = 3 // concurrent workers on one pool
	killEvery      = 4 // the tracer kills every killEvery-th statement of each kind…
	killPerKind    = 3 // …up to killPerKind times per kind
	killBulkEvery  = 6 // finished jobs between two kills of the whole pool
	killRetryEvery = 3 // every killRetryEvery-th job fails transiently on its first attempt
)

// killTracer terminates, just before pgx sends it, every killEvery-th
// statement of each kind that the pool under test runs, up to killPerKind
// times per kind: the backend is gone, for certain, when the statement goes
// out. A kind is the worker operation (see withOp) and the statement's
// first keyword, such as "claim:commit" or "heartbeat:update". Which
// statement dies is decided by counting, not by timing, so every step of
// Claim, Finish and the heartbeat dies in every run.
type killTracer struct {
	env  *faultEnv
	mu   sync.Mutex
	seen map[string]int // statements seen per kind
	hits map[string]int // kills per kind
	errs []error        // kills that failed
}

// opKey is the context key of the worker operation a statement belongs to.
type opKey struct{}

// withOp tags ctx with a worker operation for killTracer.
func withOp(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, opKey{}, op)
}

// kind is a statement's operation and first keyword, lowercased.
func (k *killTracer) kind(ctx context.Context, sql string) string {
	op, _ := ctx.Value(opKey{}).(string)
	word, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(sql)), " ")
	return op + ":" + word
}

// TraceQueryStart implements pgx.QueryTracer.
func (k *killTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	k.mu.Lock()
	defer k.mu.Unlock()
	kind := k.kind(ctx, data.SQL)
	k.seen[kind]++
	// Statements of no worker operation (the final checks) are spared; a
	// ROLLBACK follows a failure, mostly on a connection already killed.
	if k.hits[kind] >= killPerKind || k.seen[kind]%killEvery != 0 ||
		strings.HasPrefix(kind, ":") || strings.HasSuffix(kind, ":rollback") {
		return ctx
	}
	k.hits[kind]++
	if err := k.env.terminatePID(context.WithoutCancel(ctx), conn.PgConn().PID()); err != nil {
		k.errs = append(k.errs, err)
	}
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (k *killTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// killRun is the shared state of the workers of TestFaultTerminateBackends.
type killRun struct {
	env      *faultEnv
	s        *store.Store
	retryJob map[string]bool // jobs that fail transiently on attempt 1
	progress chan struct{}   // a job attempt finished

	mu        sync.Mutex
	errs      map[string]int // errors seen, by normalized message
	wrongErrs []error        // errors that misreport a fault
	unknown   int            // ErrCommitUnknown outcomes resolved by re-reading
	claimed   int
	finished  int
}

// digits matches the IDs and numbers that make error messages differ, so
// that the tallies group them.
var digits = regexp.MustCompile(`(clu|job|aud)_[0-9A-Za-z]+|[0-9]+`)

// fault records an error a worker saw, and remembers it as wrong when it is
// not a connection fault (see isConnFault).
func (r *killRun) fault(err error, op string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs[op+": "+digits.ReplaceAllString(err.Error(), "N")]++
	if !isConnFault(err) {
		r.wrongErrs = append(r.wrongErrs, fmt.Errorf("%s: %w", op, err))
	}
}

// TestFaultTerminateBackends kills the backends of workers that claim,
// heartbeat and finish jobs: each statement kind in turn (just before it is
// sent, see killTracer) and, every few finished jobs, every connection of
// the pool at once, idle ones included. Operations must fail with clear
// errors (a connection error, or store.ErrCommitUnknown when COMMIT was in
// flight, which the worker resolves by re-reading), the pool must replace
// its connections by itself, all the work must get done, and a consistent
// snapshot taken after every mass kill and at the end must show no
// half-applied transaction (see snapshot.violations).
func TestFaultTerminateBackends(t *testing.T) {
	t.Parallel()
	env := newFaultEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	clock := store.NewManualClock(faultEpoch)
	direct := postgres.New(env.admin, postgres.WithClock(clock))

	initial := map[string]store.ClusterStatus{}
	retryJob := map[string]bool{}
	n := 0
	for range killClusters {
		c := newFaultCluster(store.ClusterPending)
		if err := direct.Clusters.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		initial[c.ID] = c.Status
		for _, jt := range killChain {
			clock.Advance(time.Millisecond) // queue order is creation order
			j := &store.Job{ClusterID: c.ID, JobType: jt}
			if err := direct.Jobs.Create(ctx, j); err != nil {
				t.Fatal(err)
			}
			n++
			retryJob[j.ID] = n%killRetryEvery == 0
		}
	}

	const app = "ocpstore-fault-kill"
	tracer := &killTracer{env: env, seen: map[string]int{}, hits: map[string]int{}}
	pool := env.pool(t, env.db.URL, app, func(c *postgres.Config) { c.Tracer = tracer })
	run := &killRun{env: env, s: postgres.New(pool, postgres.WithClock(clock)), retryJob: retryJob,
		progress: make(chan struct{}, 1), errs: map[string]int{}}

	// The mass killer: after every killBulkEvery finished jobs, kill the
	// whole pool, then check the invariants on a snapshot.
	var bulkKills, snapshots int
	var snapshotErrs []string
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		last := 0
		for range run.progress {
			run.mu.Lock()
			finished := run.finished
			run.mu.Unlock()
			if finished-last < killBulkEvery {
				continue
			}
			last = finished
			if k, err := env.terminate(ctx, app); err != nil {
				snapshotErrs = append(snapshotErrs, fmt.Sprintf("mass kill: %v", err))
			} else if k > 0 {
				bulkKills++
			}
			snap, err := readSnapshot(ctx, env.admin)
			if err != nil {
				snapshotErrs = append(snapshotErrs, err.Error())
				continue
			}
			snapshots++
			snapshotErrs = append(snapshotErrs, snap.violations(initial)...)
		}
	}()

	var wg sync.WaitGroup
	for w := range killWorkers {
		wg.Go(func() { run.worker(ctx, t, w) })
	}
	wg.Wait()
	close(run.progress)
	<-killerDone
	if ctx.Err() != nil {
		t.Fatalf("the work did not complete in time (claimed %d, finished %d): the pool did not recover", run.claimed, run.finished)
	}

	// What the workers saw.
	t.Logf("tracer kills by statement kind: %v; mass kills: %d; mid-run snapshots: %d; claims: %d; "+
		"finished attempts: %d; ambiguous commits resolved: %d", tracer.hits, bulkKills, snapshots, run.claimed, run.finished, run.unknown)
	for _, msg := range slices.Sorted(maps.Keys(run.errs)) {
		t.Logf("%4d × %s", run.errs[msg], msg)
	}
	for _, err := range tracer.errs {
		t.Errorf("kill failed: %v", err)
	}
	for _, err := range run.wrongErrs {
		t.Errorf("a killed connection surfaced as a domain error: %v", err)
	}
	for _, v := range snapshotErrs {
		t.Errorf("mid-run invariant: %s", v)
	}
	for _, kind := range []string{"claim:begin", "claim:select", "claim:with", "claim:insert", "claim:commit",
		"finish:begin", "finish:select", "finish:with", "finish:insert", "finish:commit", "heartbeat:update", "work:select"} {
		if tracer.hits[kind] == 0 {
			t.Errorf("no %s statement was killed (kills by kind %v): the test lost its coverage", kind, tracer.hits)
		}
	}
	if len(run.errs) == 0 {
		t.Error("the workers saw no error: the faults did not reach them")
	}

	// The end state: all work done, in order, exactly once per attempt.
	snap, err := readSnapshot(ctx, env.admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range snap.violations(initial) {
		t.Errorf("final invariant: %s", v)
	}
	for id, status := range snap.clusters {
		if status != store.ClusterDestroyed {
			t.Errorf("cluster %s ended %s, want DESTROYED: jobs %+v", id, status, snap.jobs[id])
		}
	}
	for _, jobs := range snap.jobs {
		for _, j := range jobs {
			if want := map[bool]int{false: 1, true: 2}[retryJob[j.id]]; j.status != store.JobSucceeded || j.attempt != want {
				t.Errorf("job %s (%s) ended %s after %d attempts, want SUCCEEDED after %d", j.id, j.jobType, j.status, j.attempt, want)
			}
		}
	}
	if len(snap.locks) != 0 {
		t.Errorf("locks left behind: %+v", snap.locks)
	}
	// The pool recovered: nothing checked out, nothing left open on the
	// server, and it works again by itself.
	env.requireQuiet(t, pool, app)
	requireRecovered(t, run.s, pool)
}

// requireRecovered checks that a pool whose connections were killed works
// again by itself: pgx finds a killed connection only when it uses it
// (or pings it, after a second idle), so each idle connection killed
// within the last second fails one operation and is then discarded. After
// at most that many failures, operations succeed again, every time.
func requireRecovered(t *testing.T, s *store.Store, pool *pgxpool.Pool) {
	t.Helper()
	failures := 0
	for ok := 0; ok < 2*int(pool.Config().MaxConns); {
		_, _, err := s.Clusters.List(t.Context(), store.ClusterFilters{})
		if err == nil {
			ok++
			continue
		}
		if ok > 0 || failures >= int(pool.Config().MaxConns) {
			t.Fatalf("the pool does not recover: after %d failures and %d successes: %v", failures, ok, err)
		}
		failures++
		t.Logf("first use of a killed idle connection: %v", err)
	}
}

// worker claims and finishes jobs until none is left, retrying whatever
// the faults break.
func (r *killRun) worker(ctx context.Context, t *testing.T, w int) {
	for seq := 0; ctx.Err() == nil; seq++ {
		id := fmt.Sprintf("worker-%d-%d", w, seq) // one ID per claim: see resolveClaim
		c, err := r.s.Claim(withOp(ctx, "claim"), store.ClaimParams{WorkerID: id, LockTTL: time.Hour})
		switch {
		case errors.Is(err, store.ErrNoJob):
			if r.allDone(ctx) {
				return
			}
			wait(ctx, time.Millisecond) // others hold the remaining work
			continue
		case errors.Is(err, store.ErrCommitUnknown):
			r.fault(err, "claim")
			if c = r.resolveClaim(ctx, t, id); c == nil {
				continue
			}
		case err != nil:
			r.fault(err, "claim")
			continue
		}
		r.mu.Lock()
		r.claimed++
		r.mu.Unlock()
		r.work(ctx, c)
	}
}

// resolveClaim finds out whether a claim whose COMMIT outcome is unknown
// happened: its transaction wrote a job.start event with the claim's
// worker ID, so the event exists exactly when the claim committed. It
// returns the claim, or nil if it did not commit.
func (r *killRun) resolveClaim(ctx context.Context, t *testing.T, workerID string) *store.Claimed {
	ctx = withOp(ctx, "resolve")
	action := store.ActionJobStart
	for ctx.Err() == nil {
		evs, _, err := r.s.Audit.List(ctx, store.AuditFilters{Actor: &workerID, Action: &action})
		if err != nil {
			r.fault(err, "resolve claim")
			continue
		}
		r.mu.Lock()
		r.unknown++
		r.mu.Unlock()
		if len(evs) == 0 {
			return nil
		}
		c, err := r.rebuildClaim(ctx, *evs[0].TargetJobID)
		if err != nil {
			r.fault(err, "resolve claim")
			continue
		}
		if c.Lock.LockedBy != workerID {
			t.Errorf("claim by %s committed, but the lock is held by %s", workerID, c.Lock.LockedBy)
			return nil
		}
		return c
	}
	return nil
}

// rebuildClaim reads back what Claim would have returned for job id.
func (r *killRun) rebuildClaim(ctx context.Context, id string) (*store.Claimed, error) {
	j, err := r.s.Jobs.GetByID(ctx, id)
	if err != nil {
		return nil, err
	}
	c, err := r.s.Clusters.GetByID(ctx, j.ClusterID)
	if err != nil {
		return nil, err
	}
	l, err := r.s.JobLocks.Get(ctx, j.ClusterID)
	if err != nil {
		return nil, err
	}
	return &store.Claimed{Job: j, Cluster: c, Lock: l}, nil
}

// work runs a claimed job under a heartbeat and records its outcome,
// retrying Finish until it is known to have happened.
func (r *killRun) work(ctx context.Context, c *store.Claimed) {
	hb, err := r.s.KeepAlive(withOp(ctx, "heartbeat"), c.Lock, time.Hour, time.Millisecond)
	if err != nil {
		r.fault(err, "keepalive")
		return
	}
	// The "work": reads on the pool while the heartbeat runs.
	for range 3 {
		if _, err := r.s.Clusters.GetByID(withOp(hb.Context(), "work"), c.Cluster.ID); err != nil {
			r.fault(err, "work")
		}
	}
	lock := hb.Stop()
	if err := hb.Lost(); err != nil {
		r.fault(err, "heartbeat") // a 1h lock is never lost: this fails the test
	}
	outcome := store.Succeeded(map[string]string{"by": lock.LockedBy})
	if r.retryJob[c.Job.ID] && c.Job.Attempt == 1 {
		outcome = store.Retry("TRANSIENT", "fails once", 0)
	}
	for ctx.Err() == nil {
		_, err := r.s.Finish(withOp(ctx, "finish"), lock, outcome)
		if err == nil {
			break
		}
		if errors.Is(err, store.ErrLockLost) {
			// Only an earlier Finish of ours, whose COMMIT outcome was
			// unknown, can have released the lock: it committed.
			break
		}
		r.fault(err, "finish")
	}
	r.mu.Lock()
	r.finished++
	r.mu.Unlock()
	select {
	case r.progress <- struct{}{}:
	default:
	}
}

// allDone reports whether every job has finished for good (read on the
// admin pool, which no fault touches).
func (r *killRun) allDone(ctx context.Context) bool {
	var open int
	err := r.env.admin.QueryRow(ctx, "SELECT count(*) FROM jobs WHERE status NOT IN ('SUCCEEDED', 'FAILED')").Scan(&open)
	return err == nil && open == 0
}

// wait waits for d or for ctx to end.
func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

var _ pgx.QueryTracer = (*killTracer)(nil)
