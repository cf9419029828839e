package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/ocpctl/ocpstore/store"
)

// ErrTortureViolation marks a torture run that caught the backend breaking
// the lock contract: a history no sequential execution of the model
// explains, or two holders whose tokens were current at overlapping times.
// Other errors from Torture are failures to run (an unexpected store error,
// a check that timed out).
var ErrTortureViolation = errors.New("lock contract violated")

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
