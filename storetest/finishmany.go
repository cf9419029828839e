package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// FinishMany's outcomes and its stale items, and the helpers of the
// ClaimMany group.

// testFinishManyOutcomes finishes one batch holding every kind of outcome
// and checks each job, cluster, lock and audit event as Finish writes them.
func testFinishManyOutcomes(t *testing.T, b *bundle) {
	create, destroy := b.cluster(t), b.readyCluster(t)
	failing, retried, exhausted := b.cluster(t), b.readyCluster(t), b.readyCluster(t)
	b.job(t, create.ID, store.JobCreate)
	b.job(t, destroy.ID, store.JobDestroy)
	b.job(t, failing.ID, store.JobCreate)
	b.job(t, retried.ID, store.JobPostConfigure)
	b.job(t, exhausted.ID, store.JobHibernate, maxAttempts(1))
	got, err := b.s.ClaimMany(b.ctx, store.ClaimParams{WorkerID: "w1", LockTTL: time.Hour}, 10)
	requireNoErr(t, err, "claim many")
	if len(got) != 5 {
		t.Fatalf("claimed %d jobs, want 5", len(got))
	}
	b.clock.Advance(time.Minute)
	now := b.clock.Now()
	items := []store.Completion{
		{Lock: got[0].Lock, Outcome: store.Succeeded(map[string]string{"api": "https://api"})},
		{Lock: got[1].Lock, Outcome: store.Succeeded(nil)},
		{Lock: got[2].Lock, Outcome: store.Failed("QUOTA", "no quota")},
		{Lock: got[3].Lock, Outcome: store.Retry("TRANSIENT", "timeout", 10*time.Minute)},
		{Lock: got[4].Lock, Outcome: store.Retry("TRANSIENT", "timeout", 10*time.Minute)},
	}
	jobs, errs, err := b.s2.FinishMany(b.ctx, items)
	requireNoErr(t, err, "finish many")
	requireNoItemErrs(t, errs)

	type want struct {
		status  store.JobStatus
		code    string
		msg     string
		cluster store.ClusterStatus
		action  string
	}
	for i, w := range []want{
		{store.JobSucceeded, "", "", store.ClusterReady, store.ActionJobSucceed},
		{store.JobSucceeded, "", "", store.ClusterDestroyed, store.ActionJobSucceed},
		{store.JobFailed, "QUOTA", "no quota", store.ClusterFailed, store.ActionJobFail},
		{store.JobRetrying, "TRANSIENT", "timeout", store.ClusterReady, store.ActionJobRetry},
		{store.JobFailed, "TRANSIENT", "attempts exhausted (1 of 1): timeout", store.ClusterReady, store.ActionJobFail},
	} {
		what := fmt.Sprintf("item %d (%s)", i, got[i].Job.JobType)
		wantJob := *got[i].Job
		wantJob.Status, wantJob.UpdatedAt = w.status, now
		if w.code != "" {
			wantJob.ErrorCode, wantJob.ErrorMessage = &w.code, &w.msg
		}
		if w.status == store.JobRetrying {
			wantJob.RetryAt = ptr(now.Add(10 * time.Minute))
		} else {
			wantJob.EndedAt = &now
		}
		if i == 0 {
			wantJob.Metadata = map[string]string{"api": "https://api"}
		}
		requireEqual(t, &wantJob, jobs[i], what+": finished job")
		requireEqual(t, &wantJob, b.getJob(t, wantJob.ID), what+": finished job read back")
		c := b.getCluster(t, wantJob.ClusterID)
		if c.Status != w.cluster {
			t.Errorf("%s: cluster %s, want %s", what, c.Status, w.cluster)
		}
		if (w.cluster == store.ClusterDestroyed) != (c.DestroyedAt != nil) {
			t.Errorf("%s: cluster %s has DestroyedAt %v", what, c.Status, c.DestroyedAt)
		}
		_, err := b.s.JobLocks.Get(b.ctx, wantJob.ClusterID)
		requireErrIs(t, err, store.ErrNotFound, what+": lock after FinishMany")
		status := store.AuditFailure
		if w.status == store.JobSucceeded {
			status = store.AuditSuccess
		}
		requireAuditEvent(t, b, wantJob.ID, &store.AuditEvent{Actor: "w1", Action: w.action,
			TargetClusterID: &wantJob.ClusterID, TargetJobID: &wantJob.ID, Status: status, CreatedAt: now,
			Metadata: map[string]string{"job_type": string(wantJob.JobType), "job_status": string(w.status),
				"attempt": "1", "token": fmt.Sprint(got[i].Lock.Token)}})
	}
}

// testFinishManyStale finishes a batch in which one lock has gone stale
// (expired, its job requeued and claimed again): that item alone gets
// ErrLockLost and changes nothing, the others are finished.
func testFinishManyStale(t *testing.T, b *bundle) {
	for range 3 {
		b.job(t, b.readyCluster(t).ID, store.JobPostConfigure)
	}
	got, err := b.s.ClaimMany(b.ctx, store.ClaimParams{WorkerID: "w1", LockTTL: time.Minute}, 3)
	requireNoErr(t, err, "claim many")
	if len(got) != 3 {
		t.Fatalf("claimed %d jobs, want 3", len(got))
	}
	b.clock.Advance(2 * time.Minute)
	for _, i := range []int{0, 2} {
		_, err := b.s.JobLocks.Extend(b.ctx, got[i].Lock, time.Hour)
		requireNoErr(t, err, "extend an expired lock nobody took over")
	}
	n, err := b.s.RecoverStuck(b.ctx, "janitor", 10)
	requireNoErr(t, err, "recover stuck")
	if n != 1 {
		t.Fatalf("recovered %d jobs, want 1", n)
	}
	again, err := b.s2.ClaimMany(b.ctx, store.ClaimParams{WorkerID: "w2", LockTTL: time.Hour}, 3)
	requireNoErr(t, err, "claim the requeued job")
	requireIDs(t, []string{got[1].Job.ID}, claimedIDs(again), "claimed again")
	stale, current := got[1], again[0]

	b.clock.Advance(time.Second)
	jobs, errs, err := b.s.FinishMany(b.ctx, completions(got, store.Succeeded(map[string]string{"by": "w1"})))
	requireNoErr(t, err, "finish many")
	requireErrIs(t, errs[1], store.ErrLockLost, "stale item")
	if errs[0] != nil || errs[2] != nil {
		t.Fatalf("current items: errors %v, %v", errs[0], errs[2])
	}
	if jobs[1] != nil || jobs[0] == nil || jobs[2] == nil {
		t.Fatalf("jobs %v: want the stale item's nil and the others'", jobs)
	}
	for _, i := range []int{0, 2} {
		if j := b.getJob(t, got[i].Job.ID); j.Status != store.JobSucceeded {
			t.Fatalf("current item %d: job %s, want SUCCEEDED", i, j.Status)
		}
	}
	requireEqual(t, current.Job, b.getJob(t, stale.Job.ID), "the stale item's job")
	l, err := b.s.JobLocks.Get(b.ctx, stale.Job.ClusterID)
	requireNoErr(t, err, "the new holder's lock")
	requireEqual(t, current.Lock, l, "the new holder's lock")
	requireEqual(t, []string{store.ActionJobStart, store.ActionJobRequeue, store.ActionJobStart},
		b.auditActions(t, stale.Job.ID), "the stale item's audit")

	// The new holder finishes it.
	jobs, errs, err = b.s2.FinishMany(b.ctx, []store.Completion{{Lock: current.Lock, Outcome: store.Succeeded(nil)}})
	requireNoErr(t, err, "finish many by the new holder")
	requireNoItemErrs(t, errs)
	if jobs[0].Status != store.JobSucceeded || jobs[0].Attempt != 2 {
		t.Fatalf("job finished by the new holder: %s attempt %d", jobs[0].Status, jobs[0].Attempt)
	}
	_, errs, err = b.s.FinishMany(b.ctx, []store.Completion{
		{Lock: &store.JobLock{ClusterID: stale.Job.ClusterID, JobID: "job_missing", LockedBy: "w1", Token: 1},
			Outcome: store.Succeeded(nil)}})
	requireNoErr(t, err, "finish many of a missing job")
	requireErrIs(t, errs[0], store.ErrNotFound, "missing job")
}

// completions pairs every claimed job's lock with outcome o.
func completions(claimed []*store.Claimed, o store.Outcome) []store.Completion {
	out := make([]store.Completion, len(claimed))
	for i, c := range claimed {
		out[i] = store.Completion{Lock: c.Lock, Outcome: o}
	}
	return out
}

// claimedIDs returns the job IDs of claims.
func claimedIDs(claimed []*store.Claimed) []string {
	return ids(claimed, func(c *store.Claimed) string { return c.Job.ID })
}

// requireNoItemErrs fails the test when FinishMany reported an item error.
func requireNoItemErrs(t *testing.T, errs []error) {
	t.Helper()
	var msgs []string
	for i, err := range errs {
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("item %d: %v", i, err))
		}
	}
	if len(msgs) > 0 {
		t.Fatalf("finish many: %s", strings.Join(msgs, "; "))
	}
}

// requireAuditEvent checks the newest audit event of a job against want,
// ignoring its ID.
func requireAuditEvent(t *testing.T, b *bundle, jobID string, want *store.AuditEvent) {
	t.Helper()
	evs, _, err := b.s.Audit.List(b.ctx, store.AuditFilters{JobID: &jobID, Limit: 1})
	requireNoErr(t, err, "list audit events of job "+jobID)
	if len(evs) == 0 {
		t.Fatalf("job %s has no audit event", jobID)
	}
	got := *evs[0]
	got.ID = ""
	requireEqual(t, want, &got, "audit event of job "+jobID)
}
