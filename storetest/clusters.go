package storetest

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// testClusters covers ClusterStore: CRUD, defaults, conflicts, name
// uniqueness, updates, filters, offset paging, sorting and ListExpired.
func testClusters(t *testing.T, setup setupFunc) {
	t.Run("CreateAndGetEveryField", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := fullCluster()
		requireNoErr(t, b.s.Clusters.Create(b.ctx, c), "create")
		if !strings.HasPrefix(c.ID, store.PrefixCluster) || len(c.ID) > store.MaxIDLen {
			t.Fatalf("assigned ID %q, want prefix %q", c.ID, store.PrefixCluster)
		}
		requireTime(t, b.clock.Now(), c.CreatedAt, "CreatedAt set in place")
		requireTime(t, b.clock.Now(), c.UpdatedAt, "UpdatedAt set in place")

		for name, s := range map[string]*store.Store{"primary": b.s, "secondary": b.s2} {
			got, err := s.Clusters.GetByID(b.ctx, c.ID)
			requireNoErr(t, err, name+" get")
			requireEqual(t, c, got, name+" GetByID")
			checkTimes(t, got, name+" GetByID")
			got, err = s.Clusters.GetByIDForUpdate(b.ctx, c.ID)
			requireNoErr(t, err, name+" get for update")
			requireEqual(t, c, got, name+" GetByIDForUpdate outside a transaction")
		}
	})

	t.Run("CreateDefaultsAndGivenID", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := validCluster()
		requireNoErr(t, b.s.Clusters.Create(b.ctx, c), "create")
		if c.Status != store.ClusterPending || c.ClusterType != store.ClusterTypeOpenShift {
			t.Fatalf("defaults in place: status %q type %q, want PENDING openshift", c.Status, c.ClusterType)
		}
		got := b.getCluster(t, c.ID)
		if got.Status != store.ClusterPending || got.ClusterType != store.ClusterTypeOpenShift {
			t.Fatalf("defaults read back: status %q type %q, want PENDING openshift", got.Status, got.ClusterType)
		}
		if got.DestroyedAt != nil || got.DestroyAt != nil || got.BaseDomain == nil {
			t.Fatalf("nullable fields read back wrong: %+v", got)
		}

		given := validCluster(func(c *store.Cluster) { c.ID = "clu_given-id" })
		requireNoErr(t, b.s.Clusters.Create(b.ctx, given), "create with ID")
		if given.ID != "clu_given-id" {
			t.Fatalf("given ID replaced by %q", given.ID)
		}
		b.getCluster(t, "clu_given-id")
	})

	t.Run("CreateDuplicateIDConflicts", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.cluster(t)
		dup := validCluster(func(d *store.Cluster) { d.ID = c.ID })
		requireErrIs(t, b.s2.Clusters.Create(b.ctx, dup), store.ErrConflict, "create with an existing ID")
		requireEqual(t, c, b.getCluster(t, c.ID), "original after the refused duplicate")
		requireClusterCount(t, b, 1)
	})

	t.Run("NameUniqueAmongActiveClusters", func(t *testing.T) { t.Parallel(); testNameUniqueness(t, setup(t)) })

	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		const id = "clu_missing"
		_, err := b.s.Clusters.GetByID(b.ctx, id)
		requireErrIs(t, err, store.ErrNotFound, "GetByID")
		_, err = b.s.Clusters.GetByIDForUpdate(b.ctx, id)
		requireErrIs(t, err, store.ErrNotFound, "GetByIDForUpdate")
		_, err = b.s.Clusters.Update(b.ctx, id, store.ClusterUpdate{TTLHours: ptr(5)})
		requireErrIs(t, err, store.ErrNotFound, "Update")
		_, err = b.s.Clusters.UpdateStatus(b.ctx, id, store.ClusterCreating)
		requireErrIs(t, err, store.ErrNotFound, "UpdateStatus")
		requireClusterCount(t, b, 0)
	})

	t.Run("UpdateWritesOnlyGivenFields", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		want := b.cluster(t)
		other := b.cluster(t)

		b.clock.Advance(time.Minute)
		destroyAt := b.clock.Now().Add(48 * time.Hour)
		got, err := b.s.Clusters.Update(b.ctx, want.ID, store.ClusterUpdate{
			DestroyAt:     &destroyAt,
			TTLHours:      ptr(48),
			EffectiveTags: ptr(map[string]string{"cost": "low", "env": "dev"}),
		})
		requireNoErr(t, err, "first update")
		want.DestroyAt, want.TTLHours = &destroyAt, 48
		want.EffectiveTags = map[string]string{"cost": "low", "env": "dev"}
		want.UpdatedAt = b.clock.Now()
		requireEqual(t, want, got, "cluster returned by the first update")
		requireEqual(t, want, b.getCluster(t, want.ID), "cluster read after the first update")

		b.clock.Advance(time.Minute)
		start, end := store.NewTimeOfDay(8, 30), store.NewTimeOfDay(17, 45)
		days := store.NewWorkDays(time.Monday, time.Friday)
		got, err = b.s2.Clusters.Update(b.ctx, want.ID, store.ClusterUpdate{
			EffectiveTags:     ptr(map[string]string{"env": "prod"}),
			OffhoursOptIn:     ptr(true),
			WorkHoursEnabled:  ptr(true),
			WorkHoursStart:    &start,
			WorkHoursEnd:      &end,
			WorkDays:          &days,
			PreserveOnFailure: ptr(true),
			CredentialsMode:   ptr("mint"),
		})
		requireNoErr(t, err, "second update")
		want.EffectiveTags = map[string]string{"env": "prod"}
		want.OffhoursOptIn, want.WorkHoursEnabled = true, ptr(true)
		want.WorkHoursStart, want.WorkHoursEnd, want.WorkDays = &start, &end, &days
		want.PreserveOnFailure, want.CredentialsMode = true, ptr("mint")
		want.UpdatedAt = b.clock.Now()
		requireEqual(t, want, got, "cluster returned by the second update")
		requireEqual(t, want, b.getCluster(t, want.ID), "cluster read after the second update")
		requireEqual(t, other, b.getCluster(t, other.ID), "another cluster")
	})

	t.Run("ListFilters", func(t *testing.T) { t.Parallel(); testClusterFilters(t, setup(t)) })
	t.Run("ListOffsetPagingAndTotal", func(t *testing.T) { t.Parallel(); testClusterOffsetPaging(t, setup(t)) })
	t.Run("ListSortOrders", func(t *testing.T) { t.Parallel(); testClusterSorts(t, setup(t)) })
	t.Run("ListExpired", func(t *testing.T) { t.Parallel(); testListExpired(t, setup(t)) })
}

// fullCluster returns a valid cluster with every field set.
func fullCluster() *store.Cluster {
	start, end := store.NewTimeOfDay(9, 0)+store.TimeOfDay(123456*time.Microsecond), store.NewTimeOfDay(18, 30)
	days := store.NewWorkDays(time.Monday, time.Tuesday, time.Wednesday)
	return validCluster(func(c *store.Cluster) {
		c.Platform = store.PlatformGCP
		c.ClusterType = store.ClusterTypeGKE
		c.BaseDomain = ptr("gcp.example.com")
		c.OwnerID = ptr("6f1c2a9e-4b7d-4c1e-9a3b-2d5e8f7a1b0c")
		c.Status = store.ClusterReady
		c.DestroyAt = ptr(epoch.Add(72*time.Hour + 654321*time.Microsecond))
		c.RequestTags = map[string]string{"app": "demo", "empty": ""}
		c.EffectiveTags = map[string]string{"app": "demo", "owner": "owner@example.com"}
		c.SSHPublicKey = ptr("ssh-ed25519 AAAAC3Nza owner@example.com")
		c.OffhoursOptIn = true
		c.WorkHoursEnabled = ptr(false)
		c.WorkHoursStart, c.WorkHoursEnd, c.WorkDays = &start, &end, &days
		c.PreserveOnFailure = true
		c.CredentialsMode = ptr("manual")
	})
}

// requireClusterCount fails unless the store holds n clusters.
func requireClusterCount(t *testing.T, b *bundle, n int) {
	t.Helper()
	_, total, err := b.s.Clusters.List(b.ctx, store.ClusterFilters{Limit: 1})
	requireNoErr(t, err, "count clusters")
	if total != n {
		t.Fatalf("store holds %d clusters, want %d", total, n)
	}
}

// testNameUniqueness checks that (name, platform, base domain) is unique
// among active clusters only, with a NULL base domain counting as a value.
func testNameUniqueness(t *testing.T, b *bundle) {
	name := uniq("unique")
	named := func(mods ...func(*store.Cluster)) *store.Cluster {
		return validCluster(append([]func(*store.Cluster){func(c *store.Cluster) { c.Name = name }}, mods...)...)
	}
	first := named()
	requireNoErr(t, b.s.Clusters.Create(b.ctx, first), "create first")
	requireErrIs(t, b.s2.Clusters.Create(b.ctx, named()), store.ErrConflict, "same name, platform and domain")
	requireErrIs(t, b.s.Clusters.Create(b.ctx, named(withStatus(store.ClusterReady))), store.ErrConflict,
		"same name, platform and domain, another active status")
	requireNoErr(t, b.s.Clusters.Create(b.ctx, named(func(c *store.Cluster) { c.BaseDomain = ptr("other.example.com") })),
		"same name, another domain")
	requireNoErr(t, b.s.Clusters.Create(b.ctx, named(func(c *store.Cluster) { c.Platform = store.PlatformAzure })),
		"same name, another platform")
	requireNoErr(t, b.s.Clusters.Create(b.ctx, named(withStatus(store.ClusterFailed))), "an inactive (FAILED) duplicate")
	requireNoErr(t, b.s.Clusters.Create(b.ctx, named(withStatus(store.ClusterDestroyed))), "an inactive (DESTROYED) duplicate")

	noDomain := func(c *store.Cluster) { c.BaseDomain = nil }
	requireNoErr(t, b.s.Clusters.Create(b.ctx, named(noDomain)), "same name without a domain")
	requireErrIs(t, b.s.Clusters.Create(b.ctx, named(noDomain)), store.ErrConflict, "same name, both without a domain")
	requireClusterCount(t, b, 6)

	// The name becomes free once the active cluster fails.
	_, err := b.s.Clusters.UpdateStatus(b.ctx, first.ID, store.ClusterCreating)
	requireNoErr(t, err, "PENDING -> CREATING")
	_, err = b.s.Clusters.UpdateStatus(b.ctx, first.ID, store.ClusterFailed)
	requireNoErr(t, err, "CREATING -> FAILED")
	second := named(withStatus(store.ClusterReady))
	requireNoErr(t, b.s.Clusters.Create(b.ctx, second), "reuse the name of a FAILED cluster")

	// Making the failed one active again (a destroy starts from FAILED)
	// would duplicate an active name: refused, nothing changes.
	b.clock.Advance(time.Second)
	before := b.getCluster(t, first.ID)
	_, err = b.s2.Clusters.UpdateStatus(b.ctx, first.ID, store.ClusterDestroying)
	requireErrIs(t, err, store.ErrConflict, "FAILED -> DESTROYING onto an active duplicate name")
	requireEqual(t, before, b.getCluster(t, first.ID), "cluster after the refused status change")

	// And free again once that one is destroyed.
	for _, to := range []store.ClusterStatus{store.ClusterDestroying, store.ClusterDestroyed} {
		_, err = b.s.Clusters.UpdateStatus(b.ctx, second.ID, to)
		requireNoErr(t, err, "move second to "+string(to))
	}
	requireNoErr(t, b.s.Clusters.Create(b.ctx, named()), "reuse the name of a DESTROYED cluster")
}

// testClusterFilters checks every ClusterFilters field, alone and combined.
func testClusterFilters(t *testing.T, b *bundle) {
	const ownerID = "0b3e8d4a-1c2f-4e5a-8b9c-7d6e5f4a3b2c"
	var all []*store.Cluster
	for i := range 12 {
		c := b.cluster(t, func(c *store.Cluster) {
			c.Team = []string{"team-a", "team-b"}[i%2]
			c.Owner = []string{"ann@example.com", "bob@example.com", "cyd@example.com"}[i%3]
			if i%4 == 0 {
				c.OwnerID = ptr(ownerID)
			}
			c.Status = []store.ClusterStatus{store.ClusterPending, store.ClusterReady, store.ClusterFailed}[i%3]
			c.Platform = []store.Platform{store.PlatformAWS, store.PlatformAzure}[(i/2)%2]
			c.ClusterType = []store.ClusterType{store.ClusterTypeOpenShift, store.ClusterTypeROSA, store.ClusterTypeEKS}[(i/3)%3]
			c.Profile = []string{"small", "large"}[(i/4)%2]
			c.Region = []string{"us-east-1", "eu-west-1", "ap-south-1", "us-west-2"}[i%4]
		})
		all = append(all, c)
		b.clock.Advance(time.Second)
	}
	cases := []struct {
		name  string
		f     store.ClusterFilters
		match func(*store.Cluster) bool
	}{
		{"None", store.ClusterFilters{}, func(*store.Cluster) bool { return true }},
		{"Team", store.ClusterFilters{Team: ptr("team-b")}, func(c *store.Cluster) bool { return c.Team == "team-b" }},
		{"Owner", store.ClusterFilters{Owner: ptr("bob@example.com")}, func(c *store.Cluster) bool { return c.Owner == "bob@example.com" }},
		{"OwnerID", store.ClusterFilters{OwnerID: ptr(ownerID)}, func(c *store.Cluster) bool { return c.OwnerID != nil }},
		{"Status", store.ClusterFilters{Status: ptr(store.ClusterReady)}, func(c *store.Cluster) bool { return c.Status == store.ClusterReady }},
		{"Platform", store.ClusterFilters{Platform: ptr(store.PlatformAzure)}, func(c *store.Cluster) bool { return c.Platform == store.PlatformAzure }},
		{"ClusterType", store.ClusterFilters{ClusterType: ptr(store.ClusterTypeROSA)}, func(c *store.Cluster) bool { return c.ClusterType == store.ClusterTypeROSA }},
		{"Profile", store.ClusterFilters{Profile: ptr("large")}, func(c *store.Cluster) bool { return c.Profile == "large" }},
		{"Region", store.ClusterFilters{Region: ptr("eu-west-1")}, func(c *store.Cluster) bool { return c.Region == "eu-west-1" }},
		{"Combined", store.ClusterFilters{Team: ptr("team-a"), Status: ptr(store.ClusterPending), Platform: ptr(store.PlatformAWS)},
			func(c *store.Cluster) bool {
				return c.Team == "team-a" && c.Status == store.ClusterPending && c.Platform == store.PlatformAWS
			}},
		{"NoMatch", store.ClusterFilters{Team: ptr("team-z")}, func(*store.Cluster) bool { return false }},
	}
	for _, tc := range cases {
		var want []string
		for _, c := range all {
			if tc.match(c) {
				want = append(want, c.ID)
			}
		}
		for hi, s := range []*store.Store{b.s, b.s2} {
			got, total, err := s.Clusters.List(b.ctx, tc.f)
			requireNoErr(t, err, tc.name)
			requireIDs(t, want, ids(got, clusterID), tc.name+" filter")
			if total != len(want) {
				t.Fatalf("%s filter (handle %d): total %d, want %d", tc.name, hi, total, len(want))
			}
			page, err := s.Clusters.ListAfter(b.ctx, tc.f, "")
			requireNoErr(t, err, tc.name+" ListAfter")
			requireIDs(t, want, ids(page.Items, clusterID), tc.name+" filter with ListAfter")
			if page.Next != "" {
				t.Fatalf("%s filter: ListAfter of everything returned Next %q", tc.name, page.Next)
			}
		}
	}
}

// testClusterOffsetPaging checks Limit, Offset, the default limit and that
// the total counts every match whatever the page.
func testClusterOffsetPaging(t *testing.T, b *bundle) {
	n := store.DefaultLimit + 5
	var want []string
	for range n {
		want = append(want, b.cluster(t).ID)
	}
	got, total, err := b.s.Clusters.List(b.ctx, store.ClusterFilters{})
	requireNoErr(t, err, "list with the default limit")
	requireIDs(t, want[:store.DefaultLimit], ids(got, clusterID), "default page (same CreatedAt: ID order)")
	if total != n {
		t.Fatalf("total %d, want %d", total, n)
	}
	for _, pg := range []struct{ limit, offset int }{{7, 0}, {7, 7}, {10, 50}, {1, n - 1}, {5, n}, {5, n + 100}} {
		got, total, err := b.s2.Clusters.List(b.ctx, store.ClusterFilters{Limit: pg.limit, Offset: pg.offset})
		requireNoErr(t, err, "list page")
		lo, hi := min(pg.offset, n), min(pg.offset+pg.limit, n)
		requireIDs(t, want[lo:hi], ids(got, clusterID), "page")
		if total != n {
			t.Fatalf("limit %d offset %d: total %d, want %d", pg.limit, pg.offset, total, n)
		}
	}
	got, total, err = b.s.Clusters.List(b.ctx, store.ClusterFilters{Limit: store.MaxLimit, Desc: true})
	requireNoErr(t, err, "list at MaxLimit")
	requireIDs(t, reversed(want), ids(got, clusterID), "descending list at MaxLimit")
	if total != n {
		t.Fatalf("total %d, want %d", total, n)
	}
}

// reversed returns a reversed copy of s.
func reversed[T any](s []T) []T {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// testClusterSorts checks sorting by name (byte order, ties by ID) and by
// creation time, both directions.
func testClusterSorts(t *testing.T, b *bundle) {
	names := []string{"beta-2", "Zeta", "_under", "alpha", "Beta-1", "9", "10", "same", "same"}
	var all []*store.Cluster
	for i, name := range names {
		all = append(all, b.cluster(t, func(c *store.Cluster) {
			c.Name = name
			c.Platform = store.Platforms()[i%len(store.Platforms())]
		}))
		if i%3 == 0 {
			b.clock.Advance(time.Second) // some clusters share a CreatedAt
		}
	}
	byName := slices.Clone(all)
	slices.SortFunc(byName, func(x, y *store.Cluster) int {
		return cmp.Or(strings.Compare(x.Name, y.Name), strings.Compare(x.ID, y.ID))
	})
	byTime := slices.Clone(all)
	slices.SortFunc(byTime, func(x, y *store.Cluster) int {
		return cmp.Or(x.CreatedAt.Compare(y.CreatedAt), strings.Compare(x.ID, y.ID))
	})
	for _, tc := range []struct {
		name string
		f    store.ClusterFilters
		want []*store.Cluster
	}{
		{"NameAsc", store.ClusterFilters{Sort: store.ClusterByName}, byName},
		{"NameDesc", store.ClusterFilters{Sort: store.ClusterByName, Desc: true}, reversed(byName)},
		{"CreatedAtAsc", store.ClusterFilters{Sort: store.ClusterByCreatedAt}, byTime},
		{"CreatedAtDesc", store.ClusterFilters{Sort: store.ClusterByCreatedAt, Desc: true}, reversed(byTime)},
		{"DefaultIsCreatedAt", store.ClusterFilters{}, byTime},
	} {
		got, _, err := b.s.Clusters.List(b.ctx, tc.f)
		requireNoErr(t, err, tc.name)
		requireIDs(t, ids(tc.want, clusterID), ids(got, clusterID), tc.name+" order")
		page, err := b.s2.Clusters.ListAfter(b.ctx, tc.f, "")
		requireNoErr(t, err, tc.name+" ListAfter")
		requireIDs(t, ids(tc.want, clusterID), ids(page.Items, clusterID), tc.name+" ListAfter order")
	}
}

// testListExpired checks the TTL janitor's query: DestroyAt passed (at or
// before now), a status a destroy may start from, oldest DestroyAt first
// with ties by ID, at most limit rows.
func testListExpired(t *testing.T, b *bundle) {
	now := b.clock.Now()
	expiring := func(s store.ClusterStatus, at *time.Time) *store.Cluster {
		return b.cluster(t, withStatus(s), func(c *store.Cluster) { c.DestroyAt = at })
	}
	e1 := expiring(store.ClusterReady, ptr(now.Add(-2*time.Hour)))
	e2 := expiring(store.ClusterFailed, ptr(now.Add(-time.Hour)))
	e3 := expiring(store.ClusterHibernated, ptr(now))
	e4 := expiring(store.ClusterDestroyFailed, ptr(now.Add(-3*time.Hour)))
	e5 := expiring(store.ClusterReady, ptr(now.Add(-2*time.Hour))) // ties e1, later ID
	expiring(store.ClusterReady, ptr(now.Add(time.Microsecond)))   // not yet
	expiring(store.ClusterReady, nil)                              // no TTL
	for _, s := range []store.ClusterStatus{store.ClusterPending, store.ClusterCreating, store.ClusterHibernating,
		store.ClusterResuming, store.ClusterDestroying, store.ClusterDestroyVerifying, store.ClusterDestroyed} {
		expiring(s, ptr(now.Add(-4*time.Hour))) // a destroy may not start from these
	}
	got, err := b.s.Clusters.ListExpired(b.ctx, store.MaxLimit)
	requireNoErr(t, err, "list expired")
	requireIDs(t, []string{e4.ID, e1.ID, e5.ID, e2.ID, e3.ID}, ids(got, clusterID), "expired clusters")
	got, err = b.s2.Clusters.ListExpired(b.ctx, 2)
	requireNoErr(t, err, "list expired, limit 2")
	requireIDs(t, []string{e4.ID, e1.ID}, ids(got, clusterID), "expired clusters, limit 2")

	b.clock.Advance(time.Microsecond)
	got, err = b.s.Clusters.ListExpired(b.ctx, store.MaxLimit)
	requireNoErr(t, err, "list expired later")
	if len(got) != 6 {
		t.Fatalf("after the clock moved 1µs: %d expired clusters, want 6", len(got))
	}
}
