package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// The peer mode measures the store's burn-down against River's, the job
// queue users compare the store with (issue 11): the same number of no-op
// jobs, the same server, fsync as the server has it, each side in a
// database of its own. Every round runs each side once, in an order that
// rotates from round to round, each on a freshly laid queue after a
// checkpoint; every store side is then compared with every River side by
// the median (and range) of the per-round ratios, since only runs close
// in time see the same machine. The store's sides are its drain variants
// (-batches; batch 1 is Claim then Finish per job, through a
// store.Coalescer and/or not as -coalesce says, more is
// ClaimMany+FinishMany) with -workers workers; River's are its client
// with each of -river-workers workers.

// peerSide is one side of the peer mode and its rates over the rounds.
type peerSide struct {
	river   bool         // River, else the store's drain
	workers int          // River's workers, or the store's
	v       drainVariant // the store's
	rates   []float64
}

// result is the side's machine-readable result line at rate jobs per
// second: "river workers=8 jobs_per_sec=N" or the drain's line.
func (s peerSide) result(rate float64) string {
	if s.river {
		return fmt.Sprintf("river workers=%d jobs_per_sec=%.0f", s.workers, rate)
	}
	return drainResult(s.v, s.workers, rate)
}

// name is the side's result line without its rate.
func (s peerSide) name() string {
	line := s.result(0)
	return line[:strings.LastIndex(line, " ")]
}

// runPeer runs the peer mode in databases ocpbench_peer (the store's) and
// ocpbench_river (River's); River's own warnings go to logs.
func runPeer(ctx context.Context, o *options, srv *server, out, logs io.Writer) error {
	q, err := openStoreQueue(ctx, srv, dbPrefix+"peer", o.jobs, o.history, o.profile, out)
	if err != nil {
		return err
	}
	defer q.close(ctx, o.keep)
	r, err := openRiverQueue(ctx, srv, dbPrefix+"river", o.jobs, o.workers, o.profile, out, logs)
	if err != nil {
		return err
	}
	defer r.close(ctx, o.keep)
	var sides []*peerSide
	for _, w := range o.riverWorkers {
		sides = append(sides, &peerSide{river: true, workers: w})
	}
	for _, v := range variantsFor(o.batches, o.coalesce, o.inFlight) {
		sides = append(sides, &peerSide{workers: o.workers, v: v})
	}
	fmt.Fprintf(out, "peer (burn-down, River and the store alternated): %d pre-inserted no-op jobs per run, %d rounds;\n"+
		"  store: database %s, one job per READY cluster, %d workers with a connection each, batch sizes %v (batch 1 coalesced: %s);\n"+
		"  River: database %s, pool of %d connections, workers %v, FetchCooldown %v, FetchPollInterval %v\n",
		o.jobs, o.rounds, q.name, o.workers, o.batches, o.coalesce, r.name, o.workers, o.riverWorkers, riverFetchCooldown, riverFetchPollInterval)
	for round := range o.rounds {
		for j := range sides {
			// Rotate the order of the sides so none always runs first.
			s := sides[(j+round)%len(sides)]
			load0 := loadAverage()
			var elapsed time.Duration
			if s.river {
				elapsed, err = r.run(ctx, s.workers, round == o.rounds-1)
			} else {
				elapsed, err = q.run(ctx, s.workers, s.v, round == o.rounds-1)
			}
			if err != nil {
				return err
			}
			rate := perSecond(int64(o.jobs), elapsed)
			s.rates = append(s.rates, rate)
			fmt.Fprintf(out, "  round %d %-26s %d jobs in %v, %.0f jobs/s (load average %s -> %s)\n", round+1, s.name()+":",
				o.jobs, elapsed.Round(time.Millisecond), rate, load0, loadAverage())
		}
	}
	printPeer(out, sides)
	return nil
}

// printPeer prints each side's median rate and range, its result line,
// and for every store side and every River side the ratio line: the
// median and range of the per-round ratios store / River.
func printPeer(out io.Writer, sides []*peerSide) {
	fmt.Fprintf(out, "\n%-42s %10s %13s\n", "peer (burn-down)", "jobs/s", "range")
	for _, s := range sides {
		fmt.Fprintf(out, "%-42s %10.0f %13s\n", s.name(), median(s.rates), spreadInt(s.rates))
	}
	fmt.Fprintln(out)
	for _, s := range sides {
		fmt.Fprintln(out, s.result(median(s.rates)))
	}
	for _, s := range sides {
		for _, p := range sides {
			if s.river || !p.river {
				continue
			}
			rs := pairRatios(s.rates, p.rates)
			lo, hi := minMax(rs)
			fmt.Fprintf(out, "ratio drain.%s river.workers=%d median=%.3f min=%.3f max=%.3f rounds=%d\n",
				strings.ReplaceAll(s.v.key(s.workers), " ", " drain."), p.workers, median(rs), lo, hi, len(rs))
		}
	}
}

// spreadInt formats the smallest and largest of rates, rounded.
func spreadInt(rates []float64) string {
	lo, hi := minMax(rates)
	return fmt.Sprintf("%.0f-%.0f", lo, hi)
}

// minMax is the smallest and largest of xs (0, 0 for none).
func minMax(xs []float64) (lo, hi float64) {
	for i, x := range xs {
		if i == 0 || x < lo {
			lo = x
		}
		if i == 0 || x > hi {
			hi = x
		}
	}
	return lo, hi
}

// loadAverage is the machine's 1-minute load average (/proc/loadavg), or
// "?" where it cannot be read: other work on the machine disturbs a run,
// and the report shows when.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
