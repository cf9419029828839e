package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// loadResult is what a closed-loop load run counted.
type loadResult struct {
	Calls   int64         // operations run (the analogue of pgbench's transactions)
	Done    int64         // operations that did their work (a lock taken, a job finished)
	Elapsed time.Duration // from the first call to the end of the last
	CPU     time.Duration // this process's CPU time (user and system) meanwhile
}

// TPS is calls per second.
func (r loadResult) TPS() float64 { return perSecond(r.Calls, r.Elapsed) }

// op is one operation of client number client; it reports how many units
// of work it did (0 when, say, the queue was empty).
type op func(ctx context.Context, client int) (int, error)

// runLoad runs clients goroutines, each calling op in a closed loop, as
// pgbench's clients run their script, until d has passed. Calls in flight
// at the deadline complete (with ctx, not a cancelled one), like pgbench's
// last transactions. The first error stops the run.
func runLoad(ctx context.Context, clients int, d time.Duration, f op) (loadResult, error) {
	var calls, done atomic.Int64
	var once sync.Once
	var firstErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cpu0 := processCPU()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				n, err := f(ctx, c)
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("client %d: %w", c, err); cancel() })
					return
				}
				calls.Add(1)
				done.Add(int64(n))
			}
		})
	}
	wg.Wait()
	return loadResult{Calls: calls.Load(), Done: done.Load(), Elapsed: time.Since(start), CPU: processCPU() - cpu0}, firstErr
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// perSecond is n per second of d.
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// median returns the median of xs (the mean of the middle two for an even
// count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// medianDuration is median for durations.
func medianDuration(ds []time.Duration) time.Duration {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(median(xs))
}

// ratio is a/b, 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
