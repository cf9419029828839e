package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// Report is the outcome of a simulation: what happened, from the workers'
// tallies and the store's rows, and the verified properties.
type Report struct {
	Config  Config
	Elapsed time.Duration
	Stopped error // why the run ended before every job was terminal; nil if it did not

	// From the store, for the seeded jobs.
	Jobs, Succeeded, Failed int
	Rejected                int // failed by Claim: the cluster's status forbade the job
	Abandoned               int // failed by the janitor: stuck with no attempts left
	Exhausted               int // failed by Finish: a retry with no attempts left
	Final                   map[store.ClusterStatus]int

	// From the workers and the janitor.
	Claims, Transient, Stalls, Cancels, LockLost, Requeued int64
	Refusals                                               []Refusal
	Unexpected                                             int64   // store errors no fault explains
	Errors                                                 []error // the first of them

	// RodeOut counts the store.ErrUnavailable errors the run waited out
	// (its own calls, the verifier's included), UnknownOutcomes those of
	// them that were writes that may have been applied (resolved by
	// reading back).
	RodeOut, UnknownOutcomes int64

	Checks []Check
}

// newReport starts a report from the run's tallies.
func newReport(cfg Config, c *counters, elapsed time.Duration, stopped error) *Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &Report{Config: cfg, Elapsed: elapsed, Stopped: stopped,
		Claims: c.claims.Load(), Transient: c.transient.Load(), Stalls: c.stalls.Load(),
		Cancels: c.cancels.Load(), LockLost: c.lockLost.Load(), Requeued: c.requeued.Load(),
		Refusals: slices.Clone(c.refused), Unexpected: c.unexpected.Load(), Errors: slices.Clone(c.failures)}
}

// runChecks are the checks about the run itself, before the store's.
func (r *Report) runChecks() {
	done := Check{Name: "every job ended before the run's timeout", Detail: r.Elapsed.Round(time.Millisecond).String()}
	if r.Stopped != nil {
		done.problem("stopped early (timeout %v): %v", r.Config.Timeout, r.Stopped)
	}
	errs := Check{Name: "no unexpected store errors",
		Detail: "every error was an injected fault, a fenced refusal or an unavailable database waited out"}
	for _, err := range r.Errors {
		errs.problem("%v", err)
	}
	if n := r.Unexpected - int64(len(r.Errors)); n > 0 {
		errs.problem("… and %d more", n)
	}
	r.Checks = append(r.Checks, done, errs)
}

// tally counts the seeded jobs' outcomes and the clusters' final statuses.
func (r *Report) tally(trails []*trail) {
	r.Final = make(map[store.ClusterStatus]int)
	for _, t := range trails {
		r.Final[t.cluster.Status]++
		for _, sj := range t.seeded.Jobs {
			r.Jobs++
			j, ok := t.jobs[sj.ID]
			if !ok {
				continue
			}
			code := ""
			if j.ErrorCode != nil {
				code = *j.ErrorCode
			}
			switch {
			case j.Status == store.JobSucceeded:
				r.Succeeded++
			case j.Status != store.JobFailed:
			case code == store.ErrCodeInvalidTransition:
				r.Failed++
				r.Rejected++
			case code == store.ErrCodeAbandoned:
				r.Failed++
				r.Abandoned++
			default:
				r.Failed++
				r.Exhausted++
			}
		}
	}
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	return !slices.ContainsFunc(r.Checks, func(c Check) bool { return !c.OK() })
}

// maxRefusalsShown bounds the refusals Print lists one by one.
const maxRefusalsShown = 5

// Print writes the report for a human.
func (r *Report) Print(w io.Writer) {
	c := r.Config
	rate := float64(r.Succeeded+r.Failed) / max(r.Elapsed.Seconds(), 1e-3)
	fmt.Fprintf(w, "\n== report (run %s: %d clusters, %d workers, fault rate %.2f, seed %d, lock TTL %v)\n",
		c.RunID, c.Clusters, c.Workers, c.FaultRate, c.Seed, c.LockTTL)
	fmt.Fprintf(w, "jobs       %d: %d succeeded, %d failed (%d out of attempts, %d abandoned, %d rejected by the state machine)\n",
		r.Jobs, r.Succeeded, r.Failed, r.Exhausted, r.Abandoned, r.Rejected)
	fmt.Fprintf(w, "clusters   %s\n", r.finalStatuses())
	fmt.Fprintf(w, "runs       %d claims in %v (%.1f jobs/s)\n", r.Claims, r.Elapsed.Round(time.Millisecond), rate)
	fmt.Fprintf(w, "faults     %d transient (finished with store.Retry), %d stalls past the lock TTL, %d cancelled mid-job\n",
		r.Transient, r.Stalls, r.Cancels)
	fmt.Fprintf(w, "janitor    %d stuck jobs requeued or abandoned by RecoverStuck", r.Requeued)
	if r.LockLost > 0 {
		fmt.Fprintf(w, "; %d runs stopped by a lost heartbeat", r.LockLost)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "database   %d calls met an unavailable database (store.ErrUnavailable) and were tried again;"+
		" %d were writes that may have been applied, resolved by reading back\n", r.RodeOut, r.UnknownOutcomes)
	fmt.Fprintf(w, "fencing    %d late Finish calls refused with store.ErrLockLost\n", len(r.Refusals))
	for i, f := range r.Refusals {
		if i == maxRefusalsShown {
			fmt.Fprintf(w, "           … and %d more\n", len(r.Refusals)-i)
			break
		}
		by := "no later grant"
		if f.Superseding > 0 {
			by = fmt.Sprintf("superseded by token %d", f.Superseding)
		}
		fmt.Fprintf(w, "           %s: %s %s, stale token %d (%s)\n", f.Worker, f.ClusterName, f.JobType, f.StaleToken, by)
	}
	fmt.Fprintln(w, "\n== verification")
	for _, ck := range r.Checks {
		mark := "PASS"
		if !ck.OK() {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s  %s (%s)\n", mark, ck.Name, ck.Detail)
		for _, p := range ck.Problems {
			fmt.Fprintf(w, "        %s\n", p)
		}
	}
	if r.OK() {
		fmt.Fprintln(w, "all checks passed")
	} else {
		fmt.Fprintln(w, "VERIFICATION FAILED")
	}
}

// finalStatuses lists the clusters' final statuses, most common first.
func (r *Report) finalStatuses() string {
	type kv struct {
		s store.ClusterStatus
		n int
	}
	var all []kv
	for s, n := range r.Final {
		all = append(all, kv{s, n})
	}
	slices.SortFunc(all, func(a, b kv) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(string(a.s), string(b.s))
	})
	parts := make([]string, len(all))
	for i, e := range all {
		parts[i] = fmt.Sprintf("%d %s", e.n, e.s)
	}
	return strings.Join(parts, ", ")
}
