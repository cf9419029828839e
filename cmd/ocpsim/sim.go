package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// Config describes one simulation. The zero value of every field but
// Clusters and Workers has a default (see withDefaults).
type Config struct {
	Clusters  int     // clusters to seed, each with a CREATE job and follow-ups
	Workers   int     // concurrent workers claiming jobs
	FaultRate float64 // probability that one run of a job meets a fault
	Seed      uint64  // drives the seeded job mix and the fault plan

	LockTTL  time.Duration // the cluster lock's TTL; heartbeats extend it every LockTTL/3
	WorkMin  time.Duration // shortest simulated work per job run
	WorkMax  time.Duration // longest simulated work per job run
	Timeout  time.Duration // the whole run, seeding to verification
	RunID    string        // namespaces the seeded names and team; random when empty
	Plan     FaultPlan     // which runs meet which fault; RandomFaults(Seed, FaultRate) when nil
	Progress io.Writer     // where progress goes; nil for none
	Live     bool          // progress as one line rewritten with \r (a terminal)
}

// withDefaults returns c with its unset fields defaulted.
func (c Config) withDefaults() Config {
	if c.LockTTL <= 0 {
		c.LockTTL = 300 * time.Millisecond
	}
	if c.WorkMax <= 0 {
		c.WorkMin, c.WorkMax = 100*time.Millisecond, 400*time.Millisecond
	}
	if c.WorkMin <= 0 || c.WorkMin > c.WorkMax {
		c.WorkMin = c.WorkMax / 4
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Minute
	}
	if c.RunID == "" {
		var b [3]byte
		_, _ = rand.Read(b[:])
		c.RunID = hex.EncodeToString(b[:])
	}
	if c.Plan == nil {
		c.Plan = RandomFaults(c.Seed, c.FaultRate)
	}
	return c
}

// Refusal is a late Finish the store refused: a worker stalled past its
// lock's expiry, the janitor requeued its job, and when the worker came back
// its fencing token was no longer current.
type Refusal struct {
	Worker      string
	JobID       string
	ClusterID   string
	ClusterName string
	JobType     store.JobType
	StaleToken  int64
	Superseding int64 // the next token granted on the cluster (from the audit trail); 0 if none
	Err         error // matches store.ErrLockLost
}

// counters are the simulation's live tallies, updated by the workers and
// the janitor and read by the progress display.
type counters struct {
	claims     atomic.Int64 // successful Claims
	transient  atomic.Int64 // runs finished with store.Retry
	stalls     atomic.Int64 // runs whose worker stalled past its lock
	cancels    atomic.Int64 // runs whose job context was cancelled
	lockLost   atomic.Int64 // runs stopped because the heartbeat lost the lock
	requeued   atomic.Int64 // jobs the janitor requeued or abandoned
	refusals   atomic.Int64 // late Finishes refused with store.ErrLockLost
	unexpected atomic.Int64 // store errors no fault explains

	rodeOut         atomic.Int64 // store.ErrUnavailable errors waited out (see unavailable.go)
	unknownOutcomes atomic.Int64 // of them, writes that may have been applied (store.ErrCommitUnknown)

	mu       sync.Mutex
	refused  []Refusal
	failures []error // the first unexpected errors, for the report
}

// maxRecordedErrors bounds the unexpected errors the report lists.
const maxRecordedErrors = 10

// fail records an error no fault explains; it makes the run fail.
func (c *counters) fail(err error) {
	c.unexpected.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.failures) < maxRecordedErrors {
		c.failures = append(c.failures, err)
	}
}

// refuse records a refused late Finish.
func (c *counters) refuse(r Refusal) {
	c.refusals.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refused = append(c.refused, r)
}

// Run seeds s with cfg.Clusters clusters and their jobs, runs cfg.Workers
// workers and a janitor until every seeded job is terminal (or cfg.Timeout
// passes), then verifies the outcome from the store's rows and audit trail.
// The returned Report says what happened and whether every check passed
// (Report.OK). An error means the simulation could not run at all.
//
// Run claims every runnable job in s, so s must hold no other work: a fresh
// memory store, or a fresh PostgreSQL database or schema.
func Run(ctx context.Context, s *store.Store, cfg Config) (*Report, error) {
	if cfg.Clusters < 1 || cfg.Workers < 1 {
		return nil, errors.New("need at least one cluster and one worker")
	}
	if cfg.FaultRate < 0 || cfg.FaultRate > 1 {
		return nil, fmt.Errorf("fault rate %v is not between 0 and 1", cfg.FaultRate)
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	var c counters
	var before jobCounts
	err := retry(ctx, &c, func() (err error) { before, err = countJobs(ctx, s); return err })
	if err != nil {
		return nil, err
	}
	if n := before.active(); n > 0 {
		return nil, fmt.Errorf("the store already holds %d unfinished jobs; run on a fresh store (a new database or schema)", n)
	}
	sd, err := seed(ctx, s, cfg, &c)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	start := time.Now()
	stopped := runFleet(ctx, s, cfg, sd, &c)
	elapsed := time.Since(start)

	// Verify with a context of its own: the run's may have timed out.
	vctx, vcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer vcancel()
	rep := newReport(cfg, &c, elapsed, stopped)
	rep.runChecks()
	if err := verify(vctx, s, sd, rep, &c); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	rep.RodeOut, rep.UnknownOutcomes = c.rodeOut.Load(), c.unknownOutcomes.Load() // the verifier's too
	return rep, nil
}

// runFleet runs the workers, the janitor and the progress display until
// every seeded job is terminal. If ctx ends first (the timeout, an
// interrupt) it returns why.
func runFleet(ctx context.Context, s *store.Store, cfg Config, sd *seeded, c *counters) (stopped error) {
	// claimCtx stops the claim loops; work already claimed (a stalled
	// worker's late Finish included) still completes under ctx.
	claimCtx, stopClaiming := context.WithCancel(ctx)
	defer stopClaiming()
	janitorCtx, stopJanitor := context.WithCancel(ctx)
	defer stopJanitor()

	var workers, janitors sync.WaitGroup
	for i := range cfg.Workers {
		w := newWorker(i, s, cfg, c)
		workers.Go(func() { w.loop(ctx, claimCtx) })
	}
	janitors.Go(func() { janitor(janitorCtx, s, cfg.LockTTL/3, c) })

	prog := newProgress(cfg.Progress, cfg.Live, len(sd.jobs), c)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		if snap, err := countJobs(ctx, s); err == nil {
			prog.update(snap)
			if snap.active() == 0 {
				break wait
			}
		}
		select {
		case <-ctx.Done():
			stopped = context.Cause(ctx)
			break wait
		case <-tick.C:
		}
	}
	stopClaiming()
	workers.Wait()
	stopJanitor()
	janitors.Wait()
	if snap, err := countJobs(context.WithoutCancel(ctx), s); err == nil {
		prog.update(snap)
	}
	prog.finish()
	return stopped
}
