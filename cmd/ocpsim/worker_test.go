package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// testSeed is the seed of the test simulations.
const testSeed = 7

// forcedPlan injects, on top of a few random faults, one of each fault
// deterministically, so every path is exercised whatever the random draw:
// cluster 0's CREATE stalls on its first run (its late Finish must be
// refused), cluster 1's is cancelled, cluster 2's fails transiently once,
// and the CREATE of the first cluster that has a HIBERNATE queued fails
// transiently on all its attempts, so it ends FAILED and the state machine
// must reject that HIBERNATE.
func forcedPlan(t *testing.T, clusters int) FaultPlan {
	exhaust := -1
	rng := rand.New(rand.NewPCG(testSeed, 0x5eed)) // as seed draws the job mix
	for i := range clusters {
		if slices.Contains(jobPlan(rng), store.JobHibernate) && i > 2 {
			exhaust = i
			break
		}
	}
	if exhaust < 0 {
		t.Fatalf("seed %d queues no HIBERNATE on clusters 3..%d; pick another", testSeed, clusters-1)
	}
	random := RandomFaults(testSeed, 0.1)
	return func(k RunKey) Fault {
		switch {
		case k.Cluster == 0 && k.Seq == 0 && k.Attempt == 1:
			return FaultStall
		case k.Cluster == 1 && k.Seq == 0 && k.Attempt == 1:
			return FaultCancel
		case k.Cluster == 2 && k.Seq == 0 && k.Attempt == 1:
			return FaultTransient
		case k.Cluster == exhaust && k.Seq == 0:
			return FaultTransient
		case k.Cluster == exhaust:
			return FaultNone
		}
		return random(k)
	}
}

// simulate runs a small simulation on s and checks that it verified and
// that every fault path was taken.
func simulate(t *testing.T, s *store.Store, workers int, lockTTL time.Duration) {
	const clusters = 8
	var progress bytes.Buffer
	rep, err := Run(t.Context(), s, Config{Clusters: clusters, Workers: workers, Seed: testSeed,
		LockTTL: lockTTL, WorkMin: time.Millisecond, WorkMax: 10 * time.Millisecond, Timeout: time.Minute,
		Plan: forcedPlan(t, clusters), Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep.Print(&out)
	if !rep.OK() {
		t.Fatalf("verification failed:\n%s", out.String())
	}
	t.Logf("\n%s", out.String())

	if len(rep.Refusals) == 0 {
		t.Error("no late Finish was refused, though cluster 0's CREATE stalled")
	}
	for _, r := range rep.Refusals {
		if !errors.Is(r.Err, store.ErrLockLost) {
			t.Errorf("refusal %+v: error does not match ErrLockLost", r)
		}
		if r.Superseding != 0 && r.Superseding <= r.StaleToken {
			t.Errorf("refusal %+v: superseding token not larger", r)
		}
	}
	for name, n := range map[string]int64{"stalls": rep.Stalls, "cancels": rep.Cancels,
		"transient faults": rep.Transient, "janitor requeues": rep.Requeued} {
		if n == 0 {
			t.Errorf("no %s", name)
		}
	}
	if rep.Exhausted == 0 || rep.Rejected == 0 {
		t.Errorf("exhausted %d, rejected %d; want a CREATE out of attempts and a HIBERNATE rejected", rep.Exhausted, rep.Rejected)
	}
	if rep.Final[store.ClusterFailed]+rep.Final[store.ClusterDestroyed] == 0 {
		t.Errorf("final statuses %v: want the failed cluster FAILED, or DESTROYED by its DESTROY", rep.Final)
	}
	if !strings.Contains(progress.String(), "done ") {
		t.Errorf("no progress line written: %q", progress.String())
	}
}

func TestSimulationMemory(t *testing.T) {
	t.Parallel()
	simulate(t, memory.New(), 4, 100*time.Millisecond)
}

func TestSimulationPostgres(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	// The test pool is small (postgrestest.PoolMaxConns), so fewer workers
	// and a longer TTL: heartbeats must not queue for a connection past it.
	simulate(t, postgres.New(db.Pool(t)), 2, 400*time.Millisecond)
}

// TestRunRefusesBusyStore: the workers would claim other work, so Run
// refuses a store that already holds unfinished jobs.
func TestRunRefusesBusyStore(t *testing.T) {
	t.Parallel()
	s := memory.New()
	if _, err := seed(t.Context(), s, Config{Clusters: 1, RunID: "busy"}.withDefaults(), &counters{}); err != nil {
		t.Fatal(err)
	}
	_, err := Run(t.Context(), s, Config{Clusters: 1, Workers: 1})
	if err == nil || !strings.Contains(err.Error(), "unfinished jobs") {
		t.Fatalf("Run on a busy store: %v, want a refusal", err)
	}
}

// TestCommandMemory runs the command as `go run` would, with a small fleet.
func TestCommandMemory(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := run([]string{"-clusters", "3", "-workers", "2", "-fault-rate", "0.3", "-seed", "3"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"on memory", "== verification", "all checks passed"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	if strings.Contains(stdout.String(), "\r") {
		t.Error("progress used \\r though stdout is not a terminal")
	}
}

// TestCommandPostgres runs the command on a test database: it creates,
// migrates and drops a schema of its own there.
func TestCommandPostgres(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"-database-url", db.URL, "-clusters", "3", "-workers", "2", "-seed", "3"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "all checks passed") || !strings.Contains(stdout.String(), "schema ocpsim_") {
		t.Errorf("unexpected output:\n%s", stdout.String())
	}
	pool := db.Pool(t)
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'ocpsim\\_%'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d simulation schemas left behind", n)
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-h"}, &stdout, &stderr); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
	for _, f := range []string{"-clusters", "-workers", "-fault-rate", "-seed", "-database-url"} {
		if !strings.Contains(stderr.String(), f) {
			t.Errorf("usage does not explain %s:\n%s", f, stderr.String())
		}
	}
	for _, args := range [][]string{{"-workers", "x"}, {"extra"}, {"-fault-rate", "2"}, {"-workers", "0"}} {
		stderr.Reset()
		if code := run(args, &stdout, &stderr); code != exitSetup {
			t.Errorf("%q: exit %d, want %d", args, code, exitSetup)
		}
	}
}

// The checks must catch what they claim to catch: feed them trails with
// violations.

// ev builds an audit event about job.
func ev(action, job string, md map[string]string) *store.AuditEvent {
	return &store.AuditEvent{Action: action, TargetJobID: &job, Metadata: md}
}

// tok is the metadata of an event carrying fencing token n.
func tok(n string) map[string]string { return map[string]string{"token": n} }

func TestCheckHoldsCatchesViolations(t *testing.T) {
	t.Parallel()
	sc := &seededCluster{Name: "c"}
	for name, events := range map[string][]*store.AuditEvent{
		"two holders":       {ev(store.ActionJobStart, "a", tok("1")), ev(store.ActionJobStart, "b", tok("2"))},
		"token went down":   {ev(store.ActionJobStart, "a", tok("5")), ev(store.ActionJobRetry, "a", tok("5")), ev(store.ActionJobStart, "a", tok("3"))},
		"stale write":       {ev(store.ActionJobStart, "a", tok("1")), ev(store.ActionJobRequeue, "a", nil), ev(store.ActionJobSucceed, "a", tok("1"))},
		"wrong token":       {ev(store.ActionJobStart, "a", tok("2")), ev(store.ActionJobSucceed, "a", tok("1"))},
		"left open":         {ev(store.ActionJobStart, "a", tok("1"))},
		"reject while held": {ev(store.ActionJobStart, "a", tok("1")), ev(store.ActionJobReject, "b", nil)},
	} {
		ck := checkHolds([]*trail{{seeded: sc, events: events}})
		if ck.OK() {
			t.Errorf("%s: not caught", name)
		}
	}
	ok := []*store.AuditEvent{ev(store.ActionJobStart, "a", tok("1")), ev(store.ActionJobRequeue, "a", nil),
		ev(store.ActionJobStart, "a", tok("4")), ev(store.ActionJobSucceed, "a", tok("4")),
		ev(store.ActionJobStart, "b", tok("9")), ev(store.ActionJobFail, "b", tok("9"))}
	if ck := checkHolds([]*trail{{seeded: sc, events: ok}}); !ck.OK() {
		t.Errorf("a valid trail was refused: %v", ck.Problems)
	}
}

func TestCheckTerminalCatchesViolations(t *testing.T) {
	t.Parallel()
	sc := &seededCluster{Name: "c"}
	sc.Jobs = []*seededJob{{ID: "a", Cluster: sc, Type: store.JobCreate}}
	job := func(st store.JobStatus, attempt int) map[string]*store.Job {
		return map[string]*store.Job{"a": {ID: "a", JobType: store.JobCreate, Status: st, Attempt: attempt}}
	}
	start, succeed := ev(store.ActionJobStart, "a", tok("1")), ev(store.ActionJobSucceed, "a", tok("1"))
	for name, tr := range map[string]*trail{
		"not terminal":      {jobs: job(store.JobRunning, 1), events: []*store.AuditEvent{start}},
		"twice terminal":    {jobs: job(store.JobSucceeded, 1), events: []*store.AuditEvent{start, succeed, succeed}},
		"row disagrees":     {jobs: job(store.JobFailed, 1), events: []*store.AuditEvent{start, succeed}},
		"attempts ≠ starts": {jobs: job(store.JobSucceeded, 2), events: []*store.AuditEvent{start, succeed}},
		"missing":           {jobs: map[string]*store.Job{}},
	} {
		tr.seeded = sc
		if ck := checkTerminal([]*trail{tr}); ck.OK() {
			t.Errorf("%s: not caught", name)
		}
	}
	good := &trail{seeded: sc, jobs: job(store.JobSucceeded, 1), events: []*store.AuditEvent{start, succeed}}
	if ck := checkTerminal([]*trail{good}); !ck.OK() {
		t.Errorf("a valid trail was refused: %v", ck.Problems)
	}
}

func TestCheckStateMachineCatchesViolations(t *testing.T) {
	t.Parallel()
	sc := &seededCluster{Name: "c"}
	sc.Jobs = []*seededJob{{ID: "a", Cluster: sc, Type: store.JobCreate}, {ID: "b", Cluster: sc, Type: store.JobHibernate}}
	code := store.ErrCodeInvalidTransition
	jobs := func(a, b store.JobStatus, bRejected bool) map[string]*store.Job {
		jb := &store.Job{ID: "b", JobType: store.JobHibernate, Status: b}
		if bRejected {
			jb.ErrorCode = &code
		}
		return map[string]*store.Job{"a": {ID: "a", JobType: store.JobCreate, Status: a}, "b": jb}
	}
	for name, tc := range map[string]struct {
		jobs   map[string]*store.Job
		status store.ClusterStatus
	}{
		"wrong final status":    {jobs(store.JobSucceeded, store.JobSucceeded, false), store.ClusterReady},
		"ran from FAILED":       {jobs(store.JobFailed, store.JobSucceeded, false), store.ClusterHibernated},
		"rejected though valid": {jobs(store.JobSucceeded, store.JobFailed, true), store.ClusterReady},
	} {
		tr := &trail{seeded: sc, jobs: tc.jobs, cluster: &store.Cluster{Status: tc.status}}
		if ck := checkStateMachine([]*trail{tr}); ck.OK() {
			t.Errorf("%s: not caught", name)
		}
	}
	for _, tc := range []struct {
		jobs   map[string]*store.Job
		status store.ClusterStatus
	}{
		{jobs(store.JobSucceeded, store.JobSucceeded, false), store.ClusterHibernated},
		{jobs(store.JobFailed, store.JobFailed, true), store.ClusterFailed},
		{jobs(store.JobSucceeded, store.JobFailed, false), store.ClusterReady}, // a failed hibernate leaves it READY
	} {
		tr := &trail{seeded: sc, jobs: tc.jobs, cluster: &store.Cluster{Status: tc.status}}
		if ck := checkStateMachine([]*trail{tr}); !ck.OK() {
			t.Errorf("valid outcome refused: %v", ck.Problems)
		}
	}
}

// TestRandomFaultsDeterministic: the plan is a function of the seed.
func TestRandomFaultsDeterministic(t *testing.T) {
	t.Parallel()
	a, b, c := RandomFaults(1, 0.5), RandomFaults(1, 0.5), RandomFaults(2, 0.5)
	same, differ := true, false
	for i := range 200 {
		k := RunKey{Cluster: i % 20, Seq: i / 20, Attempt: 1 + i%3}
		same = same && a(k) == b(k)
		differ = differ || a(k) != c(k)
	}
	if !same || !differ {
		t.Errorf("same seed same plan: %v; different seed different plan: %v", same, differ)
	}
	if f := RandomFaults(1, 0)(RunKey{}); f != FaultNone {
		t.Errorf("rate 0 injected %v", f)
	}
}
