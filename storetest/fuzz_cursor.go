package storetest

import (
	"cmp"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// FuzzListAfterCursor fuzzes the cursors of the keyset listings (clusters
// by creation time and by name, jobs, audit events): a raw string, or a
// well-formed cursor whose sort, direction, key and ID come from the
// fuzzer. A cursor the listing cannot use (malformed, made for another
// sort or direction, a key that is not a time where one is expected) must
// be ErrInvalidArgument; any other cursor is a position, and the walk from
// it must return exactly the seeded rows after that position, in order,
// in full pages. Never another error, never a panic.
func FuzzListAfterCursor(f *testing.F, newStore FuzzFactory) {
	key := func(d time.Duration) string { return store.TimeKey(epoch.Add(d).Truncate(time.Microsecond)) }
	for _, seed := range []struct {
		listing      uint8
		desc         bool
		limit        int
		raw          bool
		cursor, sort string
		cdesc        bool
		key, id      string
	}{
		{0, false, 5, false, "", "created_at", false, key(2 * time.Second), "clu_fz05"},
		{0, true, 3, false, "", "created_at", true, key(3 * time.Second), "clu_fz09"},
		{0, false, 0, false, "", "created_at", false, key(3 * time.Second), "clu_fz"},
		{1, false, 4, false, "", "name", false, "n-05", "clu_fz10"},
		{1, true, 2, false, "", "name", true, "n-05", ""},
		{1, false, 1, false, "", "name", false, "%", "'; DROP TABLE clusters; --"},
		{1, false, 1, false, "", "name", false, "n-05\x00", "clu_fz10"},
		{2, false, 4, false, "", "created_at", false, key(8 * time.Second), "job_fz11"},
		{2, true, 4, false, "", "created_at", true, key(8 * time.Second), "job_fz11"},
		{3, true, 3, false, "", "created_at", true, key(20 * time.Second), "aud_fz12"},
		{3, true, 3, false, "", "created_at", false, key(20 * time.Second), "aud_fz12"},
		{0, false, 5, false, "", "created_at", false, "9223372036854775807", "x"},
		{2, false, 5, false, "", "created_at", false, "-9223372036854775808", "x"},
		{3, true, 5, false, "", "created_at", true, "1e3", "x"},
		{0, false, 5, false, "", "created_at", false, "yesterday", "x"},
		{2, false, 5, false, "", "created_at", false, key(0), "\x00"},
		{0, false, 5, true, "", "", false, "", ""},
		{0, false, 5, true, "%%%", "", false, "", ""},
		{1, false, 5, true, "e30", "", false, "", ""},
		{3, true, 5, true, "eyJzIjoiY3JlYXRlZF9hdCIsImQiOnRydWUsImsiOiIxIiwiaSI6IngifQ", "", false, "", ""},
		{2, false, -1, false, "", "created_at", false, key(0), "x"},
	} {
		f.Add(seed.listing, seed.desc, seed.limit, seed.raw, seed.cursor, seed.sort, seed.cdesc, seed.key, seed.id)
	}
	clock := store.NewManualClock(epoch)
	s := newStore(f, clock)
	d := seedListData(f, s, clock)
	f.Fuzz(func(t *testing.T, listing uint8, desc bool, limit int, raw bool, cursor, sort string, cdesc bool, key, id string) {
		if !raw {
			cursor = store.EncodeCursor(store.Cursor{Sort: sort, Desc: cdesc, Key: key, ID: id})
		}
		ctx := t.Context()
		switch listing % 4 {
		case 0, 1:
			cf := store.ClusterFilters{Sort: store.ClusterByCreatedAt, Desc: desc, Limit: limit}
			if listing%4 == 1 {
				cf.Sort = store.ClusterByName
			}
			checkAfter(t, cursorListing[*store.Cluster]{
				rows: d.modelClusters(cf), sort: string(cf.Sort), desc: desc, timeKey: cf.Sort == store.ClusterByCreatedAt,
				key:   func(c *store.Cluster) (time.Time, string, string) { return c.CreatedAt, c.Name, c.ID },
				fetch: func(cur string) (store.Page[*store.Cluster], error) { return s.Clusters.ListAfter(ctx, cf, cur) },
				id:    clusterID,
			}, limit, cursor)
		case 2:
			jf := store.JobFilters{Desc: desc, Limit: limit}
			checkAfter(t, cursorListing[*store.Job]{
				rows: d.modelJobs(jf), sort: string(store.JobByCreatedAt), desc: desc, timeKey: true,
				key:   func(j *store.Job) (time.Time, string, string) { return j.CreatedAt, "", j.ID },
				fetch: func(cur string) (store.Page[*store.Job], error) { return s.Jobs.ListAfter(ctx, jf, cur) },
				id:    jobID,
			}, limit, cursor)
		default:
			af := store.AuditFilters{Limit: limit}
			checkAfter(t, cursorListing[*store.AuditEvent]{
				rows: d.modelEvents(af), sort: store.AuditSort, desc: true, timeKey: true,
				key:   func(e *store.AuditEvent) (time.Time, string, string) { return e.CreatedAt, "", e.ID },
				fetch: func(cur string) (store.Page[*store.AuditEvent], error) { return s.Audit.ListAfter(ctx, af, cur) },
				id:    auditID,
			}, limit, cursor)
		}
	})
}

// cursorListing is one keyset listing under FuzzListAfterCursor.
type cursorListing[T any] struct {
	rows    []T    // the model's rows, in the listing's order
	sort    string // the sort name its cursors carry
	desc    bool
	timeKey bool                                // the sort key is a time (else the name)
	key     func(T) (time.Time, string, string) // a row's time, name and ID
	fetch   func(cursor string) (store.Page[T], error)
	id      func(T) string
}

// checkAfter lists l after cursor and checks the outcome against the model.
func checkAfter[T any](t *testing.T, l cursorListing[T], limit int, cursor string) {
	t.Helper()
	valid := fuzzPage(limit, 0)
	var pos store.Cursor
	var at time.Time
	if valid && cursor != "" {
		var err error
		pos, err = store.DecodeCursor(cursor, l.sort, l.desc)
		valid = err == nil
		if valid && l.timeKey {
			at, err = store.ParseTimeKey(pos.Key)
			valid = err == nil
		}
	}
	if !valid {
		_, err := l.fetch(cursor)
		requireOutcome(t, false, err, "list after cursor")
		return
	}
	want := l.rows
	if cursor != "" {
		want = nil
		for _, r := range l.rows {
			rt, rname, rid := l.key(r)
			c := cmp.Or(strings.Compare(rname, pos.Key), strings.Compare(rid, pos.ID))
			if l.timeKey {
				c = cmp.Or(rt.Compare(at), strings.Compare(rid, pos.ID))
			}
			if (c > 0) != l.desc && c != 0 {
				want = append(want, r)
			}
		}
	}
	got := walkAll(t, limit, cursor, l.fetch, "walk after cursor")
	requireIDs(t, ids(want, l.id), ids(got, l.id), "rows after the cursor")
}
