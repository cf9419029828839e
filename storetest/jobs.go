package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// testJobs covers JobStore: CRUD and defaults, filters, the job status
// writes, the fenced terminal writes, LockRunnable, ListStuck and Requeue.
func testJobs(t *testing.T, setup setupFunc) {
	t.Run("CreateAndGet", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		j := &store.Job{ClusterID: c.ID, JobType: store.JobCreate, Metadata: map[string]string{"request": "r-1"}}
		requireNoErr(t, b.s.Jobs.Create(b.ctx, j), "create")
		if !strings.HasPrefix(j.ID, store.PrefixJob) {
			t.Fatalf("assigned ID %q, want prefix %q", j.ID, store.PrefixJob)
		}
		if j.Status != store.JobPending || j.MaxAttempts != store.DefaultMaxAttempts || j.Attempt != 0 {
			t.Fatalf("defaults in place: status %q max %d attempt %d", j.Status, j.MaxAttempts, j.Attempt)
		}
		requireTime(t, b.clock.Now(), j.CreatedAt, "CreatedAt")
		requireTime(t, b.clock.Now(), j.UpdatedAt, "UpdatedAt")
		for name, s := range map[string]*store.Store{"primary": b.s, "secondary": b.s2} {
			got, err := s.Jobs.GetByID(b.ctx, j.ID)
			requireNoErr(t, err, name+" get")
			requireEqual(t, j, got, name+" GetByID")
			checkTimes(t, got, name+" GetByID")
			if got.RetryAt != nil || got.StartedAt != nil || got.EndedAt != nil || got.ErrorCode != nil || got.ErrorMessage != nil {
				t.Fatalf("a new job has nullable fields set: %+v", got)
			}
		}
		k := b.job(t, c.ID, store.JobDestroy, maxAttempts(7), func(j *store.Job) { j.ID = "job_given" })
		got := b.getJob(t, "job_given")
		if got.MaxAttempts != 7 || k.ID != "job_given" {
			t.Fatalf("given ID and MaxAttempts: %+v", got)
		}
	})

	t.Run("CreateRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		err := b.s.Jobs.Create(b.ctx, &store.Job{ClusterID: "clu_missing", JobType: store.JobCreate})
		requireErrIs(t, err, store.ErrNotFound, "create a job of a missing cluster")
		requireJobCount(t, b, 0)
		c := b.cluster(t)
		j := b.job(t, c.ID, store.JobCreate)
		err = b.s2.Jobs.Create(b.ctx, &store.Job{ID: j.ID, ClusterID: c.ID, JobType: store.JobDestroy})
		requireErrIs(t, err, store.ErrConflict, "create with an existing ID")
		requireEqual(t, j, b.getJob(t, j.ID), "job after the refused duplicate")
		requireJobCount(t, b, 1)
	})

	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		const id = "job_missing"
		_, err := b.s.Jobs.GetByID(b.ctx, id)
		requireErrIs(t, err, store.ErrNotFound, "GetByID")
		_, err = b.s.Jobs.MarkStarted(b.ctx, id)
		requireErrIs(t, err, store.ErrNotFound, "MarkStarted")
		_, err = b.s.Jobs.Cancel(b.ctx, id, "CANCELLED", "by test")
		requireErrIs(t, err, store.ErrNotFound, "Cancel")
		_, err = b.s.Jobs.Requeue(b.ctx, id)
		requireErrIs(t, err, store.ErrNotFound, "Requeue")
		requireJobCount(t, b, 0)
	})

	t.Run("ListFiltersOrderAndPaging", func(t *testing.T) { t.Parallel(); testJobFilters(t, setup(t)) })

	t.Run("MarkStarted", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		j, lock := b.startedJob(t, "w1", time.Hour)
		if j.Status != store.JobRunning || j.Attempt != 1 {
			t.Fatalf("started job: status %q attempt %d, want RUNNING 1", j.Status, j.Attempt)
		}
		requireTimePtr(t, b.clock.Now(), j.StartedAt, "StartedAt")
		requireEqual(t, j, b.getJob(t, j.ID), "started job read back")

		// Started again: refused, unchanged.
		b.clock.Advance(time.Minute)
		_, err := b.s.Jobs.MarkStarted(b.ctx, j.ID)
		requireTransition(t, err, "job", j.ID, string(store.JobRunning), string(store.JobRunning))
		requireEqual(t, j, b.getJob(t, j.ID), "job after a refused MarkStarted")

		// A retried job restarts: attempt 2, RetryAt cleared, error kept.
		retried, err := b.s.Jobs.MarkRetry(b.ctx, lock, "TRANSIENT", "try again", time.Minute)
		requireNoErr(t, err, "mark retry")
		b.clock.Advance(time.Minute)
		restarted, err := b.s2.Jobs.MarkStarted(b.ctx, j.ID)
		requireNoErr(t, err, "restart a RETRYING job")
		want := *retried
		want.Status, want.Attempt, want.RetryAt, want.EndedAt = store.JobRunning, 2, nil, nil
		want.StartedAt, want.UpdatedAt = ptr(b.clock.Now()), b.clock.Now()
		requireEqual(t, &want, restarted, "restarted job")

		// Terminal jobs do not start.
		lock, err = b.s.JobLocks.Extend(b.ctx, lock, time.Hour)
		requireNoErr(t, err, "extend")
		done, err := b.s.Jobs.MarkSucceeded(b.ctx, lock, nil)
		requireNoErr(t, err, "mark succeeded")
		_, err = b.s.Jobs.MarkStarted(b.ctx, j.ID)
		requireTransition(t, err, "job", j.ID, string(store.JobSucceeded), string(store.JobRunning))
		requireEqual(t, done, b.getJob(t, j.ID), "job after a refused MarkStarted")
	})

	t.Run("Cancel", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		pending := b.job(t, c.ID, store.JobPostConfigure)
		b.clock.Advance(time.Minute)
		got, err := b.s.Jobs.Cancel(b.ctx, pending.ID, "CANCELLED", "user cancelled")
		requireNoErr(t, err, "cancel a PENDING job")
		want := *pending
		want.Status, want.ErrorCode, want.ErrorMessage = store.JobFailed, ptr("CANCELLED"), ptr("user cancelled")
		want.EndedAt, want.UpdatedAt = ptr(b.clock.Now()), b.clock.Now()
		requireEqual(t, &want, got, "cancelled job")
		requireEqual(t, &want, b.getJob(t, pending.ID), "cancelled job read back")

		_, err = b.s.Jobs.Cancel(b.ctx, pending.ID, "AGAIN", "twice")
		requireTransition(t, err, "job", pending.ID, string(store.JobFailed), string(store.JobFailed))
		requireEqual(t, &want, b.getJob(t, pending.ID), "job after a refused Cancel")

		running, lock := b.startedJob(t, "w1", time.Hour)
		_, err = b.s2.Jobs.Cancel(b.ctx, running.ID, "CANCELLED", "too late")
		requireTransition(t, err, "job", running.ID, string(store.JobRunning), string(store.JobFailed))
		requireEqual(t, running, b.getJob(t, running.ID), "running job after a refused Cancel")

		retrying, err := b.s.Jobs.MarkRetry(b.ctx, lock, "TRANSIENT", "later", time.Hour)
		requireNoErr(t, err, "mark retry")
		got, err = b.s.Jobs.Cancel(b.ctx, retrying.ID, "CANCELLED", "gave up")
		requireNoErr(t, err, "cancel a RETRYING job")
		if got.Status != store.JobFailed || got.ErrorCode == nil || *got.ErrorCode != "CANCELLED" || got.EndedAt == nil {
			t.Fatalf("cancelled RETRYING job: %+v", got)
		}
	})

	t.Run("FencedWrites", func(t *testing.T) { t.Parallel(); testFencedWrites(t, setup(t)) })
	t.Run("FencedWritesRefused", func(t *testing.T) { t.Parallel(); testFencedWritesRefused(t, setup(t)) })
	t.Run("LockRunnable", func(t *testing.T) { t.Parallel(); testLockRunnable(t, setup(t)) })
	t.Run("ListStuckAndRequeue", func(t *testing.T) { t.Parallel(); testStuckAndRequeue(t, setup(t)) })
}

// requireJobCount fails unless the store holds n jobs.
func requireJobCount(t *testing.T, b *bundle, n int) {
	t.Helper()
	_, total, err := b.s.Jobs.List(b.ctx, store.JobFilters{Limit: 1})
	requireNoErr(t, err, "count jobs")
	if total != n {
		t.Fatalf("store holds %d jobs, want %d", total, n)
	}
}

// testJobFilters checks every JobFilters field, the (CreatedAt, ID) order
// in both directions, offset paging and the total.
func testJobFilters(t *testing.T, b *bundle) {
	c1, c2 := b.readyCluster(t), b.readyCluster(t)
	var all []*store.Job
	for i := range 9 {
		c := []*store.Cluster{c1, c2}[i%2]
		jt := []store.JobType{store.JobPostConfigure, store.JobConfigureEFS, store.JobHibernate}[i%3]
		all = append(all, b.job(t, c.ID, jt))
		if i%2 == 1 {
			b.clock.Advance(time.Second) // pairs share a CreatedAt
		}
	}
	// all[0] is the oldest job of c1: start it, so two statuses exist.
	started, _ := b.start(t, all[0], "w1", time.Hour)
	all[0] = started
	cases := []struct {
		name  string
		f     store.JobFilters
		match func(*store.Job) bool
	}{
		{"None", store.JobFilters{}, func(*store.Job) bool { return true }},
		{"ClusterID", store.JobFilters{ClusterID: &c2.ID}, func(j *store.Job) bool { return j.ClusterID == c2.ID }},
		{"Status", store.JobFilters{Status: ptr(store.JobRunning)}, func(j *store.Job) bool { return j.Status == store.JobRunning }},
		{"JobType", store.JobFilters{JobType: ptr(store.JobHibernate)}, func(j *store.Job) bool { return j.JobType == store.JobHibernate }},
		{"Combined", store.JobFilters{ClusterID: &c1.ID, Status: ptr(store.JobPending), JobType: ptr(store.JobConfigureEFS)},
			func(j *store.Job) bool {
				return j.ClusterID == c1.ID && j.Status == store.JobPending && j.JobType == store.JobConfigureEFS
			}},
		{"NoMatch", store.JobFilters{ClusterID: ptr("clu_none")}, func(*store.Job) bool { return false }},
	}
	for _, tc := range cases {
		var want []string
		for _, j := range all {
			if tc.match(j) {
				want = append(want, j.ID)
			}
		}
		got, total, err := b.s2.Jobs.List(b.ctx, tc.f)
		requireNoErr(t, err, tc.name)
		requireIDs(t, want, ids(got, jobID), tc.name+" filter")
		if total != len(want) {
			t.Fatalf("%s filter: total %d, want %d", tc.name, total, len(want))
		}
		desc := tc.f
		desc.Desc = true
		got, _, err = b.s.Jobs.List(b.ctx, desc)
		requireNoErr(t, err, tc.name+" desc")
		requireIDs(t, reversed(want), ids(got, jobID), tc.name+" filter, descending")
		page, err := b.s.Jobs.ListAfter(b.ctx, tc.f, "")
		requireNoErr(t, err, tc.name+" ListAfter")
		requireIDs(t, want, ids(page.Items, jobID), tc.name+" filter with ListAfter")
	}
	got, total, err := b.s.Jobs.List(b.ctx, store.JobFilters{Sort: store.JobByCreatedAt, Limit: 4, Offset: 3})
	requireNoErr(t, err, "page")
	requireIDs(t, ids(all[3:7], jobID), ids(got, jobID), "jobs page limit 4 offset 3")
	if total != len(all) {
		t.Fatalf("total %d, want %d", total, len(all))
	}
	got, total, err = b.s.Jobs.List(b.ctx, store.JobFilters{Limit: 4, Offset: 100})
	requireNoErr(t, err, "page past the end")
	if len(got) != 0 || total != len(all) {
		t.Fatalf("page past the end: %d rows, total %d; want 0 rows, total %d", len(got), total, len(all))
	}
}

// testFencedWrites checks the three fenced terminal writes by the current
// holder.
func testFencedWrites(t *testing.T, b *bundle) {
	c := b.readyCluster(t)
	j := b.job(t, c.ID, store.JobPostConfigure, func(j *store.Job) {
		j.Metadata = map[string]string{"keep": "1", "replace": "old"}
	})
	j, lock := b.start(t, j, "w1", time.Hour)
	b.clock.Advance(time.Minute)
	got, err := b.s2.Jobs.MarkSucceeded(b.ctx, lock, map[string]string{"replace": "new", "add": "2"})
	requireNoErr(t, err, "mark succeeded")
	want := *j
	want.Status, want.EndedAt, want.UpdatedAt = store.JobSucceeded, ptr(b.clock.Now()), b.clock.Now()
	want.Metadata = map[string]string{"keep": "1", "replace": "new", "add": "2"}
	requireEqual(t, &want, got, "succeeded job")
	requireEqual(t, &want, b.getJob(t, j.ID), "succeeded job read back")

	j, lock = b.startedJob(t, "w2", time.Hour)
	b.clock.Advance(time.Minute)
	got, err = b.s.Jobs.MarkFailed(b.ctx, lock, "QUOTA", "quota exceeded")
	requireNoErr(t, err, "mark failed")
	want = *j
	want.Status, want.ErrorCode, want.ErrorMessage = store.JobFailed, ptr("QUOTA"), ptr("quota exceeded")
	want.EndedAt, want.UpdatedAt = ptr(b.clock.Now()), b.clock.Now()
	requireEqual(t, &want, got, "failed job")
	requireEqual(t, &want, b.getJob(t, j.ID), "failed job read back")

	j, lock = b.startedJob(t, "w3", time.Hour)
	b.clock.Advance(time.Minute)
	got, err = b.s.Jobs.MarkRetry(b.ctx, lock, "TIMEOUT", "api timeout", 10*time.Minute)
	requireNoErr(t, err, "mark retry")
	want = *j
	want.Status, want.ErrorCode, want.ErrorMessage = store.JobRetrying, ptr("TIMEOUT"), ptr("api timeout")
	want.RetryAt, want.UpdatedAt = ptr(b.clock.Now().Add(10*time.Minute)), b.clock.Now()
	requireEqual(t, &want, got, "retrying job")
	requireEqual(t, &want, b.getJob(t, j.ID), "retrying job read back")
}

// testFencedWritesRefused checks that a fenced write without a current
// lock for a RUNNING job is ErrLockLost and changes nothing.
func testFencedWritesRefused(t *testing.T, b *bundle) {
	writes := map[string]func(*store.Store, *store.JobLock) error{
		"MarkSucceeded": func(s *store.Store, l *store.JobLock) error {
			_, err := s.Jobs.MarkSucceeded(b.ctx, l, map[string]string{"k": "v"})
			return err
		},
		"MarkFailed": func(s *store.Store, l *store.JobLock) error {
			_, err := s.Jobs.MarkFailed(b.ctx, l, "CODE", "msg")
			return err
		},
		"MarkRetry": func(s *store.Store, l *store.JobLock) error {
			_, err := s.Jobs.MarkRetry(b.ctx, l, "CODE", "msg", time.Minute)
			return err
		},
	}
	refused := func(what string, job *store.Job, lock *store.JobLock) {
		t.Helper()
		for name, write := range writes {
			before := b.getJob(t, job.ID)
			b.clock.Advance(time.Second)
			requireErrIs(t, write(b.s2, lock), store.ErrLockLost, name+" "+what)
			requireEqual(t, before, b.getJob(t, job.ID), "job after "+name+" "+what)
		}
	}

	// A job that is not RUNNING, though its lock is current.
	c := b.readyCluster(t)
	pending := b.job(t, c.ID, store.JobPostConfigure)
	lock, err := b.s.JobLocks.Acquire(b.ctx, c.ID, pending.ID, "w1", time.Hour)
	requireNoErr(t, err, "acquire")
	refused("for a PENDING job", pending, lock)

	// A token that is not the cluster's current one.
	running, lock := b.startedJob(t, "w2", time.Hour)
	wrong := *lock
	wrong.Token = lock.Token + 1000
	refused("with a token that was never granted", running, &wrong)

	// The lock of another job of the same cluster.
	other := b.job(t, running.ClusterID, store.JobConfigureEFS)
	other, err = b.s.Jobs.MarkStarted(b.ctx, other.ID)
	requireNoErr(t, err, "start the other job without its lock")
	foreign := *lock
	foreign.JobID = other.ID
	refused("with the token of another job's lock", other, &foreign)

	// A released lock.
	requireNoErr(t, b.s.JobLocks.Release(b.ctx, lock), "release")
	refused("after the lock was released", running, lock)

	// A job that does not exist.
	ghost := *lock
	ghost.JobID = "job_missing"
	for name, write := range writes {
		requireErrIs(t, write(b.s, &ghost), store.ErrLockLost, name+" of a missing job")
	}

	// A finished job cannot be finished again with its (current) lock.
	j, lock := b.startedJob(t, "w3", time.Hour)
	_, err = b.s.Jobs.MarkSucceeded(b.ctx, lock, nil)
	requireNoErr(t, err, "mark succeeded")
	refused("after the job succeeded", j, lock)
}
