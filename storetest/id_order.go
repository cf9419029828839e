package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// idSuffixes make IDs whose byte order differs from a linguistic one: a
// collation such as en-US sorts case and punctuation apart from bytes
// ("B" after "a", "_" all but ignored). They are created in this order,
// which is neither.
var idSuffixes = []string{"_b", "_A1", "-1", "__x", "_a", "_B"}

// testIDOrder: rows created at the same instant are ordered by ID in byte
// order, in every listing, in keyset paging, and in the queue order of a
// cluster's jobs, whatever the database's default collation.
func testIDOrder(t *testing.T, setup setupFunc) {
	// ids returns IDs that differ only in their suffixes, in creation order.
	ids := func(prefix string) []string {
		stem := prefix + uniq("o")
		out := make([]string, len(idSuffixes))
		for i, s := range idSuffixes {
			out[i] = stem + s
		}
		return out
	}
	byteOrder := func(ids []string) []string { return slices.Sorted(slices.Values(ids)) }

	t.Run("Clusters", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		want := ids("clu_")
		for i, id := range want {
			b.cluster(t, func(c *store.Cluster) {
				c.ID, c.Name, c.BaseDomain = id, "same-name", ptr("d"+strings.Repeat("x", i)+".example.com")
			})
		}
		want = byteOrder(want)
		page, _, err := b.s.Clusters.List(b.ctx, store.ClusterFilters{Limit: 50})
		requireNoErr(t, err, "list")
		requireIDs(t, want, clusterIDs(page), "clusters by creation time")
		page, _, err = b.s.Clusters.List(b.ctx, store.ClusterFilters{Limit: 50, Desc: true})
		requireNoErr(t, err, "list descending")
		requireIDs(t, reversed(want), clusterIDs(page), "clusters by creation time, descending")
		page, _, err = b.s.Clusters.List(b.ctx, store.ClusterFilters{Limit: 50, Sort: store.ClusterByName})
		requireNoErr(t, err, "list by name")
		requireIDs(t, want, clusterIDs(page), "clusters of one name")
		var walked []string
		for cursor := ""; ; {
			p, err := b.s2.Clusters.ListAfter(b.ctx, store.ClusterFilters{Limit: 2}, cursor)
			requireNoErr(t, err, "list after")
			walked = append(walked, clusterIDs(p.Items)...)
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		requireIDs(t, want, walked, "keyset pages of clusters")
	})

	t.Run("JobsAndTheirQueue", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		want := ids("job_")
		for _, id := range want {
			b.job(t, c.ID, store.JobPostConfigure, func(j *store.Job) { j.ID = id })
		}
		want = byteOrder(want)
		jobs, _, err := b.s.Jobs.List(b.ctx, store.JobFilters{ClusterID: &c.ID, Limit: 50})
		requireNoErr(t, err, "list jobs")
		got := make([]string, len(jobs))
		for i, j := range jobs {
			got[i] = j.ID
		}
		requireIDs(t, want, got, "jobs by creation time")
		// A cluster's jobs run in (created_at, id) order: the first in
		// byte order is claimed first.
		cl, err := b.s2.Claim(b.ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Minute})
		requireNoErr(t, err, "claim")
		if cl.Job.ID != want[0] {
			t.Fatalf("claimed %s first, want %s (queue order %v)", cl.Job.ID, want[0], want)
		}
	})

	t.Run("AuditNewestFirst", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		action := uniq("order")
		want := ids("aud_")
		for _, id := range want {
			requireNoErr(t, b.s.Audit.Log(b.ctx, &store.AuditEvent{ID: id, Actor: "a", Action: action,
				Status: store.AuditSuccess}), "log")
		}
		events, _, err := b.s2.Audit.List(b.ctx, store.AuditFilters{Action: &action, Limit: 50})
		requireNoErr(t, err, "list events")
		got := make([]string, len(events))
		for i, e := range events {
			got[i] = e.ID
		}
		requireIDs(t, reversed(byteOrder(want)), got, "events, newest first")
	})
}

// clusterIDs returns the clusters' IDs in order.
func clusterIDs(cs []*store.Cluster) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
