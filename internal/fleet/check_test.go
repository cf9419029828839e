package fleet_test

import (
	"testing"

	"github.com/ocpctl/ocpstore/internal/fleet"
	"github.com/ocpctl/ocpstore/store"
)

// history is a consistent run in which two workers ran two jobs of one
// cluster one after the other (tokens 5 and 6), the second ending
// RETRYING and then, on the janitor-free path, SUCCEEDED with token 7.
func history() ([]fleet.Event, *fleet.Snapshot) {
	ev := func(k fleet.Kind, worker, job string, token int64, status string, call, ack int64) fleet.Event {
		return fleet.Event{Kind: k, Proc: "p", Worker: worker, Cluster: "clu_1", Job: job, Token: token,
			Status: status, Call: call, Ack: ack}
	}
	events := []fleet.Event{
		{Kind: fleet.KindClusterCreated, Proc: "producer", Cluster: "clu_1", Call: 1, Ack: 2},
		{Kind: fleet.KindJobCreated, Proc: "producer", Cluster: "clu_1", Job: "job_a", Call: 3, Ack: 4},
		{Kind: fleet.KindJobCreated, Proc: "producer", Cluster: "clu_1", Job: "job_b", Call: 5, Ack: 6},
		ev(fleet.KindGrant, "w1", "job_a", 5, "", 10, 12),
		ev(fleet.KindFinish, "w1", "job_a", 5, "SUCCEEDED", 20, 22),
		ev(fleet.KindGrant, "w2", "job_b", 6, "", 30, 32),
		ev(fleet.KindFinish, "w2", "job_b", 6, "RETRYING", 40, 42),
		ev(fleet.KindGrant, "w1", "job_b", 7, "", 50, 52),
		ev(fleet.KindFinish, "w1", "job_b", 7, "SUCCEEDED", 60, 62),
	}
	audit := func(id, action, actor, job string, token int64, status string) fleet.AuditRecord {
		return fleet.AuditRecord{ID: id, Action: action, Actor: actor, Cluster: "clu_1", Job: job, Token: token, JobStatus: status}
	}
	snap := &fleet.Snapshot{
		Clusters: map[string]bool{"clu_1": true},
		Jobs: map[string]*store.Job{
			"job_a": {ID: "job_a", Status: store.JobSucceeded},
			"job_b": {ID: "job_b", Status: store.JobSucceeded},
		},
		Events: []fleet.AuditRecord{
			audit("aud_1", store.ActionJobStart, "w1", "job_a", 5, "RUNNING"),
			audit("aud_2", store.ActionJobSucceed, "w1", "job_a", 5, "SUCCEEDED"),
			audit("aud_3", store.ActionJobStart, "w2", "job_b", 6, "RUNNING"),
			audit("aud_4", store.ActionJobRetry, "w2", "job_b", 6, "RETRYING"),
			audit("aud_5", store.ActionJobStart, "w1", "job_b", 7, "RUNNING"),
			audit("aud_6", store.ActionJobSucceed, "w1", "job_b", 7, "SUCCEEDED"),
		},
	}
	return events, snap
}

// TestCheckFindsEachViolation proves every check can fail: each case
// breaks a consistent history in one way and the report must count it.
func TestCheckFindsEachViolation(t *testing.T) {
	t.Parallel()
	events, snap := history()
	if r := fleet.Check(events, snap); r.Violations() != 0 || r.Unlogged != 0 || r.Grants != 3 || r.Finishes != 3 || r.Jobs != 2 {
		t.Fatalf("the consistent history: %v, problems %q; want no violations, 3 grants, 3 finishes, 2 jobs", r, r.Problems)
	}
	for _, tc := range []struct {
		name   string
		mutate func(ev []fleet.Event, s *fleet.Snapshot) []fleet.Event
		count  func(r *fleet.Report) int
	}{
		{"acknowledged job missing", func(ev []fleet.Event, s *fleet.Snapshot) []fleet.Event {
			delete(s.Jobs, "job_a")
			return ev
		}, func(r *fleet.Report) int { return r.Lost }},
		{"acknowledged cluster missing", func(ev []fleet.Event, s *fleet.Snapshot) []fleet.Event {
			delete(s.Clusters, "clu_1")
			return ev
		}, func(r *fleet.Report) int { return r.Lost }},
		{"acknowledged grant missing", func(ev []fleet.Event, s *fleet.Snapshot) []fleet.Event {
			s.Events = s.Events[1:]
			return ev
		}, func(r *fleet.Report) int { return r.AckedMissing }},
		{"acknowledged finish not what the database holds", func(ev []fleet.Event, s *fleet.Snapshot) []fleet.Event {
			s.Events[1].JobStatus = "FAILED"
			return ev
		}, func(r *fleet.Report) int { return r.AckedMissing }},
		{"two terminal events in the database", func(ev []fleet.Event, s *fleet.Snapshot) []fleet.Event {
			s.Events = append(s.Events, fleet.AuditRecord{ID: "aud_7", Action: store.ActionJobFail, Actor: "w2",
				Cluster: "clu_1", Job: "job_a", Token: 8, JobStatus: "FAILED"})
			return ev
		}, func(r *fleet.Report) int { return r.Duplicated }},
		{"two terminal finishes in the logs", func(ev []fleet.Event, s *fleet.Snapshot) []fleet.Event {
			return append(ev, fleet.Event{Kind: fleet.KindFinish, Worker: "w2", Cluster: "clu_1", Job: "job_a", Token: 9,
				Status: "SUCCEEDED", Call: 70, Ack: 71})
		}, func(r *fleet.Report) int { return r.Duplicated }},
		{"a smaller token proven current after a larger one", func(ev []fleet.Event, s *fleet.Snapshot) []fleet.Event {
			ev[4].Call, ev[4].Ack = 33, 34 // job_a's finish with token 5 after token 6's grant returned
			return ev
		}, func(r *fleet.Report) int { return r.Overlaps }},
		{"one token, two holders", func(ev []fleet.Event, s *fleet.Snapshot) []fleet.Event {
			ev[4].Worker = "w3"
			return ev
		}, func(r *fleet.Report) int { return r.Overlaps }},
		{"a grant below an acknowledged one (logs)", func(ev []fleet.Event, s *fleet.Snapshot) []fleet.Event {
			return append(ev, fleet.Event{Kind: fleet.KindGrant, Worker: "w3", Cluster: "clu_1", Job: "job_b", Token: 6,
				Call: 80, Ack: 81})
		}, func(r *fleet.Report) int { return r.TokenRegressions }},
		{"job.start tokens not growing (database)", func(ev []fleet.Event, s *fleet.Snapshot) []fleet.Event {
			s.Events[2], s.Events[4] = s.Events[4], s.Events[2]
			return ev
		}, func(r *fleet.Report) int { return r.TokenRegressions }},
		{"a job left running", func(ev []fleet.Event, s *fleet.Snapshot) []fleet.Event {
			s.Jobs["job_b"].Status = store.JobRunning
			return ev
		}, func(r *fleet.Report) int { return r.Unfinished }},
		{"an unrecognised error", func(ev []fleet.Event, s *fleet.Snapshot) []fleet.Event {
			return append(ev, fleet.Event{Kind: fleet.KindError, Class: fleet.ClassUnexpected, Err: "boom"})
		}, func(r *fleet.Report) int { return r.Unexpected }},
		{"a start no log mentions", func(ev []fleet.Event, s *fleet.Snapshot) []fleet.Event {
			s.Events = append(s.Events, fleet.AuditRecord{ID: "aud_8", Action: store.ActionJobStart, Actor: "w9",
				Cluster: "clu_1", Job: "job_b", Token: 10, JobStatus: "RUNNING"})
			return ev
		}, func(r *fleet.Report) int { return r.Unlogged }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			events, snap := history()
			r := fleet.Check(tc.mutate(events, snap), snap)
			if tc.count(r) == 0 {
				t.Errorf("not counted: %v", r)
			}
			if len(r.Problems) == 0 {
				t.Errorf("no problem described: %v", r)
			}
		})
	}
}
