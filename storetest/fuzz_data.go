package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// fuzzValues are the string values the listing fuzz targets' rows hold:
// the seeds filter by them, and the fuzzer mutates from there. LIKE
// wildcards and quotes among them must match only themselves.
var fuzzValues = []string{"team-a", "team-b", "%", "_", "a_c", "abc", "A_C", "é", "'; DROP TABLE clusters; --", " a"}

// fuzzOwnerIDs are the owner UUIDs of the rows (lower case: the store
// refuses upper case).
var fuzzOwnerIDs = []string{"00000000-0000-4000-8000-000000000001", "abcdef00-0000-4000-8000-00000000000a"}

// Row counts of the listing fuzz targets' data, and the IDs the rows get,
// so seeds can name them: clu_fz00, job_fz00, aud_fz00, ….
const (
	fuzzClusters = 24
	fuzzJobs     = 30
	fuzzEvents   = 30
)

// listData is what the listing fuzz targets wrote, as read back: the
// model their results are checked against.
type listData struct {
	clusters []*store.Cluster
	jobs     []*store.Job
	events   []*store.AuditEvent
}

// seedListData writes the listing targets' rows through s: clusters of
// every status, platform and type with repeated names and values, jobs of
// every type in three statuses, audit events; several rows share a
// creation time, so the ID tie-breaks matter.
func seedListData(tb testing.TB, s *store.Store, clock *store.ManualClock) *listData {
	tb.Helper()
	ctx := tb.Context()
	must := func(err error, what string) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("seed %s: %v", what, err)
		}
	}
	d := &listData{}
	n := len(fuzzValues)
	for i := range fuzzClusters {
		if i%4 == 0 {
			clock.Advance(time.Second)
		}
		c := &store.Cluster{ID: fmt.Sprintf("clu_fz%02d", i), Name: fmt.Sprintf("n-%02d", i*7%fuzzClusters/2),
			Platform: store.Platforms()[i%4], ClusterType: store.ClusterTypes()[i%7], Version: "4.18",
			Profile: fuzzValues[i/3%n], Region: fuzzValues[i/5%n], BaseDomain: ptr(fmt.Sprintf("d%d.example.com", i)),
			Owner: fuzzValues[i/2%n], Team: fuzzValues[i%n], CostCenter: "cc", Status: store.ClusterStatuses()[i%11],
			RequestedBy: "r", TTLHours: 1}
		if i%3 != 0 {
			c.OwnerID = &fuzzOwnerIDs[i%2]
		}
		must(s.Clusters.Create(ctx, c), "cluster")
		got, err := s.Clusters.GetByID(ctx, c.ID)
		must(err, "get cluster")
		d.clusters = append(d.clusters, got)
	}
	for i := range fuzzJobs {
		if i%4 == 0 {
			clock.Advance(time.Second)
		}
		j := &store.Job{ID: fmt.Sprintf("job_fz%02d", i), ClusterID: d.clusters[i%fuzzClusters].ID, JobType: store.JobTypes()[i%13]}
		must(s.Jobs.Create(ctx, j), "job")
		var err error
		switch i % 3 {
		case 1:
			_, err = s.Jobs.Cancel(ctx, j.ID, "C", "m")
		case 2:
			_, err = s.Jobs.MarkStarted(ctx, j.ID)
		}
		must(err, "job status")
		got, err := s.Jobs.GetByID(ctx, j.ID)
		must(err, "get job")
		d.jobs = append(d.jobs, got)
	}
	for i := range fuzzEvents {
		if i%2 == 0 {
			clock.Advance(time.Second)
		}
		e := &store.AuditEvent{ID: fmt.Sprintf("aud_fz%02d", i), Actor: fuzzValues[i%n], Action: fuzzValues[i/2%n],
			Status: store.AuditStatuses()[i%3]}
		if i%2 == 0 {
			e.TargetClusterID = &d.clusters[i%fuzzClusters].ID
		}
		if i%3 == 0 {
			e.TargetJobID = &d.jobs[i].ID
		}
		must(s.Audit.Log(ctx, e), "event")
		d.events = append(d.events, e)
	}
	return d
}

// eqOpt reports whether an optional filter value is unset or equal to v.
func eqOpt[T comparable](f *T, v T) bool { return f == nil || *f == v }

// modelClusters returns the clusters matching f, in f's order.
func (d *listData) modelClusters(f store.ClusterFilters) []*store.Cluster {
	var out []*store.Cluster
	for _, c := range d.clusters {
		if eqOpt(f.Team, c.Team) && eqOpt(f.Owner, c.Owner) && eqOpt(f.Status, c.Status) &&
			eqOpt(f.Platform, c.Platform) && eqOpt(f.ClusterType, c.ClusterType) && eqOpt(f.Profile, c.Profile) &&
			eqOpt(f.Region, c.Region) && (f.OwnerID == nil || c.OwnerID != nil && *f.OwnerID == *c.OwnerID) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *store.Cluster) int { return clusterKeyCmp(f, a, b) })
	return out
}

// clusterKeyCmp orders clusters as a listing with f's sort does.
func clusterKeyCmp(f store.ClusterFilters, a, b *store.Cluster) int {
	var c int
	if f.Sort == store.ClusterByName {
		c = cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	} else {
		c = cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	}
	if f.Desc {
		return -c
	}
	return c
}

// modelJobs returns the jobs matching f, in f's order.
func (d *listData) modelJobs(f store.JobFilters) []*store.Job {
	var out []*store.Job
	for _, j := range d.jobs {
		if eqOpt(f.ClusterID, j.ClusterID) && eqOpt(f.Status, j.Status) && eqOpt(f.JobType, j.JobType) {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b *store.Job) int { return timeIDCmp(a.CreatedAt, b.CreatedAt, a.ID, b.ID, f.Desc) })
	return out
}

// modelEvents returns the events matching f, newest first.
func (d *listData) modelEvents(f store.AuditFilters) []*store.AuditEvent {
	var out []*store.AuditEvent
	for _, e := range d.events {
		if eqOpt(f.Actor, e.Actor) && eqOpt(f.Action, e.Action) && eqOpt(f.Status, e.Status) &&
			(f.ClusterID == nil || e.TargetClusterID != nil && *e.TargetClusterID == *f.ClusterID) &&
			(f.JobID == nil || e.TargetJobID != nil && *e.TargetJobID == *f.JobID) &&
			(f.Since == nil || !e.CreatedAt.Before(*f.Since)) && (f.Until == nil || e.CreatedAt.Before(*f.Until)) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *store.AuditEvent) int { return timeIDCmp(a.CreatedAt, b.CreatedAt, a.ID, b.ID, true) })
	return out
}

// timeIDCmp orders rows by (time, ID), descending when desc.
func timeIDCmp(at, bt time.Time, aid, bid string, desc bool) int {
	c := cmp.Or(at.Compare(bt), strings.Compare(aid, bid))
	if desc {
		return -c
	}
	return c
}

// pageOf returns rows[offset:offset+limit] (limit 0 meaning the default).
func pageOf[T any](rows []T, limit, offset int) []T {
	limit = store.EffectiveLimit(limit)
	if offset >= len(rows) {
		return nil
	}
	return rows[offset:min(len(rows), offset+limit)]
}

// walkAll follows a keyset listing from the page after cursor ("" for
// the first) to the last and returns every item, failing t when a page is
// longer than limit, when a page but the last is short, or when the walk
// does not end.
func walkAll[T any](t *testing.T, limit int, cursor string, fetch func(cursor string) (store.Page[T], error), what string) []T {
	t.Helper()
	limit = store.EffectiveLimit(limit)
	var all []T
	for page := 0; ; page++ {
		if page > 200 {
			t.Fatalf("%s: keyset walk did not end", what)
		}
		p, err := fetch(cursor)
		if err != nil {
			t.Fatalf("%s: page %d: %v", what, page, err)
		}
		if len(p.Items) > limit || (p.Next != "" && len(p.Items) != limit) {
			t.Fatalf("%s: page %d holds %d items with Next %q, limit %d", what, page, len(p.Items), p.Next, limit)
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			return all
		}
		cursor = p.Next
	}
}
