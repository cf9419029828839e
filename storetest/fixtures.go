package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// epoch is where every subtest's ManualClock starts. It has a non-zero
// microsecond part so that precision loss shows.
var epoch = time.Date(2031, time.March, 4, 5, 6, 7, 891011000, time.UTC)

// bundle is what one subtest works with: two handles onto the same fresh
// data, the clock both use, and a context that ends with the subtest.
type bundle struct {
	s     *store.Store // primary handle
	s2    *store.Store // secondary handle: another "process" on the same data
	clock *store.ManualClock
	ctx   context.Context
}

// setupFunc hands a subtest its bundle.
type setupFunc func(t *testing.T) *bundle

// newSetup returns the setup of the suite: every call gets fresh data from
// the factory and a new ManualClock at epoch.
func newSetup(f Factory) setupFunc {
	return func(t *testing.T) *bundle {
		t.Helper()
		clock := store.NewManualClock(epoch)
		s, s2 := f(t, clock)
		if s == nil || s2 == nil {
			t.Fatal("factory returned a nil store")
		}
		return &bundle{s: sealed(s), s2: sealed(s2), clock: clock, ctx: t.Context()}
	}
}

// handle returns the primary handle for even i and the secondary for odd
// i, to split concurrent work over both.
func (b *bundle) handle(i int) *store.Store {
	if i%2 == 0 {
		return b.s
	}
	return b.s2
}

// seq makes fixture names unique across the whole suite.
var seq atomic.Int64

// uniq returns prefix followed by a number never returned before.
func uniq(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// validCluster returns a valid, unsaved cluster with a unique name and no
// ID, with mods applied.
func validCluster(mods ...func(*store.Cluster)) *store.Cluster {
	c := &store.Cluster{
		Name:        uniq("cluster"),
		Platform:    store.PlatformAWS,
		Version:     "4.18.1",
		Profile:     "aws-standard",
		Region:      "us-east-1",
		BaseDomain:  ptr("example.com"),
		Owner:       "owner@example.com",
		Team:        "team-a",
		CostCenter:  "cc-100",
		RequestedBy: "requester@example.com",
		TTLHours:    24,
	}
	for _, m := range mods {
		m(c)
	}
	return c
}

// withStatus sets a cluster's status.
func withStatus(s store.ClusterStatus) func(*store.Cluster) {
	return func(c *store.Cluster) { c.Status = s }
}

// cluster creates a valid cluster on the primary handle.
func (b *bundle) cluster(t *testing.T, mods ...func(*store.Cluster)) *store.Cluster {
	t.Helper()
	c := validCluster(mods...)
	if err := b.s.Clusters.Create(b.ctx, c); err != nil {
		t.Fatalf("create cluster fixture: %v", err)
	}
	return c
}

// readyCluster creates a READY cluster.
func (b *bundle) readyCluster(t *testing.T) *store.Cluster {
	t.Helper()
	return b.cluster(t, withStatus(store.ClusterReady))
}

// job creates a PENDING job of type jt on cluster clusterID.
func (b *bundle) job(t *testing.T, clusterID string, jt store.JobType, mods ...func(*store.Job)) *store.Job {
	t.Helper()
	j := &store.Job{ClusterID: clusterID, JobType: jt}
	for _, m := range mods {
		m(j)
	}
	if err := b.s.Jobs.Create(b.ctx, j); err != nil {
		t.Fatalf("create job fixture: %v", err)
	}
	return j
}

// maxAttempts sets a job's MaxAttempts.
func maxAttempts(n int) func(*store.Job) { return func(j *store.Job) { j.MaxAttempts = n } }

// startedJob creates a READY cluster and a day-2 job on it, acquires the
// cluster's lock for the job as worker for ttl and marks the job started:
// a job as a worker holds it.
func (b *bundle) startedJob(t *testing.T, worker string, ttl time.Duration) (*store.Job, *store.JobLock) {
	t.Helper()
	c := b.readyCluster(t)
	j := b.job(t, c.ID, store.JobPostConfigure)
	return b.start(t, j, worker, ttl)
}

// start acquires j's cluster lock and marks j started.
func (b *bundle) start(t *testing.T, j *store.Job, worker string, ttl time.Duration) (*store.Job, *store.JobLock) {
	t.Helper()
	lock, err := b.s.JobLocks.Acquire(b.ctx, j.ClusterID, j.ID, worker, ttl)
	if err != nil {
		t.Fatalf("acquire lock fixture: %v", err)
	}
	j, err = b.s.Jobs.MarkStarted(b.ctx, j.ID)
	if err != nil {
		t.Fatalf("mark started fixture: %v", err)
	}
	return j, lock
}

// getCluster reads a cluster through the primary handle.
func (b *bundle) getCluster(t *testing.T, id string) *store.Cluster {
	t.Helper()
	c, err := b.s.Clusters.GetByID(b.ctx, id)
	if err != nil {
		t.Fatalf("get cluster %s: %v", id, err)
	}
	return c
}

// getJob reads a job through the primary handle.
func (b *bundle) getJob(t *testing.T, id string) *store.Job {
	t.Helper()
	j, err := b.s.Jobs.GetByID(b.ctx, id)
	if err != nil {
		t.Fatalf("get job %s: %v", id, err)
	}
	return j
}

// claim claims one job with the given worker on the primary handle.
func (b *bundle) claim(t *testing.T, worker string, types ...store.JobType) *store.Claimed {
	t.Helper()
	c, err := b.s.Claim(b.ctx, store.ClaimParams{WorkerID: worker, LockTTL: time.Hour, JobTypes: types})
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return c
}

// requireNoJob asserts that Claim finds nothing runnable.
func (b *bundle) requireNoJob(t *testing.T, types ...store.JobType) {
	t.Helper()
	c, err := b.s.Claim(b.ctx, store.ClaimParams{WorkerID: "probe", LockTTL: time.Hour, JobTypes: types})
	if !errors.Is(err, store.ErrNoJob) {
		t.Fatalf("claim: got %v (job %v), want ErrNoJob", err, claimedJobID(c))
	}
}

// claimedJobID names the job of a Claimed for messages.
func claimedJobID(c *store.Claimed) string {
	if c == nil || c.Job == nil {
		return "<none>"
	}
	return c.Job.ID
}

// auditActions returns the actions of the audit events recorded for a
// job, oldest first.
func (b *bundle) auditActions(t *testing.T, jobID string) []string {
	t.Helper()
	evs, _, err := b.s.Audit.List(b.ctx, store.AuditFilters{JobID: &jobID, Limit: store.MaxLimit})
	if err != nil {
		t.Fatalf("list audit events of job %s: %v", jobID, err)
	}
	out := make([]string, 0, len(evs))
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, evs[i].Action)
	}
	return out
}

// long returns a string of n bytes.
func long(n int) string { return strings.Repeat("x", n) }
