package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// Queue drain: how fast W workers empty a queue of N no-op day-2 jobs
// (drainPerCluster per READY cluster, so jobs of one cluster wait for each
// other), claiming and finishing one job at a time (Claim + Finish, two
// transactions per job) or a batch at a time (ClaimMany + FinishMany, two
// transactions per batch).
const (
	drainJobs       = 2000
	drainPerCluster = 4
	drainWorkers    = 4
	drainBatch      = 50
)

// BenchmarkQueueDrain reports each way's throughput (jobs/s) in "one" and
// "batch", and in "paired", which drains one queue each way per iteration
// (alternating which goes first), both throughputs and the speedup of
// batches (batch/one, a ratio of the two throughputs measured side by
// side). The queue is set up untimed before each drain.
func BenchmarkQueueDrain(b *testing.B) {
	e := newBenchEnv(b)
	cfg, err := postgres.DefaultConfig(e.db.URL)
	if err != nil {
		b.Fatal(err)
	}
	cfg.PoolConfig.MaxConns = drainWorkers + 1
	pool, err := postgres.NewPool(e.ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	s := postgres.New(pool)

	one := func(ctx context.Context, worker string, done *atomic.Int64) error {
		c, err := s.Claim(ctx, store.ClaimParams{WorkerID: worker, LockTTL: time.Minute})
		if err != nil {
			return err
		}
		if _, err := s.Finish(ctx, c.Lock, store.Succeeded(nil)); err != nil {
			return err
		}
		done.Add(1)
		return nil
	}
	batch := func(ctx context.Context, worker string, done *atomic.Int64) error {
		cs, err := s.ClaimMany(ctx, store.ClaimParams{WorkerID: worker, LockTTL: time.Minute}, drainBatch)
		if err != nil {
			return err
		}
		items := make([]store.Completion, len(cs))
		for i, c := range cs {
			items[i] = store.Completion{Lock: c.Lock, Outcome: store.Succeeded(nil)}
		}
		_, errs, err := s.FinishMany(ctx, items)
		if err != nil {
			return err
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		done.Add(int64(len(cs)))
		return nil
	}
	// drain sets up a queue (untimed), then empties it with drainWorkers
	// workers each calling step until every job is done, and returns how
	// long that took. A worker that finds nothing runnable while jobs
	// remain (blocked behind jobs other workers hold) tries again.
	drain := func(b *testing.B, step func(context.Context, string, *atomic.Int64) error) time.Duration {
		b.StopTimer()
		clusters := e.copyClusters(b, drainJobs/drainPerCluster, func(int) store.ClusterStatus { return store.ClusterReady })
		e.copyJobs(b, clusters, drainPerCluster, store.JobPostConfigure)
		e.vacuum(b)
		b.StartTimer()
		var done atomic.Int64
		errs := make([]error, drainWorkers)
		start := time.Now()
		var wg sync.WaitGroup
		for w := range drainWorkers {
			wg.Go(func() {
				worker := fmt.Sprintf("drain-%d", w)
				for done.Load() < drainJobs {
					if err := step(e.ctx, worker, &done); err != nil && !errors.Is(err, store.ErrNoJob) {
						errs[w] = err
						return
					}
				}
			})
		}
		wg.Wait()
		took := time.Since(start)
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
		return took
	}
	throughput := func(n int, d time.Duration) float64 { return float64(n*drainJobs) / d.Seconds() }

	b.Run("one", func(b *testing.B) {
		var took time.Duration
		for range b.N {
			took += drain(b, one)
		}
		b.ReportMetric(throughput(b.N, took), "jobs/s")
	})
	b.Run("batch", func(b *testing.B) {
		var took time.Duration
		for range b.N {
			took += drain(b, batch)
		}
		b.ReportMetric(throughput(b.N, took), "jobs/s")
	})
	b.Run("paired", func(b *testing.B) {
		var inOne, inBatch time.Duration
		for i := range b.N {
			if i%2 == 0 {
				inOne += drain(b, one)
				inBatch += drain(b, batch)
			} else {
				inBatch += drain(b, batch)
				inOne += drain(b, one)
			}
		}
		b.ReportMetric(throughput(b.N, inOne), "one-jobs/s")
		b.ReportMetric(throughput(b.N, inBatch), "batch-jobs/s")
		b.ReportMetric(inOne.Seconds()/inBatch.Seconds(), "batch/one")
	})
}
