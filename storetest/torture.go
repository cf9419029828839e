package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/ocpctl/ocpstore/store"
)

// Environment variables that make RunTorture run long.
const (
	// EnvTortureDuration ("3m", any time.ParseDuration string) runs rounds
	// until that much wall time has passed. Give go test a -timeout above it.
	EnvTortureDuration = "OCPSTORE_TORTURE_DURATION"
	// EnvTortureOps runs that many worker actions (DefaultTortureOps
	// otherwise). With EnvTortureDuration, whichever limit comes first.
	EnvTortureOps = "OCPSTORE_TORTURE_OPS"
	// EnvTortureSeed seeds the workers' random choices, to replay a run's
	// choices (not its interleaving, which the scheduler decides).
	EnvTortureSeed = "OCPSTORE_TORTURE_SEED"
)

// DefaultTortureOps is the worker actions of a run without limits: the
// short run of go test ./..., under a second on memory and a few seconds on
// PostgreSQL.
const DefaultTortureOps = 4000

// ErrTortureViolation marks a torture run that caught the backend breaking
// the lock contract: a history no sequential execution of the model
// explains, or two holders whose tokens were current at overlapping times.
// Other errors from Torture are failures to run (an unexpected store error,
// a check that timed out).
var ErrTortureViolation = errors.New("lock contract violated")

// TortureConfig sizes a torture run. Zero fields take their defaults.
type TortureConfig struct {
	Workers        int // goroutines, split over the two handles; default 8
	Clusters       int // clusters contended for; default 3
	JobsPerCluster int // jobs on each cluster, at most 8; default 3
	// Ops stops the run after this many worker actions (operations and
	// clock moves); Duration stops it after this much wall time, at the
	// end of a round. Both zero means Ops = DefaultTortureOps.
	Ops      int
	Duration time.Duration
	// RoundOps is the worker actions of one round (default 1000). Each
	// round ends with every worker idle; the state is then read back, the
	// round's history checked, and the next round starts from that state,
	// so a long run's checks cost memory and time in proportion to a round.
	RoundOps int
	// CheckTimeout bounds porcupine's check of one round (default 1m); a
	// check that times out fails the run without a verdict.
	CheckTimeout time.Duration
	// Seed seeds the workers' random choices; 0 picks one (reported in
	// the result).
	Seed uint64
	// VisualizationDir, when set, is where a violation's porcupine
	// visualization (an HTML file) is written; its path is in the error.
	VisualizationDir string
}

func (c TortureConfig) withDefaults() TortureConfig {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Workers, 8)
	def(&c.Clusters, 3)
	def(&c.JobsPerCluster, 3)
	def(&c.RoundOps, 1000)
	if c.Ops == 0 && c.Duration == 0 {
		c.Ops = DefaultTortureOps
	}
	if c.CheckTimeout == 0 {
		c.CheckTimeout = time.Minute
	}
	if c.Seed == 0 {
		c.Seed = rand.Uint64()
	}
	return c
}

func (c TortureConfig) validate() error {
	switch {
	case c.Workers < 2:
		return fmt.Errorf("torture: %d workers, want at least 2", c.Workers)
	case c.Clusters < 1:
		return fmt.Errorf("torture: %d clusters, want at least 1", c.Clusters)
	case c.JobsPerCluster < 1 || c.JobsPerCluster > maxTortureJobs:
		return fmt.Errorf("torture: %d jobs per cluster, want 1 to %d", c.JobsPerCluster, maxTortureJobs)
	case c.Ops < 0 || c.Duration < 0 || c.RoundOps < 1 || c.CheckTimeout < 0:
		return fmt.Errorf("torture: negative limits in %+v", c)
	}
	return nil
}

// TortureCount counts one kind of operation by outcome.
type TortureCount struct {
	OK int
	// Refused counts the refusals the contract prescribes: ErrLockHeld
	// (Acquire), ErrLockLost (Extend, Release, MarkRetry),
	// ErrInvalidStateTransition (MarkStarted), ErrNotFound (Get of a free
	// cluster's lock).
	Refused int
}

// TortureResult is what a torture run did. Every operation it counts was
// checked.
type TortureResult struct {
	Seed    uint64        // the seed of the workers' choices
	Rounds  int           // rounds run and checked
	Ops     int           // store calls recorded and checked, the end-of-round reads included
	Elapsed time.Duration // wall time, checks included

	Acquire, Extend, Release, MarkRetry, MarkStarted TortureCount
	GetLock, GetJob, DeleteExpired                   TortureCount

	// From the linearizations the checker found:
	Grants     int // Acquires that granted a free cluster's lock (new token)
	Takeovers  int // Acquires that took over another holder's expired lock (new token)
	Renewals   int // Acquires by the holder itself (same token)
	Superseded int // Extend, Release and MarkRetry refused because a larger token had been granted

	ExpiredDeleted int64 // rows DeleteExpired deleted
	ClockMoves     int   // moves of the ManualClock
	PastTTL        int   // ... of them longer than every TTL: every lock expired
	Aborted        int   // calls that failed with ErrSerialization (and changed nothing)
}

// String summarizes the result on a few lines.
func (r TortureResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d operations checked in %d rounds in %v (seed %d)\n", r.Ops, r.Rounds, r.Elapsed.Round(time.Millisecond), r.Seed)
	for _, k := range []struct {
		name string
		c    TortureCount
	}{{"Acquire", r.Acquire}, {"Extend", r.Extend}, {"Release", r.Release}, {"MarkRetry (fenced)", r.MarkRetry},
		{"MarkStarted", r.MarkStarted}, {"Get lock", r.GetLock}, {"Get job", r.GetJob}, {"DeleteExpired", r.DeleteExpired}} {
		fmt.Fprintf(&b, "  %-19s %7d ok %7d refused\n", k.name, k.c.OK, k.c.Refused)
	}
	fmt.Fprintf(&b, "  grants %d, expiry takeovers %d, renewals %d, stale holders refused %d, expired rows deleted %d\n",
		r.Grants, r.Takeovers, r.Renewals, r.Superseded, r.ExpiredDeleted)
	fmt.Fprintf(&b, "  clock moves %d (%d past every TTL), serialization failures %d", r.ClockMoves, r.PastTTL, r.Aborted)
	return b.String()
}

// tortureCluster is a cluster of the run and its jobs' IDs.
type tortureCluster struct {
	id   string
	jobs []string
}

// tortureRun is one run of Torture.
type tortureRun struct {
	cfg      TortureConfig
	clock    tortureClock
	base     time.Time // the clock's reading at the start: time 0 of the model
	clusters []tortureCluster
	jobs     map[string][2]int // job ID -> cluster index, job index
	workers  map[string]int    // worker ID -> worker index

	// Counters every worker shares: in this process's memory, or in
	// memory shared by the processes of RunTortureProcesses.
	stamp   *atomic.Int64 // the logical time of calls and returns
	budget  *atomic.Int64 // worker actions left in the round
	pastTTL *atomic.Int64 // clock moves past every TTL

	model    porcupine.Model
	evidence []tortureEvidence // per cluster, across rounds (see checkOverlap)
	granted  []int64           // per cluster: the largest token any Acquire returned
	result   TortureResult
}

// Torture is the linearizability torture test of the lock contract
// (JobLockStore, with the fenced job writes). Workers goroutines, half on
// primary and half on secondary (two processes on one database), contend
// for the locks of a few clusters with random Acquire, Extend, Release,
// MarkRetry (a fenced write), MarkStarted, Get, DeleteExpired, moves of
// clock past the TTLs, and locks kept after they were lost to play stale
// holders. Both stores must use clock and share fresh or unrelated data
// (Torture creates its own clusters and jobs).
//
// Every call is recorded with logical call and return times and the clock
// window around it, and each round's history is checked two ways:
//
//   - With porcupine, cluster by cluster, against a sequential model of one
//     cluster's lock and jobs (see torture_model.go): one holder; renewal
//     by the holder keeps the token; a grant of a free or expired lock gets
//     a token above every token the cluster ever had; another holder's
//     live lock is ErrLockHeld; Extend, Release and fenced writes succeed
//     with the current token only (even after expiry if nobody took over);
//     DeleteExpired removes expired rows. Each call may use any clock
//     reading inside its window.
//   - Independently, no two holders' intervals overlap (checkOverlap).
//
// It returns what it did and, when a check fails, an error matching
// ErrTortureViolation that describes the violation with an excerpt of the
// history (and the visualization's path, see VisualizationDir).
func Torture(ctx context.Context, primary, secondary *store.Store, clock *store.ManualClock, cfg TortureConfig) (TortureResult, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return TortureResult{}, err
	}
	began := time.Now()
	r := &tortureRun{cfg: cfg, clock: clock, base: clock.Now(), jobs: map[string][2]int{}, workers: map[string]int{},
		model: tortureModel(cfg.Clusters), evidence: make([]tortureEvidence, cfg.Clusters),
		granted: make([]int64, cfg.Clusters), result: TortureResult{Seed: cfg.Seed},
		stamp: new(atomic.Int64), budget: new(atomic.Int64), pastTTL: new(atomic.Int64)}
	states, err := r.setUp(ctx, primary)
	if err != nil {
		return r.result, err
	}
	workers := make([]*tortureWorker, cfg.Workers)
	for i := range workers {
		name := fmt.Sprintf("torture-w%d", i)
		r.workers[name] = i
		s := primary
		if i%2 == 1 {
			s = secondary
		}
		workers[i] = &tortureWorker{r: r, id: i, name: name, s: s, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)))}
	}
	done := 0
	for cfg.Ops == 0 || done < cfg.Ops {
		if cfg.Duration > 0 && time.Since(began) >= cfg.Duration {
			break
		}
		n := cfg.RoundOps
		if cfg.Ops > 0 {
			n = min(n, cfg.Ops-done)
		}
		done += n
		states, err = r.round(ctx, primary, workers, states, n)
		r.result.Elapsed = time.Since(began)
		if err != nil {
			return r.result, fmt.Errorf("torture round %d: %w", r.result.Rounds+1, err)
		}
		r.result.Rounds++
	}
	return r.result, nil
}

// setUp creates the clusters and jobs and returns their states.
func (r *tortureRun) setUp(ctx context.Context, s *store.Store) ([]tortureState, error) {
	states := make([]tortureState, r.cfg.Clusters)
	for c := range r.cfg.Clusters {
		cl := validCluster(withStatus(store.ClusterReady))
		if err := s.Clusters.Create(ctx, cl); err != nil {
			return nil, fmt.Errorf("torture: create cluster: %w", err)
		}
		tc := tortureCluster{id: cl.ID}
		states[c].ready = true
		for j := range r.cfg.JobsPerCluster {
			job := &store.Job{ClusterID: cl.ID, JobType: store.JobPostConfigure}
			if err := s.Jobs.Create(ctx, job); err != nil {
				return nil, fmt.Errorf("torture: create job: %w", err)
			}
			tc.jobs = append(tc.jobs, job.ID)
			r.jobs[job.ID] = [2]int{c, j}
			states[c].jobs[j] = tortureJob{status: job.Status, attempts: job.Attempt, at: r.micros(job.UpdatedAt)}
		}
		r.clusters = append(r.clusters, tc)
	}
	return states, nil
}

// round runs n worker actions from states, reads the end states back, and
// checks the round's history.
func (r *tortureRun) round(ctx context.Context, s *store.Store, workers []*tortureWorker, states []tortureState, n int) ([]tortureState, error) {
	var history []porcupine.Operation
	for c, st := range states {
		st.maxToken = max(st.maxToken, r.granted[c])
		t := r.stamp.Add(1)
		history = append(history, porcupine.Operation{ClientId: len(workers),
			Input: tortureInput{kind: tkInit, cluster: c, init: st}, Call: t, Output: tortureOutput{}, Return: t})
	}
	r.budget.Store(int64(n))
	errs := make([]error, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		w.ops, w.moves = w.ops[:0], w.moves[:0]
		wg.Go(func() {
			for r.budget.Add(-1) >= 0 {
				if err := w.step(ctx); err != nil {
					errs[i] = err
					r.budget.Store(-1 << 40) // stop the others
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var moves []tortureMove
	for _, w := range workers {
		history = append(history, w.ops...)
		moves = append(moves, w.moves...)
	}
	end, next, err := r.observe(ctx, s, len(workers))
	if err != nil {
		return nil, err
	}
	history = append(history, end...)
	r.result.ClockMoves += len(moves)
	r.result.PastTTL = int(r.pastTTL.Load())
	if err := r.check(history, moves); err != nil {
		return nil, err
	}
	return next, nil
}

// observe reads every cluster's lock and jobs while no worker runs, as
// operations of the history (so the check compares them with the model's
// end state), and returns the states read: the next round's start.
func (r *tortureRun) observe(ctx context.Context, s *store.Store, client int) ([]porcupine.Operation, []tortureState, error) {
	var ops []porcupine.Operation
	states := make([]tortureState, len(r.clusters))
	add := func(in tortureInput, out tortureOutput, err error) error {
		if err != nil {
			return fmt.Errorf("read back cluster %d: %w", in.cluster, err)
		}
		t := r.stamp.Add(1)
		in.lo, in.hi = r.now(), r.now()
		ops = append(ops, porcupine.Operation{ClientId: client, Input: in, Call: t, Output: out, Return: r.stamp.Add(1)})
		return nil
	}
	for c, cl := range r.clusters {
		l, err := s.JobLocks.Get(ctx, cl.id)
		out, err := r.lockOutput(c, l, err)
		if err == nil && out.res == trAborted {
			err = errors.New("serialization failure reading the lock back")
		}
		if err := add(tortureInput{kind: tkGetLock, cluster: c, worker: client}, out, err); err != nil {
			return nil, nil, err
		}
		st := tortureState{ready: true, held: out.res == trOK, lock: out.lock}
		if st.held {
			st.maxToken = out.lock.token
		}
		for j, id := range cl.jobs {
			job, err := s.Jobs.GetByID(ctx, id)
			out, err := r.jobOutput(c, j, job, err)
			if err == nil && out.res == trAborted {
				err = errors.New("serialization failure reading a job back")
			}
			if err := add(tortureInput{kind: tkGetJob, cluster: c, job: j, worker: client}, out, err); err != nil {
				return nil, nil, err
			}
			st.jobs[j] = out.job
		}
		states[c] = st
	}
	return ops, states, nil
}

// now is the clock's reading in the model's time.
func (r *tortureRun) now() int64 { return r.micros(r.clock.Now()) }

// micros converts a backend time to the model's time.
func (r *tortureRun) micros(t time.Time) int64 { return t.Sub(r.base).Microseconds() }

// where returns the cluster and job indexes of a lock the store handed out.
func (r *tortureRun) where(l *store.JobLock) (int, int) {
	ix := r.jobs[l.JobID]
	return ix[0], ix[1]
}

// lockInput is the input of an operation that uses lock l.
func (r *tortureRun) lockInput(kind tortureKind, l *store.JobLock) tortureInput {
	c, j := r.where(l)
	return tortureInput{kind: kind, cluster: c, job: j, worker: r.workers[l.LockedBy], token: l.Token}
}

// lockOutput turns a lock the store returned for cluster c into the
// model's terms; an answer that names another cluster, an unknown job or
// worker, or no lock without an error is trBad.
func (r *tortureRun) lockOutput(c int, l *store.JobLock, err error) (tortureOutput, error) {
	res, err := tortureResult(err)
	if err != nil || res != trOK {
		return tortureOutput{res: res}, err
	}
	if l == nil {
		return tortureOutput{res: trBad, why: "no lock and no error"}, nil
	}
	ix, okJob := r.jobs[l.JobID]
	w, okWorker := r.workers[l.LockedBy]
	if l.ClusterID != r.clusters[c].id || !okJob || ix[0] != c || !okWorker {
		return tortureOutput{res: trBad, why: fmt.Sprintf("lock %+v is not one of cluster %d's jobs and workers", *l, c)}, nil
	}
	return tortureOutput{res: trOK, lock: tortureLock{job: ix[1], worker: w, token: l.Token,
		lockedAt: r.micros(l.LockedAt), expires: r.micros(l.ExpiresAt)}}, nil
}

// jobOutput turns job j of cluster c as the store returned it into the
// model's terms.
func (r *tortureRun) jobOutput(c, j int, job *store.Job, err error) (tortureOutput, error) {
	res, err := tortureResult(err)
	if err != nil || res != trOK {
		return tortureOutput{res: res}, err
	}
	if job == nil || job.ID != r.clusters[c].jobs[j] {
		return tortureOutput{res: trBad, why: fmt.Sprintf("got job %+v, want job %d of cluster %d", job, j, c)}, nil
	}
	return tortureOutput{res: trOK, job: tortureJob{status: job.Status, attempts: job.Attempt, at: r.micros(job.UpdatedAt)}}, nil
}

// RunTorture runs Torture on the stores of newStores as a test: a short run
// by default, a long one when EnvTortureDuration or EnvTortureOps says so.
// It logs what the run did and fails the test on a violation, naming the
// file (in os.TempDir, kept) with porcupine's visualization of the round.
func RunTorture(t *testing.T, newStores Factory) {
	t.Helper()
	cfg, err := tortureConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if deadline, ok := t.Deadline(); ok && cfg.Duration > 0 && time.Until(deadline) < cfg.Duration+time.Minute {
		t.Fatalf("%s=%v needs a go test -timeout of more than %v", EnvTortureDuration, cfg.Duration, cfg.Duration+time.Minute)
	}
	cfg.VisualizationDir = os.TempDir()
	clock := store.NewManualClock(epoch)
	s, s2 := newStores(t, clock)
	res, err := Torture(t.Context(), s, s2, clock, cfg)
	t.Logf("torture: %v", res)
	if err != nil {
		t.Fatalf("torture: %v", err)
	}
}

// tortureConfigFromEnv reads EnvTortureDuration, EnvTortureOps and
// EnvTortureSeed.
func tortureConfigFromEnv() (TortureConfig, error) {
	var cfg TortureConfig
	if v := os.Getenv(EnvTortureDuration); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return cfg, fmt.Errorf("%s=%q: want a positive duration such as 3m", EnvTortureDuration, v)
		}
		cfg.Duration = d
	}
	if v := os.Getenv(EnvTortureOps); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return cfg, fmt.Errorf("%s=%q: want a positive number of operations", EnvTortureOps, v)
		}
		cfg.Ops = n
	}
	if v := os.Getenv(EnvTortureSeed); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return cfg, fmt.Errorf("%s=%q: want a positive integer", EnvTortureSeed, v)
		}
		cfg.Seed = n
	}
	return cfg, nil
}
