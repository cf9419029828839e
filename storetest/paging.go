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

// pageSize is the page size of the keyset walks: small, so a walk has
// many pages.
const pageSize = 5

// testKeysetPaging walks ListAfter of clusters (by creation time and by
// name, both directions), jobs and audit events page by page while rows
// are inserted between pages: no row may be skipped or repeated, the order
// must hold across pages, and a cursor is refused with another sort.
func testKeysetPaging(t *testing.T, setup setupFunc) {
	for _, sort := range []store.ClusterSort{store.ClusterByCreatedAt, store.ClusterByName} {
		for _, desc := range []bool{false, true} {
			t.Run(fmt.Sprintf("Clusters/%s/desc=%v", sort, desc), func(t *testing.T) {
				t.Parallel()
				testClusterKeyset(t, setup(t), sort, desc)
			})
		}
	}
	for _, desc := range []bool{false, true} {
		t.Run(fmt.Sprintf("Jobs/desc=%v", desc), func(t *testing.T) {
			t.Parallel()
			testJobKeyset(t, setup(t), desc)
		})
	}
	t.Run("Audit", func(t *testing.T) { t.Parallel(); testAuditKeyset(t, setup(t)) })
	t.Run("CursorOfAnotherSortRefused", func(t *testing.T) { t.Parallel(); testCursorRefused(t, setup(t)) })
}

// walkPages fetches pages until Next is "", calling between(i) after page
// i, and returns every item in order. It fails on a repeated item, on an
// item out of order (compare must be strictly increasing along the walk),
// on a short page that is not the last and on a walk that does not end.
func walkPages[T any](t *testing.T, fetch func(cursor string) (store.Page[T], error), between func(page int),
	compare func(a, b T) int, id func(T) string) []T {
	t.Helper()
	var all []T
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatalf("keyset walk did not end after %d pages", page)
		}
		p, err := fetch(cursor)
		requireNoErr(t, err, fmt.Sprintf("page %d", page))
		if len(p.Items) > pageSize || (p.Next != "" && len(p.Items) != pageSize) {
			t.Fatalf("page %d holds %d items with Next %q, want %d (fewer only on the last page)", page, len(p.Items), p.Next, pageSize)
		}
		for _, it := range p.Items {
			if seen[id(it)] {
				t.Fatalf("page %d repeats %s", page, id(it))
			}
			seen[id(it)] = true
			if n := len(all); n > 0 && compare(all[n-1], it) >= 0 {
				t.Fatalf("page %d: %s comes after %s out of order", page, id(it), id(all[n-1]))
			}
			all = append(all, it)
		}
		if p.Next == "" {
			return all
		}
		cursor = p.Next
		between(page)
	}
}

// requireSameSet fails unless got holds exactly the IDs of want, in any order.
func requireSameSet(t *testing.T, want, got []string, what string) {
	t.Helper()
	w, g := slices.Clone(want), slices.Clone(got)
	slices.Sort(w)
	slices.Sort(g)
	if !slices.Equal(w, g) {
		t.Fatalf("%s: got %d rows %v, want %d rows %v", what, len(g), g, len(w), w)
	}
}

// testClusterKeyset walks clusters in one order while inserting, between
// pages, clusters that sort before everything and clusters that sort after
// everything: exactly the initial ones plus those that sort after must
// come back.
func testClusterKeyset(t *testing.T, b *bundle, sort store.ClusterSort, desc bool) {
	const n = 23
	var initial []string
	for i := range n {
		c := b.cluster(t, func(c *store.Cluster) {
			c.Name = fmt.Sprintf("m-%02d", (i*7%n)/2) // shuffled, some names twice
			c.BaseDomain = ptr(uniq("d") + ".example.com")
		})
		initial = append(initial, c.ID)
		if i%3 == 0 {
			b.clock.Advance(time.Second)
		}
	}
	// Rows inserted between pages are newer than every initial row; by
	// name, "0…" sorts before and "~…" after every initial "m-…" name.
	// Those that sort after the cursor must come back, the others not.
	comesAfter := func(name string) bool {
		if sort == store.ClusterByCreatedAt {
			return !desc
		}
		return strings.HasPrefix(name, "~") != desc
	}
	var early, late []string
	between := func(page int) {
		b.clock.Advance(time.Minute)
		// Later "0…" names sort lower and later "~…" names higher, so each
		// sorts past every earlier one in the walk's direction.
		for _, name := range []string{fmt.Sprintf("0-new-%02d", 99-page), fmt.Sprintf("~new-%02d", page)} {
			c := b.cluster(t, func(c *store.Cluster) { c.Name = name })
			if comesAfter(name) {
				late = append(late, c.ID)
			} else {
				early = append(early, c.ID)
			}
		}
	}
	compare := func(x, y *store.Cluster) int {
		var c int
		if sort == store.ClusterByName {
			c = cmp.Or(strings.Compare(x.Name, y.Name), strings.Compare(x.ID, y.ID))
		} else {
			c = cmp.Or(x.CreatedAt.Compare(y.CreatedAt), strings.Compare(x.ID, y.ID))
		}
		if desc {
			return -c
		}
		return c
	}
	f := store.ClusterFilters{Sort: sort, Desc: desc, Limit: pageSize}
	calls := 0
	got := walkPages(t, func(cursor string) (store.Page[*store.Cluster], error) {
		calls++
		return b.handle(calls).Clusters.ListAfter(b.ctx, f, cursor)
	}, between, compare, clusterID)
	requireSameSet(t, append(slices.Clone(initial), late...), ids(got, clusterID), "clusters walked")
	if sort == store.ClusterByName && (len(early) == 0 || len(late) == 0) {
		t.Fatalf("inserted %d clusters sorting before the walk and %d after, want some of each", len(early), len(late))
	}
	if len(early)+len(late) == 0 {
		t.Fatal("no cluster was inserted during the walk")
	}
}

// testJobKeyset walks one cluster's jobs while inserting jobs (always
// newer) between pages, and jobs of another cluster that must not appear.
func testJobKeyset(t *testing.T, b *bundle, desc bool) {
	c, other := b.readyCluster(t), b.readyCluster(t)
	var initial, inserted []string
	for i := range 17 {
		initial = append(initial, b.job(t, c.ID, store.JobPostConfigure).ID)
		if i%4 == 0 {
			b.clock.Advance(time.Second)
		}
	}
	between := func(int) {
		b.clock.Advance(time.Minute)
		inserted = append(inserted, b.job(t, c.ID, store.JobConfigureEFS).ID)
		b.job(t, other.ID, store.JobConfigureEFS)
	}
	compare := func(x, y *store.Job) int {
		c := cmp.Or(x.CreatedAt.Compare(y.CreatedAt), strings.Compare(x.ID, y.ID))
		if desc {
			return -c
		}
		return c
	}
	f := store.JobFilters{ClusterID: &c.ID, Desc: desc, Limit: pageSize}
	calls := 0
	got := walkPages(t, func(cursor string) (store.Page[*store.Job], error) {
		calls++
		return b.handle(calls).Jobs.ListAfter(b.ctx, f, cursor)
	}, between, compare, jobID)
	want := slices.Clone(initial)
	if !desc {
		want = append(want, inserted...) // newer rows come after the cursor
	}
	requireSameSet(t, want, ids(got, jobID), "jobs walked")
	if len(inserted) == 0 {
		t.Fatal("no job was inserted during the walk")
	}
}

// testAuditKeyset walks audit events newest first while logging newer
// events between pages: exactly the initial events come back.
func testAuditKeyset(t *testing.T, b *bundle) {
	var initial []string
	log := func(action string) string {
		e := &store.AuditEvent{Actor: "walker", Action: action, Status: store.AuditSuccess}
		requireNoErr(t, b.s.Audit.Log(b.ctx, e), "log")
		return e.ID
	}
	for i := range 19 {
		initial = append(initial, log("initial"))
		if i%3 == 0 {
			b.clock.Advance(time.Second)
		}
	}
	compare := func(x, y *store.AuditEvent) int {
		return -cmp.Or(x.CreatedAt.Compare(y.CreatedAt), strings.Compare(x.ID, y.ID))
	}
	calls := 0
	got := walkPages(t, func(cursor string) (store.Page[*store.AuditEvent], error) {
		calls++
		return b.handle(calls).Audit.ListAfter(b.ctx, store.AuditFilters{Limit: pageSize}, cursor)
	}, func(int) {
		b.clock.Advance(time.Minute)
		log("inserted")
	}, compare, auditID)
	requireSameSet(t, initial, ids(got, auditID), "audit events walked")
}

// testCursorRefused checks that a cursor only works with the sort and
// direction it was made for, and that garbage is refused.
func testCursorRefused(t *testing.T, b *bundle) {
	c := b.readyCluster(t)
	for range 3 {
		b.cluster(t)
		b.job(t, c.ID, store.JobPostConfigure)
	}
	page, err := b.s.Clusters.ListAfter(b.ctx, store.ClusterFilters{Limit: 1}, "")
	requireNoErr(t, err, "first page by creation time")
	byTime := page.Next
	page, err = b.s.Clusters.ListAfter(b.ctx, store.ClusterFilters{Sort: store.ClusterByName, Limit: 1}, "")
	requireNoErr(t, err, "first page by name")
	byName := page.Next
	jobs, err := b.s.Jobs.ListAfter(b.ctx, store.JobFilters{Limit: 1}, "")
	requireNoErr(t, err, "first page of jobs")
	if byTime == "" || byName == "" || jobs.Next == "" {
		t.Fatal("a first page of one row out of several has no Next cursor")
	}

	_, err = b.s.Clusters.ListAfter(b.ctx, store.ClusterFilters{Sort: store.ClusterByName, Limit: 1}, byTime)
	requireInvalid(t, err, "cursor")
	_, err = b.s2.Clusters.ListAfter(b.ctx, store.ClusterFilters{Limit: 1}, byName)
	requireInvalid(t, err, "cursor")
	_, err = b.s.Clusters.ListAfter(b.ctx, store.ClusterFilters{Desc: true, Limit: 1}, byTime)
	requireInvalid(t, err, "cursor")
	_, err = b.s.Jobs.ListAfter(b.ctx, store.JobFilters{Desc: true, Limit: 1}, jobs.Next)
	requireInvalid(t, err, "cursor")
	_, err = b.s.Audit.ListAfter(b.ctx, store.AuditFilters{Limit: 1}, byName)
	requireInvalid(t, err, "cursor")
	_, err = b.s.Clusters.ListAfter(b.ctx, store.ClusterFilters{Limit: 1}, "not a cursor!")
	requireInvalid(t, err, "cursor")

	// The cursor still works with its own sort.
	next, err := b.s2.Clusters.ListAfter(b.ctx, store.ClusterFilters{Sort: store.ClusterByName, Limit: 1}, byName)
	requireNoErr(t, err, "second page by name")
	if len(next.Items) != 1 {
		t.Fatalf("second page by name holds %d clusters, want 1", len(next.Items))
	}
}
