package memory

import (
	"context"
	"iter"
	"slices"

	"github.com/ocpctl/ocpstore/store"
)

// The cluster listings: List, ListAfter and ListExpired.

// clusterOrder is a ClusterFilters sort order, total thanks to the ID.
type clusterOrder struct {
	byName, desc bool
}

func orderOf(f *store.ClusterFilters) clusterOrder {
	return clusterOrder{byName: f.Sort == store.ClusterByName, desc: f.Desc}
}

func (o clusterOrder) cmp(a, b *store.Cluster) int {
	if o.byName {
		return byStringID(a.Name, b.Name, a.ID, b.ID, o.desc)
	}
	return byTimeID(a.CreatedAt, b.CreatedAt, a.ID, b.ID, o.desc)
}

func (o clusterOrder) sort() string {
	if o.byName {
		return string(store.ClusterByName)
	}
	return string(store.ClusterByCreatedAt)
}

// cursor is the keyset cursor pointing after c.
func (o clusterOrder) cursor(c *store.Cluster) store.Cursor {
	key := store.TimeKey(c.CreatedAt)
	if o.byName {
		key = c.Name
	}
	return store.Cursor{Sort: o.sort(), Desc: o.desc, Key: key, ID: c.ID}
}

// probe decodes cursor into a row that sorts where the cursor points.
func (o clusterOrder) probe(cursor string) (*store.Cluster, error) {
	c, err := store.DecodeCursor(cursor, o.sort(), o.desc)
	if err != nil {
		return nil, err
	}
	p := &store.Cluster{ID: c.ID, Name: c.Key}
	if !o.byName {
		if p.CreatedAt, err = store.ParseTimeKey(c.Key); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// matchCluster reports whether c passes every filter of f.
func matchCluster(f *store.ClusterFilters, c *store.Cluster) bool {
	return (f.Team == nil || c.Team == *f.Team) &&
		(f.Owner == nil || c.Owner == *f.Owner) &&
		(f.OwnerID == nil || c.OwnerID != nil && *c.OwnerID == *f.OwnerID) &&
		(f.Status == nil || c.Status == *f.Status) &&
		(f.Platform == nil || c.Platform == *f.Platform) &&
		(f.ClusterType == nil || c.ClusterType == *f.ClusterType) &&
		(f.Profile == nil || c.Profile == *f.Profile) &&
		(f.Region == nil || c.Region == *f.Region)
}

// matchClusters returns the clusters passing f (and keep, when not nil),
// visiting only the smaller index group a filter on status or team selects.
func (v *dbView) matchClusters(f *store.ClusterFilters, keep func(*store.Cluster) bool) []*store.Cluster {
	var rows iter.Seq2[string, *store.Cluster]
	if g, k, ok := v.smallestGroup(f); ok {
		rows = v.clusters.in(g, k)
	} else {
		rows = v.clusters.all()
	}
	var out []*store.Cluster
	for _, c := range rows {
		if matchCluster(f, c) && (keep == nil || keep(c)) {
			out = append(out, c)
		}
	}
	return out
}

// smallestGroup returns the status or team index group f selects with the
// fewest committed rows; ok is false when f filters on neither.
func (v *dbView) smallestGroup(f *store.ClusterFilters) (g *orderedIndex[store.Cluster], k string, ok bool) {
	if f.Status != nil {
		g, k, ok = v.db.clusterStatus, string(*f.Status), true
	}
	if f.Team != nil && (!ok || v.db.clusterTeam.count(*f.Team) < g.count(k)) {
		g, k, ok = v.db.clusterTeam, *f.Team, true
	}
	return g, k, ok
}

// sortedClusters returns, when the listing can walk an index instead of
// scanning and sorting, the committed rows in the listing's ascending order
// that hold every match of f, and whether they all match (no filter but
// the index key). In creation order that is the smallest status or team
// group f selects, else every cluster; in name order, every cluster in
// name order when f filters on neither status nor team. ok is false for a
// name-sorted listing filtered on status or team (the general path picks
// its page from the group, which is in creation order), and when the
// caller's transaction wrote clusters (its overlay needs the general path).
func (v *dbView) sortedClusters(f *store.ClusterFilters) (rows []*store.Cluster, allMatch, ok bool) {
	if !v.clusters.clean() {
		return nil, false, false
	}
	rest := *f // the filters the index does not apply
	g, k, found := v.smallestGroup(f)
	switch {
	case f.Sort == store.ClusterByName && found:
		return nil, false, false
	case f.Sort == store.ClusterByName:
		g, k = v.db.clusterByName, ""
	case !found:
		g, k = v.db.clusterAll, ""
	case g == v.db.clusterStatus:
		rest.Status = nil
	default:
		rest.Team = nil
	}
	rest.Sort, rest.Desc, rest.Limit, rest.Offset = "", false, 0, 0
	return g.groups[k], rest == store.ClusterFilters{}, true
}

// walk yields rows[from:] in f's direction (from counts in that direction).
func walk(rows []*store.Cluster, desc bool, from int) iter.Seq[*store.Cluster] {
	return func(yield func(*store.Cluster) bool) {
		for i := from; i < len(rows); i++ {
			j := i
			if desc {
				j = len(rows) - 1 - i
			}
			if !yield(rows[j]) {
				return
			}
		}
	}
}

func (s executor) ClusterList(ctx context.Context, f store.ClusterFilters) ([]*store.Cluster, int, error) {
	var out []*store.Cluster
	var total int
	limit := store.EffectiveLimit(f.Limit)
	err := s.via.read(ctx, func(v *dbView) error {
		rows, allMatch, ok := v.sortedClusters(&f)
		switch {
		case ok && allMatch:
			total = len(rows)
			for c := range walk(rows, f.Desc, f.Offset) {
				if len(out) == limit {
					break
				}
				out = append(out, cloneCluster(c))
			}
		case ok:
			for c := range walk(rows, f.Desc, 0) {
				if !matchCluster(&f, c) {
					continue
				}
				if total >= f.Offset && len(out) < limit {
					out = append(out, cloneCluster(c))
				}
				total++
			}
		default:
			rows := v.matchClusters(&f, nil)
			total = len(rows)
			out = cloneAll(window(rows, orderOf(&f).cmp, f.Offset, limit), cloneCluster)
		}
		return nil
	})
	if out == nil {
		out = []*store.Cluster{}
	}
	return out, total, err
}

func (s executor) ClusterListAfter(ctx context.Context, f store.ClusterFilters, cursor string) (store.Page[*store.Cluster], error) {
	var page store.Page[*store.Cluster]
	limit := store.EffectiveLimit(f.Limit)
	err := s.via.read(ctx, func(v *dbView) error {
		o := orderOf(&f)
		var p *store.Cluster
		if cursor != "" {
			var err error
			if p, err = o.probe(cursor); err != nil {
				return err
			}
		}
		var rows []*store.Cluster
		if sorted, _, ok := v.sortedClusters(&f); ok {
			from := 0
			if p != nil { // skip to the first row after the cursor, in f's direction
				// sorted[:i] sort before the cursor, sorted[i:] at or after it.
				i, found := slices.BinarySearchFunc(sorted, p, clusterOrder{byName: o.byName}.cmp)
				switch {
				case f.Desc:
					from = len(sorted) - i
				case found:
					from = i + 1
				default:
					from = i
				}
			}
			for c := range walk(sorted, f.Desc, from) {
				if len(rows) > limit {
					break
				}
				if matchCluster(&f, c) {
					rows = append(rows, c)
				}
			}
		} else {
			var keep func(*store.Cluster) bool
			if p != nil {
				keep = func(c *store.Cluster) bool { return o.cmp(c, p) > 0 }
			}
			rows = v.matchClusters(&f, keep)
		}
		rows, next := keyset(rows, o.cmp, limit, o.cursor)
		page = store.Page[*store.Cluster]{Items: cloneAll(rows, cloneCluster), Next: next}
		return nil
	})
	return page, err
}

// ListExpired visits only clusters in a status a destroy may start from
// (the state machine's DESTROY row), oldest DestroyAt first.
func (s executor) ClusterListExpired(ctx context.Context, limit int) ([]*store.Cluster, error) {
	var out []*store.Cluster
	err := s.via.read(ctx, func(v *dbView) error {
		now := s.b.now()
		tr, _ := store.TransitionFor(store.JobDestroy)
		var rows []*store.Cluster
		for _, st := range tr.From {
			for _, c := range v.clusters.in(v.db.clusterStatus, string(st)) {
				if c.DestroyAt != nil && !c.DestroyAt.After(now) {
					rows = append(rows, c)
				}
			}
		}
		out = cloneAll(window(rows, func(a, b *store.Cluster) int {
			return byTimeID(*a.DestroyAt, *b.DestroyAt, a.ID, b.ID, false)
		}, 0, limit), cloneCluster)
		return nil
	})
	return out, err
}
