package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// claimMarker identifies the claim query (JobStore.LockRunnable) among the
// statements the store sends.
const claimMarker = "SKIP LOCKED"

// queuePending adds flatPending READY clusters with a pending day-2 job
// each to pool's database: the same rows in the big and the small
// database, created now, so they sort after the generated history.
func queuePending(ctx context.Context, pool *pgxpool.Pool) error {
	now := time.Now().UTC()
	const k0 = 10_000_000 // names and IDs apart from the generated clusters'
	err := copyRows(ctx, pool, "clusters", clusterCopyColumns, flatPending, func(i int, vals []any) {
		clusterRow(vals, k0+i, genID(store.PrefixCluster+"p", i), store.ClusterReady, now)
	})
	if err != nil {
		return err
	}
	err = copyRows(ctx, pool, "jobs", jobCopyColumns, flatPending, func(i int, vals []any) {
		pendingJobRow(vals, genID(store.PrefixJob+"p", i), genID(store.PrefixCluster+"p", i),
			now.Add(time.Duration(i)*time.Microsecond))
	})
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, "ANALYZE clusters, jobs")
	return err
}

// claims compares Claim, and Finish, with flatPending pending jobs on the
// big dataset and on near-empty tables (small holds only the pending jobs
// and their clusters), and prints the claim query's plan on the big one.
func (f *flat) claims(ctx context.Context, small *pgxpool.Pool) error {
	for _, p := range []*pgxpool.Pool{f.big, small} {
		if err := queuePending(ctx, p); err != nil {
			return err
		}
	}
	smallStore := postgres.New(small)
	p := store.ClaimParams{WorkerID: "bench", LockTTL: time.Minute}
	var smallLocks, bigLocks []*store.JobLock
	claim := func(s *store.Store, locks *[]*store.JobLock) func() error {
		return func() error {
			c, err := s.Claim(ctx, p)
			if err != nil {
				return err
			}
			if !strings.HasPrefix(c.Cluster.ID, store.PrefixCluster+"p") {
				return fmt.Errorf("claimed a job of cluster %s, not one of the queued", c.Cluster.ID)
			}
			*locks = append(*locks, c.Lock)
			return nil
		}
	}
	// The plan of the claim with the queue full, as the store runs it.
	sts, err := f.rec.record(claimMarker, claim(f.bigStore, &bigLocks))
	if err != nil {
		return err
	}
	if len(sts) == 0 {
		return fmt.Errorf("the claim query was not seen (marker %q)", claimMarker)
	}
	title := fmt.Sprintf("claim query, %d pending jobs, %d clusters (custom plan)", flatPending, f.d.Clusters)
	if err := f.printPlan(ctx, title, sts[0], false); err != nil {
		return err
	}
	n := min(f.o.samples, flatPending/2-2)
	fmt.Fprintf(f.out, "\nclaim with about %d pending jobs (%d claims each)%28s %9s %6s\n", flatPending, n,
		"near-empty", "big", "ratio")
	smallC, bigC, err := compare(n, claim(smallStore, &smallLocks), claim(f.bigStore, &bigLocks))
	if err != nil {
		return err
	}
	f.add(flatRow{name: fmt.Sprintf("Store.Claim: near-empty tables vs %d clusters/%d jobs/%d events", f.d.Clusters,
		f.d.Jobs(), f.d.Audit()), base: smallC, at: bigC, target: true})
	// Finish what was claimed, timing each side's Finish.
	finish := func(s *store.Store, locks *[]*store.JobLock) func() error {
		return func() error {
			l := (*locks)[0]
			*locks = (*locks)[1:]
			_, err := s.Finish(ctx, l, store.Succeeded(nil))
			return err
		}
	}
	k := min(len(smallLocks), len(bigLocks)) - 1
	smallF, bigF, err := compare(k, finish(smallStore, &smallLocks), finish(f.bigStore, &bigLocks))
	if err != nil {
		return err
	}
	f.add(flatRow{name: "Store.Finish: near-empty tables vs the same", base: smallF, at: bigF, target: true})
	return nil
}

// emptyQueue deletes what is left of the queue, vacuums, and prints the
// claim query's plans on the empty queue: it should probe the runnable
// index once and find nothing.
func (f *flat) emptyQueue(ctx context.Context) error {
	for _, q := range []string{"DELETE FROM job_locks WHERE locked_at >= $1",
		"DELETE FROM jobs WHERE created_at >= $1 AND status IN ('PENDING', 'RETRYING', 'RUNNING')"} {
		if _, err := f.big.Exec(ctx, q, f.generated); err != nil {
			return fmt.Errorf("empty the queue: %w", err)
		}
	}
	if _, err := f.big.Exec(ctx, "VACUUM (ANALYZE) jobs, job_locks"); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	p := store.ClaimParams{WorkerID: "bench", LockTTL: time.Minute}
	sts, err := f.rec.record(claimMarker, func() error {
		if _, err := f.bigStore.Claim(ctx, p); err != store.ErrNoJob {
			return fmt.Errorf("claim on the empty queue: %v, want ErrNoJob", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(sts) == 0 {
		return fmt.Errorf("the claim query was not seen (marker %q)", claimMarker)
	}
	for _, generic := range []bool{false, true} {
		kind := "custom plan"
		if generic {
			kind = "generic plan"
		}
		if err := f.printPlan(ctx, "claim query, empty queue, "+kind, sts[0], generic); err != nil {
			return err
		}
	}
	return nil
}

// printPlan prints the EXPLAIN (ANALYZE, BUFFERS) of st, then its scans
// and buffer count.
func (f *flat) printPlan(ctx context.Context, title string, st statement, generic bool) error {
	plan, err := explain(ctx, f.big, st, generic)
	if err != nil {
		return err
	}
	fmt.Fprintf(f.out, "\nEXPLAIN (ANALYZE, BUFFERS): %s\n%s\n", title, indent(plan, "  "))
	fmt.Fprintf(f.out, "  => %d buffers; scans:\n", planBuffers(plan))
	for _, s := range scans(plan) {
		fmt.Fprintf(f.out, "     %s\n", s)
	}
	return nil
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// printFlat prints the summary table.
func printFlat(out io.Writer, rows []flatRow) {
	fmt.Fprintf(out, "\n%-80s %9s %9s %6s %7s\n", "flat cost (medians)", "base", "large", "ratio", "target")
	for _, r := range rows {
		target := "info"
		if r.target {
			target = fmt.Sprintf("<=%.1f", flatTarget)
		}
		fmt.Fprintf(out, "%-80s %9v %9v %6.2f %7s\n", r.name, r.base.Round(time.Microsecond), r.at.Round(time.Microsecond),
			ratio(float64(r.at), float64(r.base)), target)
	}
}
