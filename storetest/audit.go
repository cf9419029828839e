package storetest

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// testAudit covers AuditStore: Log and read back, every filter, the
// newest-first order, offset paging, rollback and Purge.
func testAudit(t *testing.T, setup setupFunc) {
	t.Run("LogAndReadBack", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.cluster(t)
		j := b.job(t, c.ID, store.JobCreate)
		e := &store.AuditEvent{
			Actor:           "arn:aws:iam::123456789012:user/ann",
			Action:          "cluster.create",
			TargetClusterID: &c.ID,
			TargetJobID:     &j.ID,
			TargetUserID:    ptr("7c9e6679-7425-40de-944b-e07fc1f90ae7"),
			Status:          store.AuditDenied,
			Metadata:        map[string]string{"reason": "quota", "team": "team-a"},
			IPAddress:       ptr(netip.MustParseAddr("2001:db8::1")),
			UserAgent:       ptr("ocpctl/1.0"),
		}
		requireNoErr(t, b.s.Audit.Log(b.ctx, e), "log")
		if !strings.HasPrefix(e.ID, store.PrefixAudit) {
			t.Fatalf("assigned ID %q, want prefix %q", e.ID, store.PrefixAudit)
		}
		requireTime(t, b.clock.Now(), e.CreatedAt, "CreatedAt set in place")
		v4 := &store.AuditEvent{Actor: "system", Action: "janitor.run", Status: store.AuditSuccess,
			IPAddress: ptr(netip.MustParseAddr("192.0.2.7"))}
		requireNoErr(t, b.s2.Audit.Log(b.ctx, v4), "log a minimal event")

		got, total, err := b.s2.Audit.List(b.ctx, store.AuditFilters{})
		requireNoErr(t, err, "list")
		if total != 2 || len(got) != 2 {
			t.Fatalf("listed %d of %d events, want 2", len(got), total)
		}
		requireEqual(t, v4, got[0], "minimal event read back")
		requireEqual(t, e, got[1], "full event read back")
		checkTimes(t, got, "events")

		dup := &store.AuditEvent{ID: e.ID, Actor: "x", Action: "y", Status: store.AuditSuccess}
		requireErrIs(t, b.s.Audit.Log(b.ctx, dup), store.ErrConflict, "log with an existing ID")
		requireAuditCount(t, b, 2)
	})

	t.Run("FiltersAndNewestFirst", func(t *testing.T) { t.Parallel(); testAuditFilters(t, setup(t)) })

	t.Run("RolledBackEventsDisappear", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		kept := &store.AuditEvent{Actor: "a", Action: "kept", Status: store.AuditSuccess}
		requireNoErr(t, b.s.Audit.Log(b.ctx, kept), "log")
		err := b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
			for range 3 {
				if err := tx.Audit.Log(ctx, &store.AuditEvent{Actor: "a", Action: "lost", Status: store.AuditFailure}); err != nil {
					return err
				}
			}
			return errBoom
		})
		requireErrIs(t, err, errBoom, "WithTx")
		for _, s := range []*store.Store{b.s, b.s2} {
			got, total, err := s.Audit.List(b.ctx, store.AuditFilters{})
			requireNoErr(t, err, "list")
			requireIDs(t, []string{kept.ID}, ids(got, auditID), "events after a rollback")
			if total != 1 {
				t.Fatalf("total %d after a rollback, want 1", total)
			}
		}
	})

	t.Run("Purge", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var evs []*store.AuditEvent
		for range 4 {
			e := &store.AuditEvent{Actor: "a", Action: "tick", Status: store.AuditSuccess}
			requireNoErr(t, b.s.Audit.Log(b.ctx, e), "log")
			evs = append(evs, e)
			b.clock.Advance(time.Hour)
		}
		n, err := b.s2.Audit.Purge(b.ctx, evs[2].CreatedAt)
		requireNoErr(t, err, "purge")
		if n != 2 {
			t.Fatalf("Purge deleted %d events, want 2 (created strictly before the cutoff)", n)
		}
		got, total, err := b.s.Audit.List(b.ctx, store.AuditFilters{})
		requireNoErr(t, err, "list")
		requireIDs(t, []string{evs[3].ID, evs[2].ID}, ids(got, auditID), "events after Purge")
		if total != 2 {
			t.Fatalf("total %d after Purge, want 2", total)
		}
		n, err = b.s.Audit.Purge(b.ctx, evs[0].CreatedAt)
		requireNoErr(t, err, "purge nothing")
		if n != 0 {
			t.Fatalf("Purge deleted %d events older than any, want 0", n)
		}
	})
}

// requireAuditCount fails unless the store holds n audit events.
func requireAuditCount(t *testing.T, b *bundle, n int) {
	t.Helper()
	_, total, err := b.s.Audit.List(b.ctx, store.AuditFilters{Limit: 1})
	requireNoErr(t, err, "count audit events")
	if total != n {
		t.Fatalf("store holds %d audit events, want %d", total, n)
	}
}

// testAuditFilters logs events over time (some sharing a CreatedAt) and
// checks every AuditFilters field, the newest-first order with ties by ID,
// offset paging and the total.
func testAuditFilters(t *testing.T, b *bundle) {
	c1, c2 := b.cluster(t), b.cluster(t)
	j1 := b.job(t, c1.ID, store.JobCreate)
	var all []*store.AuditEvent // oldest first
	for i := range 12 {
		e := &store.AuditEvent{
			Actor:  []string{"alice", "bob", "carol"}[i%3],
			Action: []string{"cluster.create", "cluster.destroy"}[i%2],
			Status: []store.AuditStatus{store.AuditSuccess, store.AuditFailure, store.AuditDenied, store.AuditSuccess}[i%4],
		}
		switch i % 3 {
		case 0:
			e.TargetClusterID = &c1.ID
		case 1:
			e.TargetClusterID = &c2.ID
		}
		if i%4 == 1 {
			e.TargetJobID = &j1.ID
		}
		requireNoErr(t, b.handle(i).Audit.Log(b.ctx, e), "log")
		all = append(all, e)
		if i%2 == 1 {
			b.clock.Advance(time.Minute) // pairs share a CreatedAt
		}
	}
	at := func(i int) *time.Time { return ptr(all[i].CreatedAt) }
	cases := []struct {
		name  string
		f     store.AuditFilters
		match func(*store.AuditEvent) bool
	}{
		{"None", store.AuditFilters{}, func(*store.AuditEvent) bool { return true }},
		{"Actor", store.AuditFilters{Actor: ptr("bob")}, func(e *store.AuditEvent) bool { return e.Actor == "bob" }},
		{"ClusterID", store.AuditFilters{ClusterID: &c1.ID}, func(e *store.AuditEvent) bool {
			return e.TargetClusterID != nil && *e.TargetClusterID == c1.ID
		}},
		{"JobID", store.AuditFilters{JobID: &j1.ID}, func(e *store.AuditEvent) bool { return e.TargetJobID != nil }},
		{"Action", store.AuditFilters{Action: ptr("cluster.destroy")}, func(e *store.AuditEvent) bool {
			return e.Action == "cluster.destroy"
		}},
		{"Status", store.AuditFilters{Status: ptr(store.AuditDenied)}, func(e *store.AuditEvent) bool {
			return e.Status == store.AuditDenied
		}},
		{"Since", store.AuditFilters{Since: at(4)}, func(e *store.AuditEvent) bool { return !e.CreatedAt.Before(*at(4)) }},
		{"Until", store.AuditFilters{Until: at(4)}, func(e *store.AuditEvent) bool { return e.CreatedAt.Before(*at(4)) }},
		{"SinceUntil", store.AuditFilters{Since: at(3), Until: at(8)}, func(e *store.AuditEvent) bool {
			return !e.CreatedAt.Before(*at(3)) && e.CreatedAt.Before(*at(8))
		}},
		{"Combined", store.AuditFilters{Actor: ptr("alice"), ClusterID: &c1.ID, Status: ptr(store.AuditSuccess)},
			func(e *store.AuditEvent) bool {
				return e.Actor == "alice" && e.TargetClusterID != nil && *e.TargetClusterID == c1.ID && e.Status == store.AuditSuccess
			}},
		{"NoMatch", store.AuditFilters{Actor: ptr("nobody")}, func(*store.AuditEvent) bool { return false }},
	}
	for _, tc := range cases {
		var want []string
		for i := len(all) - 1; i >= 0; i-- {
			if tc.match(all[i]) {
				want = append(want, all[i].ID)
			}
		}
		got, total, err := b.s.Audit.List(b.ctx, tc.f)
		requireNoErr(t, err, tc.name)
		requireIDs(t, want, ids(got, auditID), tc.name+" filter, newest first")
		if total != len(want) {
			t.Fatalf("%s filter: total %d, want %d", tc.name, total, len(want))
		}
		page, err := b.s2.Audit.ListAfter(b.ctx, tc.f, "")
		requireNoErr(t, err, tc.name+" ListAfter")
		requireIDs(t, want, ids(page.Items, auditID), tc.name+" filter with ListAfter")
	}
	got, total, err := b.s.Audit.List(b.ctx, store.AuditFilters{Limit: 5, Offset: 4})
	requireNoErr(t, err, "page")
	newest := reversed(ids(all, auditID))
	requireIDs(t, newest[4:9], ids(got, auditID), "page limit 5 offset 4")
	if total != len(all) {
		t.Fatalf("total %d, want %d", total, len(all))
	}
}
