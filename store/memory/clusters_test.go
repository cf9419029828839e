package memory_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// TestClusterListingModel compares List and ListAfter, on both the index
// walk and the scan path (inside a transaction that wrote a cluster),
// against filtering and sorting everything, for random filters and orders.
func TestClusterListingModel(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rnd := rand.New(rand.NewPCG(5, 6))
	statuses := []store.ClusterStatus{store.ClusterPending, store.ClusterReady, store.ClusterFailed}
	teams := []string{"a", "b", "c"}
	var all []*store.Cluster
	for i := range 120 {
		c := f.cluster(t, func(c *store.Cluster) {
			c.Name = fmt.Sprintf("n%02d-%d", rnd.IntN(40), i)
			c.Status = statuses[rnd.IntN(len(statuses))]
			c.Team = teams[rnd.IntN(len(teams))]
			c.Owner = teams[rnd.IntN(len(teams))]
		})
		all = append(all, c)
		if rnd.IntN(3) == 0 { // ties on CreatedAt are common
			f.clock.Advance(time.Millisecond)
		}
	}
	// Move some clusters so the status groups are not in insertion order.
	for _, c := range all[:20] {
		if c.Status == store.ClusterReady {
			got := get(f.s.Clusters.UpdateStatus(f.ctx, c.ID, store.ClusterHibernating))(t)
			*c = *got
		}
	}

	model := func(fl store.ClusterFilters, extra []*store.Cluster) []string {
		var rows []*store.Cluster
		for _, c := range append(slices.Clone(all), extra...) {
			if (fl.Status == nil || c.Status == *fl.Status) && (fl.Team == nil || c.Team == *fl.Team) &&
				(fl.Owner == nil || c.Owner == *fl.Owner) {
				rows = append(rows, c)
			}
		}
		slices.SortFunc(rows, func(a, b *store.Cluster) int {
			var c int
			if fl.Sort == store.ClusterByName {
				c = cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
			} else {
				c = cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
			}
			if fl.Desc {
				return -c
			}
			return c
		})
		var ids []string
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
		return ids
	}

	check := func(s *store.Store, extra []*store.Cluster, what string) {
		for range 150 {
			var fl store.ClusterFilters
			if rnd.IntN(2) == 0 {
				fl.Status = ptr(append(statuses, store.ClusterHibernating)[rnd.IntN(4)])
			}
			if rnd.IntN(2) == 0 {
				fl.Team = ptr(teams[rnd.IntN(3)])
			}
			if rnd.IntN(3) == 0 {
				fl.Owner = ptr(teams[rnd.IntN(3)])
			}
			if rnd.IntN(3) == 0 {
				fl.Sort = store.ClusterByName
			}
			fl.Desc = rnd.IntN(2) == 0
			fl.Limit = 1 + rnd.IntN(15)
			want := model(fl, extra)

			fl.Offset = rnd.IntN(len(want) + 3)
			rows, total, err := s.Clusters.List(f.ctx, fl)
			must(t, err)
			var got []string
			for _, r := range rows {
				got = append(got, r.ID)
			}
			page := want[min(fl.Offset, len(want)):min(fl.Offset+fl.Limit, len(want))]
			if total != len(want) || !slices.Equal(got, page) && len(got)+len(page) > 0 {
				t.Fatalf("%s: List(%+v) = %d %v, want %d %v", what, fl, total, got, len(want), page)
			}

			fl.Offset = 0
			got = nil
			cursor := ""
			for {
				p := get(s.Clusters.ListAfter(f.ctx, fl, cursor))(t)
				for _, r := range p.Items {
					got = append(got, r.ID)
				}
				if p.Next == "" {
					break
				}
				cursor = p.Next
			}
			if !slices.Equal(got, want) && len(got)+len(want) > 0 {
				t.Fatalf("%s: ListAfter(%+v) pages = %v, want %v", what, fl, got, want)
			}
		}
	}
	check(f.s, nil, "autocommit")
	must(t, f.s.WithTx(f.ctx, func(ctx context.Context, tx *store.Store) error {
		c := newCluster(func(c *store.Cluster) { c.Team, c.Owner, c.Status = "b", "b", store.ClusterReady })
		must(t, tx.Clusters.Create(ctx, c))
		check(tx, []*store.Cluster{c}, "in a transaction")
		return nil
	}))
}

// TestNoSharedState: neither the value passed to a write nor the value a
// read returns shares memory with the stored row.
func TestNoSharedState(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := newCluster(func(c *store.Cluster) { c.RequestTags = map[string]string{"k": "v"} })
	must(t, f.s.Clusters.Create(f.ctx, c))
	c.RequestTags["k"] = "changed by the caller"
	*c.BaseDomain = "changed.example.com"

	got := get(f.s.Clusters.GetByID(f.ctx, c.ID))(t)
	got.RequestTags["k"] = "changed through a read"
	*got.BaseDomain = "read.example.com"

	tags := map[string]string{"e": "1"}
	get(f.s.Clusters.Update(f.ctx, c.ID, store.ClusterUpdate{EffectiveTags: &tags}))(t)
	tags["e"] = "changed after update"

	again := get(f.s2.Clusters.GetByID(f.ctx, c.ID))(t)
	if again.RequestTags["k"] != "v" || *again.BaseDomain != "example.com" || again.EffectiveTags["e"] != "1" {
		t.Fatalf("stored cluster changed through a caller's value: %+v", again)
	}
}
