package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/ocpctl/ocpstore/store"
)

// takeJobs is how one worker of the store's burn-down takes work: one call
// claims up to a batch of jobs for worker number worker, finishes each as
// a success, and returns how many it finished (0 when nothing was
// runnable). It is the only thing that differs between the store's
// variants of the burn-down; everything else (the queue, the workers'
// loop, the timing, the verification) is shared.
type takeJobs func(ctx context.Context, worker int) (int, error)

// drainVariant is one way the store's side claims and finishes, with the
// batch size its result lines report.
//
// start builds the takeJobs a run's workers share, on store s for the
// given number of workers, and returns a function that releases what it
// started. The variants here need nothing started, but a variant that
// coalesces concurrent Claim and Finish calls (a worker pool or a
// claimer/completer of the library that claims for all idle workers in
// one statement and completes in batches) starts it in start, calls it in
// the takeJobs it returns and stops it in the returned function, which
// may return a line about the run for the report (or ""): using such an
// API is a new drainVariant, nothing else.
type drainVariant struct {
	batch    int
	coalesce bool // batch 1 through a store.Coalescer
	inFlight int  // the Coalescer's MaxInFlight
	start    func(ctx context.Context, s *store.Store, workers int) (takeJobs, func() string, error)
}

// variantFor is the store's variant for a batch size: 1 is Claim then
// Finish, one job per transaction each (coalesced, through a
// store.Coalescer, unless plain); b > 1 is ClaimMany(b) then FinishMany
// of the whole batch, two transactions per batch.
func variantFor(batch int, plain bool) drainVariant {
	return variantIn(batch, plain, 1)
}

// variantIn is variantFor with the Coalescer's MaxInFlight.
func variantIn(batch int, plain bool, inFlight int) drainVariant {
	switch {
	case batch == 1 && plain:
		return drainVariant{batch: 1, start: startClaimFinish}
	case batch == 1:
		return drainVariant{batch: 1, coalesce: true, inFlight: inFlight,
			start: func(ctx context.Context, s *store.Store, workers int) (takeJobs, func() string, error) {
				return startCoalesced(ctx, s, inFlight)
			}}
	}
	return drainVariant{batch: batch, start: func(ctx context.Context, s *store.Store, workers int) (takeJobs, func() string, error) {
		return startClaimManyFinishMany(ctx, s, workers, batch)
	}}
}

// variantsFor is the variants of the batch sizes: batch 1 coalesced (once
// per MaxInFlight of inFlight), plain, or both (coalesced first), as
// coalesce says ("true", "false", "both"); the larger batches as they
// are.
func variantsFor(batches []int, coalesce string, inFlight []int) []drainVariant {
	var out []drainVariant
	for _, b := range batches {
		for _, k := range inFlight {
			if b == 1 && coalesce != "false" {
				out = append(out, variantIn(1, false, k))
			}
		}
		if b > 1 || coalesce != "true" {
			out = append(out, variantFor(b, true))
		}
	}
	return out
}

// key names the variant in the result lines: "batch=1 workers=8", with
// " coalesce=false" after it for the plain batch 1.
func (v drainVariant) key(workers int) string {
	k := fmt.Sprintf("batch=%d workers=%d", v.batch, workers)
	switch {
	case v.batch == 1 && !v.coalesce:
		k += " coalesce=false"
	case v.coalesce && v.inFlight > 1:
		k += fmt.Sprintf(" in_flight=%d", v.inFlight)
	}
	return k
}

// claimParams are the claim parameters of each of n workers.
func claimParams(n int) []store.ClaimParams {
	ps := make([]store.ClaimParams, n)
	for w := range ps {
		ps[w] = store.ClaimParams{WorkerID: "worker-" + strconv.Itoa(w), LockTTL: drainTTL}
	}
	return ps
}

// startClaimFinish is the batch=1 variant: each worker calls Claim, then
// Finish with a success.
func startClaimFinish(_ context.Context, s *store.Store, workers int) (takeJobs, func() string, error) {
	ps := claimParams(workers)
	take := func(ctx context.Context, worker int) (int, error) {
		c, err := s.Claim(ctx, ps[worker])
		if errors.Is(err, store.ErrNoJob) {
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("claim: %w", err)
		}
		if _, err := s.Finish(ctx, c.Lock, store.Succeeded(nil)); err != nil {
			return 0, fmt.Errorf("finish: %w", err)
		}
		return 1, nil
	}
	return take, func() string { return "" }, nil
}

// startCoalesced is the coalesced batch=1 variant: each worker calls
// Claim, then Finish with a success, on one store.Coalescer the workers
// share, which sends the concurrent calls as one ClaimMany and one
// FinishMany. The workers share one WorkerID, the process's, as they must
// to coalesce (see store.Coalescer).
func startCoalesced(_ context.Context, s *store.Store, inFlight int) (takeJobs, func() string, error) {
	co, err := store.NewCoalescer(s, store.CoalescerOptions{MaxInFlight: inFlight})
	if err != nil {
		return nil, nil, err
	}
	p := store.ClaimParams{WorkerID: "bench-process", LockTTL: drainTTL}
	take := func(ctx context.Context, _ int) (int, error) {
		c, err := co.Claim(ctx, p)
		if errors.Is(err, store.ErrNoJob) {
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("claim: %w", err)
		}
		if _, err := co.Finish(ctx, c.Lock, store.Succeeded(nil)); err != nil {
			return 0, fmt.Errorf("finish: %w", err)
		}
		return 1, nil
	}
	return take, func() string {
		co.Close()
		st := co.Stats()
		return fmt.Sprintf("coalescer: %d claims in %d ClaimMany (%.1f per call), %d finishes in %d FinishMany (%.1f per call)",
			st.Claims, st.ClaimBatches, float64(st.Claims)/float64(max(st.ClaimBatches, 1)),
			st.Finishes, st.FinishBatches, float64(st.Finishes)/float64(max(st.FinishBatches, 1)))
	}, nil
}

// startClaimManyFinishMany is the batched variant: each worker calls
// ClaimMany(batch), then FinishMany with a success for every job claimed.
func startClaimManyFinishMany(_ context.Context, s *store.Store, workers, batch int) (takeJobs, func() string, error) {
	ps := claimParams(workers)
	take := func(ctx context.Context, worker int) (int, error) {
		cs, err := s.ClaimMany(ctx, ps[worker], batch)
		if errors.Is(err, store.ErrNoJob) {
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("claim many: %w", err)
		}
		items := make([]store.Completion, len(cs))
		for i, c := range cs {
			items[i] = store.Completion{Lock: c.Lock, Outcome: store.Succeeded(nil)}
		}
		_, errs, err := s.FinishMany(ctx, items)
		if err != nil {
			return 0, fmt.Errorf("finish many: %w", err)
		}
		for i, e := range errs {
			if e != nil {
				return 0, fmt.Errorf("finish many, job %s: %w", cs[i].Job.ID, e)
			}
		}
		return len(cs), nil
	}
	return take, func() string { return "" }, nil
}
