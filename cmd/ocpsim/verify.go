package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/ocpctl/ocpstore/store"
)

// Check is one verified property of the run.
type Check struct {
	Name     string
	Detail   string   // what was checked, in numbers
	Problems []string // why it failed; empty when it passed
}

// OK reports whether the check passed.
func (c Check) OK() bool { return len(c.Problems) == 0 }

// maxProblems bounds the problems a check lists.
const maxProblems = 10

// problem adds a problem, keeping at most maxProblems (and saying so).
func (c *Check) problem(format string, args ...any) {
	switch {
	case len(c.Problems) < maxProblems:
		c.Problems = append(c.Problems, fmt.Sprintf(format, args...))
	case len(c.Problems) == maxProblems:
		c.Problems = append(c.Problems, "… (more)")
	}
}

// trail is what the store says about one seeded cluster after the run.
type trail struct {
	seeded  *seededCluster
	cluster *store.Cluster
	jobs    map[string]*store.Job // by ID
	events  []*store.AuditEvent   // oldest first
}

// verify reads every seeded cluster's rows and audit trail back from the
// store and checks the run against them: the store's own record, not the
// workers' tallies, is what must be right. Only the seeded clusters' rows
// are read, so other data in the store does not disturb the checks. A read
// the database could not serve for now is tried again (see retry).
func verify(ctx context.Context, s *store.Store, sd *seeded, rep *Report, c *counters) error {
	trails := make([]*trail, 0, len(sd.clusters))
	for _, sc := range sd.clusters {
		var t *trail
		err := retry(ctx, c, func() (err error) { t, err = readTrail(ctx, s, sc); return err })
		if err != nil {
			return err
		}
		trails = append(trails, t)
	}
	rep.tally(trails)
	rep.Checks = append(rep.Checks, checkTerminal(trails), checkHolds(trails), checkStateMachine(trails))
	for i := range rep.Refusals {
		rep.Refusals[i].Superseding = superseding(trails, rep.Refusals[i])
	}
	return nil
}

// readTrail reads one cluster, its jobs and its audit events.
func readTrail(ctx context.Context, s *store.Store, sc *seededCluster) (*trail, error) {
	c, err := s.Clusters.GetByID(ctx, sc.ID)
	if err != nil {
		return nil, err
	}
	t := &trail{seeded: sc, cluster: c, jobs: make(map[string]*store.Job)}
	jobs, _, err := s.Jobs.List(ctx, store.JobFilters{ClusterID: &sc.ID, Limit: store.MaxLimit})
	if err != nil {
		return nil, fmt.Errorf("jobs of cluster %s: %w", sc.ID, err)
	}
	for _, j := range jobs {
		t.jobs[j.ID] = j
	}
	// The audit trail is listed newest first; page through all of it.
	cursor := ""
	for {
		page, err := s.Audit.ListAfter(ctx, store.AuditFilters{ClusterID: &sc.ID, Limit: store.MaxLimit}, cursor)
		if err != nil {
			return nil, fmt.Errorf("audit of cluster %s: %w", sc.ID, err)
		}
		t.events = append(t.events, page.Items...)
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	slices.Reverse(t.events)
	return t, nil
}

// terminalEvent reports whether e records its job reaching a terminal
// status, and which. A job ends in exactly one of four ways: Finish
// succeeded or failed it (job.succeed, job.fail), Claim rejected it because
// its cluster's status forbade it (job.reject), or the janitor found it
// stuck with no attempts left (job.requeue to FAILED).
func terminalEvent(e *store.AuditEvent) (store.JobStatus, bool) {
	switch e.Action {
	case store.ActionJobSucceed:
		return store.JobSucceeded, true
	case store.ActionJobFail, store.ActionJobReject:
		return store.JobFailed, true
	case store.ActionJobRequeue:
		if e.Metadata["job_status"] == string(store.JobFailed) {
			return store.JobFailed, true
		}
	}
	return "", false
}

// checkTerminal: every seeded job is terminal, its audit trail records
// exactly one terminal event that agrees with its row, and one job.start
// per attempt.
func checkTerminal(trails []*trail) Check {
	ck := Check{Name: "every job reached a terminal state exactly once"}
	jobs, events := 0, 0
	for _, t := range trails {
		for _, sj := range t.seeded.Jobs {
			jobs++
			j, ok := t.jobs[sj.ID]
			if !ok {
				ck.problem("job %s (%s %s) is missing", sj.ID, t.seeded.Name, sj.Type)
				continue
			}
			if !j.Status.Terminal() {
				ck.problem("job %s (%s %s) is %s", j.ID, t.seeded.Name, j.JobType, j.Status)
			}
			var ends []store.JobStatus
			starts := 0
			for _, e := range t.events {
				if e.TargetJobID == nil || *e.TargetJobID != j.ID {
					continue
				}
				if st, ok := terminalEvent(e); ok {
					ends = append(ends, st)
				}
				if e.Action == store.ActionJobStart {
					starts++
				}
			}
			events += len(ends)
			switch {
			case len(ends) != 1:
				ck.problem("job %s (%s %s) has %d terminal audit events, want 1", j.ID, t.seeded.Name, j.JobType, len(ends))
			case ends[0] != j.Status:
				ck.problem("job %s (%s %s) is %s but its audit trail says %s", j.ID, t.seeded.Name, j.JobType, j.Status, ends[0])
			}
			if starts != j.Attempt {
				ck.problem("job %s (%s %s) has %d attempts but %d job.start events", j.ID, t.seeded.Name, j.JobType, j.Attempt, starts)
			}
		}
	}
	ck.Detail = fmt.Sprintf("%d jobs, %d terminal audit events", jobs, events)
	return ck
}

// hold is one grant of a cluster's lock, as the audit trail records it.
type hold struct {
	job   string
	token int64
}

// checkHolds replays each cluster's audit trail: a job.start opens a hold
// with its fencing token; a job.succeed, job.fail or job.retry with the
// same token, or the janitor's job.requeue of the same job, closes it.
// Holds must not overlap (a start while another hold is open means two
// workers had the cluster at once), every close must match the open hold
// (a close with a stale token means a fenced write got through), tokens
// must strictly increase, and nothing may be left open at the end.
func checkHolds(trails []*trail) Check {
	ck := Check{Name: "no cluster ever had two holders at once; fencing tokens strictly increased"}
	holds := 0
	for _, t := range trails {
		var open *hold
		var last int64
		for _, e := range t.events {
			job := ""
			if e.TargetJobID != nil {
				job = *e.TargetJobID
			}
			switch e.Action {
			case store.ActionJobStart:
				tok, err := strconv.ParseInt(e.Metadata["token"], 10, 64)
				switch {
				case err != nil:
					ck.problem("%s: job.start of %s has no token: %v", t.seeded.Name, job, err)
				case open != nil:
					ck.problem("%s: job %s started with token %d while job %s held token %d", t.seeded.Name, job, tok, open.job, open.token)
				case tok <= last:
					ck.problem("%s: job %s started with token %d after token %d", t.seeded.Name, job, tok, last)
				}
				open, last = &hold{job: job, token: tok}, max(last, tok)
				holds++
			case store.ActionJobSucceed, store.ActionJobFail, store.ActionJobRetry:
				tok, _ := strconv.ParseInt(e.Metadata["token"], 10, 64)
				if open == nil || open.job != job || open.token != tok {
					ck.problem("%s: %s of job %s with token %d does not match the open hold %v", t.seeded.Name, e.Action, job, tok, open)
				}
				open = nil
			case store.ActionJobRequeue:
				if open == nil || open.job != job {
					ck.problem("%s: requeue of job %s does not match the open hold %v", t.seeded.Name, job, open)
				}
				open = nil
			case store.ActionJobReject:
				if open != nil {
					ck.problem("%s: job %s was rejected while job %s held the cluster", t.seeded.Name, job, open.job)
				}
			}
		}
		if open != nil {
			ck.problem("%s: job %s still holds token %d at the end", t.seeded.Name, open.job, open.token)
		}
	}
	ck.Detail = fmt.Sprintf("%d holds on %d clusters", holds, len(trails))
	return ck
}

// checkStateMachine replays each cluster's jobs, in the order the store
// runs them, through the state machine (store.TransitionFor): a job that
// ran must have been able to start from the status its predecessors left,
// a job Claim rejected must not, and the cluster must end in the status the
// outcomes imply (Success or Failure of each job that ran).
func checkStateMachine(trails []*trail) Check {
	ck := Check{Name: "every cluster's final status agrees with the state machine"}
clusters:
	for _, t := range trails {
		status := store.ClusterPending
		for _, sj := range t.seeded.Jobs {
			j, ok := t.jobs[sj.ID]
			if !ok || !j.Status.Terminal() {
				ck.problem("%s: job %s (%s) is not terminal", t.seeded.Name, sj.ID, sj.Type)
				continue clusters // no final status to compare with
			}
			tr, _ := store.TransitionFor(j.JobType)
			_, canStart := tr.StartStatus(status, false)
			rejected := j.ErrorCode != nil && *j.ErrorCode == store.ErrCodeInvalidTransition
			switch {
			case rejected && canStart:
				ck.problem("%s: %s was rejected although it may start from %s", t.seeded.Name, j.JobType, status)
			case rejected:
			case !canStart:
				ck.problem("%s: %s ran from %s, which the state machine forbids", t.seeded.Name, j.JobType, status)
			case j.Status == store.JobSucceeded:
				status = tr.Success
			default:
				status = tr.Failure
			}
		}
		if t.cluster.Status != status {
			ck.problem("%s: status is %s, its jobs' outcomes imply %s", t.seeded.Name, t.cluster.Status, status)
		}
	}
	ck.Detail = fmt.Sprintf("%d clusters", len(trails))
	return ck
}

// superseding finds the token that superseded a refused Finish's: the
// first job.start on its cluster with a larger token (0 if none: the
// janitor requeued the job and gave up on it, or nobody claimed again).
func superseding(trails []*trail, r Refusal) int64 {
	for _, t := range trails {
		if t.seeded.ID != r.ClusterID {
			continue
		}
		for _, e := range t.events {
			if e.Action != store.ActionJobStart {
				continue
			}
			if tok, err := strconv.ParseInt(e.Metadata["token"], 10, 64); err == nil && tok > r.StaleToken {
				return tok
			}
		}
	}
	return 0
}
