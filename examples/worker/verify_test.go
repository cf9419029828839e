package main

import (
	"strconv"
	"testing"

	"github.com/ocpctl/ocpstore/store"
)

// ev is an audit event about job: action, with the lock's token (0: none)
// and the job's status as written.
func ev(action, job string, token int, status store.JobStatus) *store.AuditEvent {
	md := map[string]string{store.AuditKeyJobStatus: string(status)}
	if token > 0 {
		md[store.AuditKeyToken] = strconv.Itoa(token)
	}
	return &store.AuditEvent{Action: action, TargetJobID: &job, Metadata: md}
}

// The events of a job's life, by token.
func start(job string, tok int) *store.AuditEvent {
	return ev(store.ActionJobStart, job, tok, store.JobRunning)
}
func succeed(job string, tok int) *store.AuditEvent {
	return ev(store.ActionJobSucceed, job, tok, store.JobSucceeded)
}

// TestChecksCatchViolations feeds the checks a valid cluster history, then
// histories with one violation each: every check must be able to fail, and
// fail where the violation is.
func TestChecksCatchViolations(t *testing.T) {
	t.Parallel()
	q := queued{id: "c", name: "c", jobs: []string{"a", "b"}}
	row := func(id string, st store.JobStatus) *store.Job { return &store.Job{ID: id, Status: st} }
	done := []*store.Job{row("a", store.JobSucceeded), row("b", store.JobFailed)}

	valid := []*store.AuditEvent{
		start("a", 1), ev(store.ActionJobRetry, "a", 1, store.JobRetrying),
		start("a", 2), ev(store.ActionJobRequeue, "a", 0, store.JobPending), // the janitor took it back
		start("a", 5), succeed("a", 5),
		ev(store.ActionJobReject, "b", 0, store.JobFailed), // refused by the state machine
	}
	var v verdict
	v.check(q, done, valid)
	for i, p := range v.problems {
		if len(p) > 0 {
			t.Errorf("valid history: check %q found %q", checkNames[i], p)
		}
	}
	if v.jobs != 2 || v.succeeded != 1 || v.grants != 3 {
		t.Errorf("valid history: %d jobs, %d succeeded, %d grants; want 2, 1, 3", v.jobs, v.succeeded, v.grants)
	}

	fail := ev(store.ActionJobFail, "b", 7, store.JobFailed)
	for _, tc := range []struct {
		name  string
		rows  []*store.Job
		trail []*store.AuditEvent
		check int
	}{
		{"two holders", done, []*store.AuditEvent{start("a", 1), start("b", 2), succeed("a", 1), fail}, oneHolder},
		{"token went back", done, []*store.AuditEvent{start("a", 3), ev(store.ActionJobRetry, "a", 3, store.JobRetrying),
			start("a", 2), succeed("a", 2), start("b", 7), fail}, oneHolder},
		{"a stale token's finish", done, []*store.AuditEvent{start("a", 1), ev(store.ActionJobRequeue, "a", 0, store.JobPending),
			succeed("a", 1), start("b", 7), fail}, oneHolder},
		{"left holding", []*store.Job{row("a", store.JobSucceeded), row("b", store.JobRunning)},
			[]*store.AuditEvent{start("a", 1), succeed("a", 1), start("b", 7)}, oneHolder},
		{"ended twice", done, []*store.AuditEvent{start("a", 1), succeed("a", 1), succeed("a", 1), start("b", 7), fail}, endedOnce},
		{"never ended", []*store.Job{row("a", store.JobSucceeded), row("b", store.JobPending)},
			[]*store.AuditEvent{start("a", 1), succeed("a", 1)}, endedOnce},
		{"row disagrees", []*store.Job{row("a", store.JobFailed), row("b", store.JobFailed)},
			[]*store.AuditEvent{start("a", 1), succeed("a", 1), start("b", 7), fail}, endedOnce},
		{"row missing", done[:1], []*store.AuditEvent{start("a", 1), succeed("a", 1), start("b", 7), fail}, endedOnce},
		{"out of order", done, []*store.AuditEvent{start("b", 7), fail, start("a", 8), succeed("a", 8)}, inOrder},
		{"rejected too early", done, []*store.AuditEvent{ev(store.ActionJobReject, "b", 0, store.JobFailed),
			start("a", 1), succeed("a", 1)}, inOrder},
	} {
		var v verdict
		v.check(q, tc.rows, tc.trail)
		if len(v.problems[tc.check]) == 0 {
			t.Errorf("%s: check %q did not catch it (found %q)", tc.name, checkNames[tc.check], v.problems)
		}
	}
}
