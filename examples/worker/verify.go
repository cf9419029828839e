package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/ocpctl/ocpstore/store"
)

// verify reads each queued cluster's jobs and audit trail back and checks
// what workers rely on, from the store's own record rather than the
// workers' tallies. It prints what it checked; an error if a check failed.
func (f *fleet) verify(ctx context.Context, queued []queued, out io.Writer) error {
	var v verdict
	for _, q := range queued {
		var jobs []*store.Job
		var trail []*store.AuditEvent
		err := f.retry(ctx, func() (err error) {
			var total int
			if jobs, _, err = f.s.Jobs.List(ctx, store.JobFilters{ClusterID: &q.id}); err == nil {
				trail, total, err = f.s.Audit.List(ctx, store.AuditFilters{ClusterID: &q.id, Limit: store.MaxLimit})
			}
			if err == nil && total > len(trail) { // a few dozen events here, never near a page
				err = fmt.Errorf("%d audit events, more than one page", total)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("read back %s: %w", q.name, err)
		}
		slices.Reverse(trail) // oldest first
		v.check(q, jobs, trail)
	}
	fmt.Fprintf(out, "rode out %d errors of an unavailable database (of unknown outcome: %d, resolved by reading back)\n",
		f.unavailableErrs.Load(), f.unknownOutcomes.Load())
	fmt.Fprintf(out, "checked %d jobs (%d succeeded, %d failed: out of attempts, or refused by their cluster's state)"+
		" and %d lock grants from the store's rows and audit trail:\n",
		v.jobs, v.succeeded, v.jobs-v.succeeded, v.grants)
	failed := 0
	for i, name := range checkNames {
		mark := "ok  "
		if len(v.problems[i]) > 0 {
			mark, failed = "FAIL", failed+1
		}
		fmt.Fprintf(out, "  %s %s\n", mark, name)
		for _, p := range v.problems[i][:min(len(v.problems[i]), 5)] {
			fmt.Fprintf(out, "         %s\n", p)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed", failed, len(checkNames))
	}
	fmt.Fprintln(out, "all checks passed")
	return nil
}

// The checks, by index into verdict.problems.
const (
	endedOnce = iota
	oneHolder
	inOrder
)

// checkNames says what each check verifies.
var checkNames = []string{
	endedOnce: "every job ended exactly once: one terminal audit event, agreeing with its row",
	oneHolder: "no cluster ever had two holders: tokens only grew, every finish was by the holder",
	inOrder:   "each cluster's jobs ran in creation order, each after the one before had ended",
}

// verdict is what the checks found, over every cluster.
type verdict struct {
	jobs, succeeded, grants int
	problems                [3][]string
}

// check replays one cluster's audit trail, oldest first. A job.start grants
// the cluster's lock with a new fencing token; the job's job.succeed,
// job.fail or job.retry with that token, or the janitor's job.requeue,
// ends the grant. An event whose job_status is terminal ends its job.
func (v *verdict) check(q queued, jobs []*store.Job, trail []*store.AuditEvent) {
	problem := func(check int, format string, args ...any) {
		v.problems[check] = append(v.problems[check], q.name+": "+fmt.Sprintf(format, args...))
	}
	ends := map[string][]string{} // the terminal statuses recorded, by job
	var holder *store.AuditEvent  // the job.start of the grant in force
	var last int64                // the largest token granted
	for _, e := range trail {
		if e.TargetJobID == nil {
			continue // not about a job
		}
		job, token := *e.TargetJobID, e.Metadata[store.AuditKeyToken]
		if e.Action == store.ActionJobStart || e.Action == store.ActionJobReject {
			for _, earlier := range q.jobs[:max(0, slices.Index(q.jobs, job))] {
				if len(ends[earlier]) == 0 {
					problem(inOrder, "job %s was taken up before the earlier job %s had ended", job, earlier)
				}
			}
		}
		switch e.Action {
		case store.ActionJobStart:
			v.grants++
			tok, _ := strconv.ParseInt(token, 10, 64)
			if holder != nil {
				problem(oneHolder, "job %s started while job %s held the cluster", job, *holder.TargetJobID)
			}
			if tok <= last {
				problem(oneHolder, "job %s was granted token %d after token %d", job, tok, last)
			}
			holder, last = e, max(last, tok)
		case store.ActionJobSucceed, store.ActionJobFail, store.ActionJobRetry, store.ActionJobRequeue:
			if holder == nil || *holder.TargetJobID != job ||
				e.Action != store.ActionJobRequeue && token != holder.Metadata[store.AuditKeyToken] {
				problem(oneHolder, "%s of job %s with token %q, but the holder is %v", e.Action, job, token, holder)
			}
			holder = nil
		}
		if st := store.JobStatus(e.Metadata[store.AuditKeyJobStatus]); st.Terminal() {
			ends[job] = append(ends[job], string(st))
		}
	}
	if holder != nil {
		problem(oneHolder, "job %s still holds the cluster", *holder.TargetJobID)
	}
	for _, id := range q.jobs {
		v.jobs++
		i := slices.IndexFunc(jobs, func(j *store.Job) bool { return j.ID == id })
		switch {
		case i < 0:
			problem(endedOnce, "job %s is missing", id)
		case len(ends[id]) != 1 || ends[id][0] != string(jobs[i].Status):
			problem(endedOnce, "job %s is %s, and its audit trail ends it %d times %v", id, jobs[i].Status, len(ends[id]), ends[id])
		case jobs[i].Status == store.JobSucceeded:
			v.succeeded++
		}
	}
}
