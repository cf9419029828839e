package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// The flat mode shows that the store's costs do not grow with the data:
// a keyset page deep in a listing costs what the first page costs, and a
// claim against a million clusters' history costs what it costs against
// near-empty tables. Each comparison alternates its two calls, one client,
// samples times each, and compares the medians; the claim query's plans
// are printed with EXPLAIN (ANALYZE, BUFFERS).

// flatSmallDB is the near-empty database of the claim comparison.
const flatSmallDB = dbPrefix + "flat_small"

// flatPending is the number of pending jobs the claim comparison queues.
const flatPending = 1000

// flatTarget is the largest ratio the flat comparisons aim at.
const flatTarget = 1.5

// flatRow is one comparison: a baseline call and the same call where the
// data is large (deep in a listing, or on the big dataset).
type flatRow struct {
	name     string
	base, at time.Duration
	target   bool // the row has the flatTarget; others are informational
}

// flat is the state of a flat run.
type flat struct {
	o         *options
	out       io.Writer
	big       *pgxpool.Pool
	bigStore  *store.Store
	rec       *recorder // on big's pool
	generated time.Time
	d         dataset
	rows      []flatRow
}

// runFlat runs the flat mode on ocpbench_flat (generated if needed) and
// the near-empty ocpbench_flat_small.
func runFlat(ctx context.Context, o *options, srv *server, out io.Writer) error {
	admin, generated, err := openFlat(ctx, o, srv, out)
	if err != nil {
		return err
	}
	admin.Close()
	rec := &recorder{}
	big, err := openPoolWith(ctx, srv.urlFor(flatDB), 2, rec)
	if err != nil {
		return err
	}
	defer big.Close()
	f := &flat{o: o, out: out, big: big, bigStore: postgres.New(big), rec: rec, generated: generated,
		d: newDataset(o.scale, generated)}
	defer func() {
		if err := cleanFlat(context.WithoutCancel(ctx), big, generated); err != nil {
			fmt.Fprintln(out, err)
		}
	}()
	fmt.Fprintf(out, "flat: %d clusters, %d finished jobs, %d audit events; medians of %d alternated calls, one client\n",
		f.d.Clusters, f.d.Jobs(), f.d.Audit(), o.samples)
	if err := f.lists(ctx); err != nil {
		return err
	}
	small, err := freshDB(ctx, srv, flatSmallDB, 2)
	if err != nil {
		return err
	}
	defer func() {
		small.Close()
		_ = srv.drop(context.WithoutCancel(ctx), flatSmallDB)
	}()
	if err := f.claims(ctx, small); err != nil {
		return err
	}
	if err := f.emptyQueue(ctx); err != nil {
		return err
	}
	printFlat(out, f.rows)
	return nil
}

// compare calls a and b alternately n times each, after one untimed call
// of each (which prepares their statements), and returns the median time
// of each.
func compare(n int, a, b func() error) (time.Duration, time.Duration, error) {
	if err := a(); err != nil {
		return 0, 0, err
	}
	if err := b(); err != nil {
		return 0, 0, err
	}
	var ta, tb []time.Duration
	for i := range n {
		first, second, t1, t2 := a, b, &ta, &tb
		if i%2 == 1 {
			first, second, t1, t2 = b, a, &tb, &ta
		}
		for _, step := range []struct {
			f func() error
			t *[]time.Duration
		}{{first, t1}, {second, t2}} {
			start := time.Now()
			if err := step.f(); err != nil {
				return 0, 0, err
			}
			*step.t = append(*step.t, time.Since(start))
		}
	}
	return medianDuration(ta), medianDuration(tb), nil
}

// cursorAt returns the keyset cursor of the row at offset depth of query
// (which selects the sort key and the ID in the listing's order, with an
// OFFSET $1 LIMIT 1), for a listing sorted by sort.
func (f *flat) cursorAt(ctx context.Context, query, sort string, desc bool, depth int) (string, error) {
	var key any
	var id string
	if err := f.big.QueryRow(ctx, query, depth).Scan(&key, &id); err != nil {
		return "", fmt.Errorf("find the row at depth %d: %w", depth, err)
	}
	c := store.Cursor{Sort: sort, Desc: desc, ID: id}
	switch k := key.(type) {
	case time.Time:
		c.Key = store.TimeKey(k)
	case string:
		c.Key = k
	default:
		return "", fmt.Errorf("unexpected sort key %T", key)
	}
	return store.EncodeCursor(c), nil
}

// deepPage compares the first page of a listing with the page after the
// row at depth; target says whether the row has the flat target.
func (f *flat) deepPage(ctx context.Context, name, query, sort string, desc bool, depth int, target bool,
	list func(cursor string) (int, error)) error {
	cursor, err := f.cursorAt(ctx, query, sort, desc, depth)
	if err != nil {
		return err
	}
	page := func(c string) func() error {
		return func() error {
			n, err := list(c)
			if err == nil && n != store.DefaultLimit {
				err = fmt.Errorf("%s: %d items, want a full page", name, n)
			}
			return err
		}
	}
	first, deep, err := compare(f.o.samples, page(""), page(cursor))
	if err != nil {
		return err
	}
	f.add(flatRow{name: fmt.Sprintf("%s: first page vs after row %d", name, depth), base: first, at: deep, target: target})
	return nil
}

// add records a row and prints it.
func (f *flat) add(r flatRow) {
	f.rows = append(f.rows, r)
	fmt.Fprintf(f.out, "  %-78s %9v %9v %6.2f\n", r.name, r.base.Round(time.Microsecond), r.at.Round(time.Microsecond),
		ratio(float64(r.at), float64(r.base)))
}

// lists compares keyset pages deep in every large listing with the first
// page, and a selective filtered List on the big dataset with the page of
// offset 500,000 (informational: OFFSET reads what it skips).
func (f *flat) lists(ctx context.Context) error {
	fmt.Fprintf(f.out, "\nlistings, %d items a page%57s %9s %6s\n", store.DefaultLimit, "first", "deep", "ratio")
	s, depth := f.bigStore, min(500_000, f.d.Clusters/2)
	destroyed, failure := store.ClusterDestroyed, store.AuditFailure
	type listing struct {
		name, query, sort string
		desc              bool
		depth             int
		target            bool
		list              func(cursor string) (int, error)
	}
	for _, l := range []listing{
		{"Clusters.ListAfter, by created_at", `SELECT created_at, id FROM clusters ORDER BY created_at, id OFFSET $1 LIMIT 1`,
			string(store.ClusterByCreatedAt), false, depth, true, func(c string) (int, error) {
				p, err := s.Clusters.ListAfter(ctx, store.ClusterFilters{}, c)
				return len(p.Items), err
			}},
		{"Clusters.ListAfter, status DESTROYED", `SELECT created_at, id FROM clusters WHERE status = 'DESTROYED' ORDER BY created_at, id OFFSET $1 LIMIT 1`,
			string(store.ClusterByCreatedAt), false, depth, true, func(c string) (int, error) {
				p, err := s.Clusters.ListAfter(ctx, store.ClusterFilters{Status: &destroyed}, c)
				return len(p.Items), err
			}},
		{"Clusters.ListAfter, by name", `SELECT name, id FROM clusters ORDER BY name COLLATE "C", id OFFSET $1 LIMIT 1`,
			string(store.ClusterByName), false, depth, true, func(c string) (int, error) {
				p, err := s.Clusters.ListAfter(ctx, store.ClusterFilters{Sort: store.ClusterByName}, c)
				return len(p.Items), err
			}},
		{"Jobs.ListAfter, by created_at", `SELECT created_at, id FROM jobs ORDER BY created_at, id OFFSET $1 LIMIT 1`,
			string(store.JobByCreatedAt), false, f.d.Jobs() / 2, true, func(c string) (int, error) {
				p, err := s.Jobs.ListAfter(ctx, store.JobFilters{}, c)
				return len(p.Items), err
			}},
		{"Audit.ListAfter, newest first", `SELECT created_at, id FROM audit_events ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1`,
			store.AuditSort, true, f.d.Audit() / 2, true, func(c string) (int, error) {
				p, err := s.Audit.ListAfter(ctx, store.AuditFilters{}, c)
				return len(p.Items), err
			}},
		// Informational: past five calls, PostgreSQL may run this page with
		// a generic plan, which cannot use the partial index of the
		// failures and walks the creation-order index (see the notes).
		{"Audit.ListAfter, status FAILURE", `SELECT created_at, id FROM audit_events WHERE status = 'FAILURE' ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1`,
			store.AuditSort, true, f.d.Clusters / 25, false, func(c string) (int, error) {
				p, err := s.Audit.ListAfter(ctx, store.AuditFilters{Status: &failure}, c)
				return len(p.Items), err
			}},
	} {
		if err := f.deepPage(ctx, l.name, l.query, l.sort, l.desc, l.depth, l.target, l.list); err != nil {
			return err
		}
	}
	// Offset pages, with the total: informational.
	team := teamOf(42)
	page := func(filters store.ClusterFilters) func() error {
		return func() error {
			_, _, err := s.Clusters.List(ctx, filters)
			return err
		}
	}
	first, deep, err := compare(max(f.o.samples/10, 3), page(store.ClusterFilters{Status: &destroyed}),
		page(store.ClusterFilters{Status: &destroyed, Offset: depth}))
	if err != nil {
		return err
	}
	f.add(flatRow{name: fmt.Sprintf("Clusters.List (offset), status DESTROYED: offset 0 vs %d", depth), base: first, at: deep})
	first, deep, err = compare(f.o.samples, page(store.ClusterFilters{Team: &team}),
		page(store.ClusterFilters{Team: &team, Offset: f.d.Clusters/teams - store.DefaultLimit}))
	if err != nil {
		return err
	}
	f.add(flatRow{name: fmt.Sprintf("Clusters.List (offset), team %s (%d of %d): first vs last page", team,
		f.d.Clusters/teams, f.d.Clusters), base: first, at: deep})
	return nil
}
