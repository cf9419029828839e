package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// testRBAC covers RBACStore: create and read back, the uniqueness of
// (principal, team, role), ListForPrincipal, every List filter, SetEnabled
// and Delete.
func testRBAC(t *testing.T, setup setupFunc) {
	const ann, bob = "arn:aws:iam::123456789012:user/ann", "arn:aws:iam::123456789012:role/bob"
	mapping := func(arn, team string, role store.Role, enabled bool) *store.RBACMapping {
		return &store.RBACMapping{IAMPrincipalARN: arn, IAMPrincipalType: store.PrincipalUser, Team: team,
			Role: role, Enabled: enabled}
	}
	create := func(t *testing.T, b *bundle, m *store.RBACMapping) *store.RBACMapping {
		t.Helper()
		requireNoErr(t, b.s.RBAC.Create(b.ctx, m), "create mapping")
		return m
	}

	t.Run("CreateGetAndConflicts", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		m := &store.RBACMapping{IAMPrincipalARN: ann, IAMPrincipalType: store.PrincipalRole, Team: "team-a",
			Role: store.RolePlatformAdmin, Enabled: true, CreatedBy: ptr("admin"), Notes: ptr("on call")}
		requireNoErr(t, b.s.RBAC.Create(b.ctx, m), "create")
		if !strings.HasPrefix(m.ID, store.PrefixRBAC) {
			t.Fatalf("assigned ID %q, want prefix %q", m.ID, store.PrefixRBAC)
		}
		requireTime(t, b.clock.Now(), m.CreatedAt, "CreatedAt")
		requireTime(t, b.clock.Now(), m.UpdatedAt, "UpdatedAt")
		got, err := b.s2.RBAC.GetByID(b.ctx, m.ID)
		requireNoErr(t, err, "get")
		requireEqual(t, m, got, "mapping read back")
		checkTimes(t, got, "mapping")

		dup := mapping(ann, "team-a", store.RolePlatformAdmin, false)
		requireErrIs(t, b.s2.RBAC.Create(b.ctx, dup), store.ErrConflict, "same principal, team and role")
		sameID := mapping(bob, "team-z", store.RoleAuditor, true)
		sameID.ID = m.ID
		requireErrIs(t, b.s.RBAC.Create(b.ctx, sameID), store.ErrConflict, "existing ID")
		create(t, b, mapping(ann, "team-a", store.RoleAuditor, true))
		create(t, b, mapping(ann, "team-b", store.RolePlatformAdmin, true))
		create(t, b, mapping(bob, "team-a", store.RolePlatformAdmin, true))
		_, total, err := b.s.RBAC.List(b.ctx, store.RBACFilters{})
		requireNoErr(t, err, "count")
		if total != 4 {
			t.Fatalf("%d mappings, want 4", total)
		}
		_, err = b.s.RBAC.GetByID(b.ctx, "rbac_missing")
		requireErrIs(t, err, store.ErrNotFound, "get a missing mapping")
	})

	t.Run("ListForPrincipal", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		m1 := create(t, b, mapping(ann, "team-b", store.RoleRequester, true))
		m2 := create(t, b, mapping(ann, "team-a", store.RoleRequester, true))
		create(t, b, mapping(ann, "team-a", store.RoleAuditor, false)) // disabled
		m4 := create(t, b, mapping(ann, "team-a", store.RolePlatformAdmin, true))
		create(t, b, mapping(bob, "team-a", store.RoleRequester, true))
		got, err := b.s2.RBAC.ListForPrincipal(b.ctx, ann)
		requireNoErr(t, err, "list for principal")
		requireIDs(t, []string{m4.ID, m2.ID, m1.ID}, ids(got, rbacID), "enabled mappings by team then role")
		got, err = b.s.RBAC.ListForPrincipal(b.ctx, "arn:aws:iam::123456789012:user/nobody")
		requireNoErr(t, err, "list for an unknown principal")
		requireIDs(t, nil, ids(got, rbacID), "mappings of an unknown principal")
	})

	t.Run("ListFilters", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var all []*store.RBACMapping
		for i := range 10 {
			arn := []string{ann, bob}[i%2]
			team := []string{"team-a", "team-b", "team-c"}[i%3]
			role := store.Roles()[(i/3)%3]
			all = append(all, create(t, b, mapping(arn, team, role, i%4 != 3)))
			if i%3 == 0 {
				b.clock.Advance(time.Second)
			}
		}
		cases := []struct {
			name  string
			f     store.RBACFilters
			match func(*store.RBACMapping) bool
		}{
			{"None", store.RBACFilters{}, func(*store.RBACMapping) bool { return true }},
			{"Principal", store.RBACFilters{IAMPrincipalARN: ptr(bob)}, func(m *store.RBACMapping) bool { return m.IAMPrincipalARN == bob }},
			{"Team", store.RBACFilters{Team: ptr("team-c")}, func(m *store.RBACMapping) bool { return m.Team == "team-c" }},
			{"Role", store.RBACFilters{Role: ptr(store.RoleAuditor)}, func(m *store.RBACMapping) bool { return m.Role == store.RoleAuditor }},
			{"Enabled", store.RBACFilters{Enabled: ptr(true)}, func(m *store.RBACMapping) bool { return m.Enabled }},
			{"Disabled", store.RBACFilters{Enabled: ptr(false)}, func(m *store.RBACMapping) bool { return !m.Enabled }},
			{"Combined", store.RBACFilters{IAMPrincipalARN: ptr(ann), Enabled: ptr(true), Team: ptr("team-a")},
				func(m *store.RBACMapping) bool { return m.IAMPrincipalARN == ann && m.Enabled && m.Team == "team-a" }},
		}
		for _, tc := range cases {
			var want []string
			for _, m := range all {
				if tc.match(m) {
					want = append(want, m.ID)
				}
			}
			got, total, err := b.s.RBAC.List(b.ctx, tc.f)
			requireNoErr(t, err, tc.name)
			requireIDs(t, want, ids(got, rbacID), tc.name+" filter, oldest first")
			if total != len(want) {
				t.Fatalf("%s filter: total %d, want %d", tc.name, total, len(want))
			}
		}
		got, total, err := b.s2.RBAC.List(b.ctx, store.RBACFilters{Limit: 3, Offset: 6})
		requireNoErr(t, err, "page")
		requireIDs(t, ids(all[6:9], rbacID), ids(got, rbacID), "page limit 3 offset 6")
		if total != len(all) {
			t.Fatalf("total %d, want %d", total, len(all))
		}
	})

	t.Run("SetEnabledAndDelete", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		m := create(t, b, mapping(ann, "team-a", store.RoleRequester, true))
		other := create(t, b, mapping(bob, "team-a", store.RoleRequester, true))
		b.clock.Advance(time.Minute)
		got, err := b.s2.RBAC.SetEnabled(b.ctx, m.ID, false)
		requireNoErr(t, err, "disable")
		want := *m
		want.Enabled, want.UpdatedAt = false, b.clock.Now()
		requireEqual(t, &want, got, "disabled mapping")
		list, err := b.s.RBAC.ListForPrincipal(b.ctx, ann)
		requireNoErr(t, err, "list for principal")
		requireIDs(t, nil, ids(list, rbacID), "enabled mappings after disabling")
		got, err = b.s.RBAC.SetEnabled(b.ctx, m.ID, true)
		requireNoErr(t, err, "enable")
		if !got.Enabled {
			t.Fatal("mapping not enabled")
		}
		_, err = b.s.RBAC.SetEnabled(b.ctx, "rbac_missing", true)
		requireErrIs(t, err, store.ErrNotFound, "enable a missing mapping")

		requireNoErr(t, b.s.RBAC.Delete(b.ctx, m.ID), "delete")
		_, err = b.s2.RBAC.GetByID(b.ctx, m.ID)
		requireErrIs(t, err, store.ErrNotFound, "get a deleted mapping")
		requireErrIs(t, b.s.RBAC.Delete(b.ctx, m.ID), store.ErrNotFound, "delete twice")
		left, total, err := b.s.RBAC.List(b.ctx, store.RBACFilters{})
		requireNoErr(t, err, "list")
		requireIDs(t, []string{other.ID}, ids(left, rbacID), "mappings after delete")
		if total != 1 {
			t.Fatalf("total %d after delete, want 1", total)
		}
	})
}
