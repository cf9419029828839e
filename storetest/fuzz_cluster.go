package storetest

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// clusterInput is the fuzzed part of a cluster: every field a caller sets.
type clusterInput struct {
	id, name, platform, clusterType, version, profile, region, baseDomain, owner, ownerID,
	team, costCenter, status, requestedBy, ssh, credentialsMode, tagKey, tagValue string
	ttl        int
	destroyAt  int64 // Unix microseconds
	start, end int64 // work hours, nanoseconds after midnight
	days       int16
	set        uint16 // which optional fields are set: see cluster
}

// cluster builds the store.Cluster the input describes.
func (in clusterInput) cluster() *store.Cluster {
	set := func(i int) bool { return bit(uint32(in.set), i) }
	c := &store.Cluster{ID: in.id, Name: in.name, Platform: store.Platform(in.platform),
		ClusterType: store.ClusterType(in.clusterType), Version: in.version, Profile: in.profile, Region: in.region,
		BaseDomain: optIf(set(0), in.baseDomain), Owner: in.owner, OwnerID: optIf(set(1), in.ownerID), Team: in.team,
		CostCenter: in.costCenter, Status: store.ClusterStatus(in.status), RequestedBy: in.requestedBy, TTLHours: in.ttl,
		DestroyAt: optIf(set(2), time.UnixMicro(in.destroyAt).UTC()), SSHPublicKey: optIf(set(3), in.ssh),
		OffhoursOptIn: set(4), WorkHoursEnabled: optIf(set(5), set(6)),
		WorkHoursStart: optIf(set(7), store.TimeOfDay(in.start)), WorkHoursEnd: optIf(set(8), store.TimeOfDay(in.end)),
		WorkDays: optIf(set(9), store.WorkDays(in.days)), PreserveOnFailure: set(10),
		CredentialsMode: optIf(set(11), in.credentialsMode)}
	if set(12) {
		c.RequestTags = map[string]string{in.tagKey: in.tagValue}
	}
	if set(13) {
		c.EffectiveTags = map[string]string{in.tagKey: in.tagValue, "k": in.tagValue}
	}
	return c
}

// fuzzClusterValid restates the rules a cluster must satisfy to be created.
func fuzzClusterValid(c *store.Cluster) bool {
	tags := func(m map[string]string) bool {
		for k, v := range m {
			if !fuzzRequired(k, store.MaxNameLen) || !fuzzText(v, store.MaxTextLen) {
				return false
			}
		}
		return true
	}
	tod := func(t *store.TimeOfDay) bool {
		return t == nil || *t >= 0 && time.Duration(*t) < 24*time.Hour && time.Duration(*t)%time.Microsecond == 0
	}
	return (c.ID == "" || fuzzRequired(c.ID, store.MaxIDLen)) &&
		fuzzRequired(c.Name, store.MaxNameLen) && c.Platform.Valid() && (c.ClusterType == "" || c.ClusterType.Valid()) &&
		fuzzRequired(c.Version, store.MaxNameLen) && fuzzRequired(c.Profile, store.MaxNameLen) &&
		fuzzRequired(c.Region, store.MaxNameLen) && fuzzOptional(c.BaseDomain, store.MaxNameLen) &&
		fuzzRequired(c.Owner, store.MaxNameLen) && fuzzUUID(c.OwnerID) && fuzzRequired(c.Team, store.MaxNameLen) &&
		fuzzRequired(c.CostCenter, store.MaxNameLen) && (c.Status == "" || c.Status.Valid()) &&
		fuzzRequired(c.RequestedBy, store.MaxNameLen) && c.TTLHours > 0 && c.TTLHours <= math.MaxInt32 &&
		fuzzInstant(c.DestroyAt) && fuzzOptional(c.SSHPublicKey, store.MaxTextLen) && tod(c.WorkHoursStart) &&
		tod(c.WorkHoursEnd) && (c.WorkDays == nil || *c.WorkDays >= 0 && *c.WorkDays < 1<<7) &&
		fuzzOptional(c.CredentialsMode, store.MaxNameLen) && tags(c.RequestTags) && tags(c.EffectiveTags)
}

// clusterModel remembers, for one fuzz target's store, which IDs and
// active (name, platform, base domain) triples its clusters hold, to tell
// when Create must be ErrConflict.
type clusterModel struct {
	mu     sync.Mutex
	ids    map[string]bool
	active map[string]bool
}

// nameKey is a cluster's name uniqueness key; a nil base domain is one value.
func nameKey(c *store.Cluster) string {
	return fmt.Sprintf("%q %q %v %q", c.Name, c.Platform, c.BaseDomain == nil, deref(c.BaseDomain))
}

// FuzzClusterRoundTrip fuzzes every field of a new cluster. Input the
// rules accept (fuzzClusterValid) must be created, unless its ID or its
// active name is taken (then ErrConflict, as the model predicts), and
// read back exactly as given, with only the documented changes: defaults
// for an empty status and type, times in UTC
// to the microsecond. Input they refuse must be ErrInvalidArgument and
// create nothing.
func FuzzClusterRoundTrip(f *testing.F, newStore FuzzFactory) {
	base := clusterInput{name: "c", platform: "aws", version: "4.18", profile: "p", region: "us-east-1",
		baseDomain: "example.com", owner: "o@example.com", team: "t", costCenter: "cc", requestedBy: "r", ttl: 24,
		ownerID: "abcdef00-0000-4000-8000-00000000000a", tagKey: "k", tagValue: "v", ssh: "ssh-ed25519 AAAA",
		credentialsMode: "manual", destroyAt: 1935000000123456, start: int64(9 * time.Hour), end: int64(17 * time.Hour), days: 62}
	seeds := []clusterInput{base}
	for _, mod := range []func(*clusterInput){
		func(in *clusterInput) { in.set = math.MaxUint16 },
		func(in *clusterInput) { in.name, in.set = "'; DROP TABLE clusters; --", 1 },
		func(in *clusterInput) { in.id, in.set = "clu_fixed", 0 },
		func(in *clusterInput) { in.id = "clu_fixed" }, // a duplicate ID
		func(in *clusterInput) { in.team, in.owner = "%", "_" },
		func(in *clusterInput) { in.name = strings.Repeat("é", store.MaxNameLen/2) + "x" },
		func(in *clusterInput) { in.name = strings.Repeat("é", store.MaxNameLen/2+1) },
		func(in *clusterInput) { in.name = "a\x00b" },
		func(in *clusterInput) { in.region = "\xff" },
		func(in *clusterInput) { in.version = " " },
		func(in *clusterInput) { in.platform = "mars" },
		func(in *clusterInput) { in.status, in.clusterType = "READY", "rosa" },
		func(in *clusterInput) { in.status = "GONE" },
		func(in *clusterInput) { in.ttl = 0 },
		func(in *clusterInput) { in.ttl = math.MaxInt32 + 1 },
		func(in *clusterInput) { in.set, in.destroyAt = 1<<2, math.MinInt64 },
		func(in *clusterInput) { in.set, in.destroyAt = 1<<2, 253402300800000000 }, // year 10000
		func(in *clusterInput) { in.set, in.start = 1<<7, int64(24*time.Hour) },
		func(in *clusterInput) { in.set, in.end = 1<<8, int64(time.Nanosecond) },
		func(in *clusterInput) { in.set, in.days = 1<<9, 128 },
		func(in *clusterInput) { in.set, in.ownerID = 1<<1, "not-a-uuid" },
		func(in *clusterInput) { in.set, in.ownerID = 1<<1, "ABCDEF00-0000-4000-8000-00000000000A" },
		func(in *clusterInput) { in.set, in.tagKey = 1<<12, "" },
		func(in *clusterInput) { in.set, in.tagValue = 1<<13, "\x00" },
		func(in *clusterInput) { in.set, in.ssh = 1<<3, strings.Repeat("x", 4096) },
		func(in *clusterInput) { in.set, in.baseDomain = 0, "" }, // nil base domain, twice: a conflict
		func(in *clusterInput) { in.set, in.baseDomain = 0, "" },
	} {
		in := base
		mod(&in)
		seeds = append(seeds, in)
	}
	for _, in := range seeds {
		f.Add(in.id, in.name, in.platform, in.clusterType, in.version, in.profile, in.region, in.baseDomain, in.owner,
			in.ownerID, in.team, in.costCenter, in.status, in.requestedBy, in.ssh, in.credentialsMode, in.tagKey,
			in.tagValue, in.ttl, in.destroyAt, in.start, in.end, in.days, in.set)
	}
	clock := store.NewManualClock(epoch)
	s := newStore(f, clock)
	m := &clusterModel{ids: map[string]bool{}, active: map[string]bool{}}
	f.Fuzz(func(t *testing.T, id, name, platform, clusterType, version, profile, region, baseDomain, owner, ownerID,
		team, costCenter, status, requestedBy, ssh, credentialsMode, tagKey, tagValue string, ttl int,
		destroyAt, start, end int64, days int16, set uint16) {
		in := clusterInput{id, name, platform, clusterType, version, profile, region, baseDomain, owner, ownerID,
			team, costCenter, status, requestedBy, ssh, credentialsMode, tagKey, tagValue, ttl, destroyAt, start, end, days, set}
		m.mu.Lock()
		defer m.mu.Unlock()
		ctx := t.Context()
		clock.Advance(time.Second)
		c := in.cluster()
		_, before, err := s.Clusters.List(ctx, store.ClusterFilters{Limit: 1})
		requireNoErr(t, err, "count clusters")
		err = s.Clusters.Create(ctx, c)
		valid := fuzzClusterValid(in.cluster())
		wantStatus := store.ClusterStatus(orDefault(in.status, string(store.ClusterPending)))
		conflict := valid && (m.ids[c.ID] || wantStatus.Active() && m.active[nameKey(c)])
		switch {
		case conflict:
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("create over a taken ID or active name: got %v, want ErrConflict", err)
			}
		case !valid:
			requireOutcome(t, false, err, "create")
		default:
			requireOutcome(t, true, err, "create")
			m.ids[c.ID] = true
			if wantStatus.Active() {
				m.active[nameKey(c)] = true
			}
			checkRoundTrip(t, s, in, c, clock.Now())
			return
		}
		_, after, err := s.Clusters.List(ctx, store.ClusterFilters{Limit: 1})
		requireNoErr(t, err, "count clusters")
		if after != before {
			t.Fatalf("a refused create changed the cluster count from %d to %d", before, after)
		}
	})
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// checkRoundTrip checks the created cluster c, and the same read back,
// against what in asked for.
func checkRoundTrip(t *testing.T, s *store.Store, in clusterInput, c *store.Cluster, now time.Time) {
	t.Helper()
	want := in.cluster()
	if want.ID == "" {
		if !strings.HasPrefix(c.ID, store.PrefixCluster) {
			t.Fatalf("assigned ID %q lacks the prefix %q", c.ID, store.PrefixCluster)
		}
		want.ID = c.ID
	}
	want.Status = store.ClusterStatus(orDefault(string(want.Status), string(store.ClusterPending)))
	want.ClusterType = store.ClusterType(orDefault(string(want.ClusterType), string(store.ClusterTypeOpenShift)))
	if want.DestroyAt != nil {
		want.DestroyAt = ptr(want.DestroyAt.Truncate(time.Microsecond))
	}
	want.CreatedAt, want.UpdatedAt = now, now
	got, err := s.Clusters.GetByID(t.Context(), c.ID)
	requireNoErr(t, err, "get the created cluster")
	requireEqual(t, want, got, "cluster read back")
	checkTimes(t, got, "cluster read back")
	if !c.CreatedAt.Equal(got.CreatedAt) || !c.UpdatedAt.Equal(got.UpdatedAt) || c.Status != got.Status || c.ClusterType != got.ClusterType {
		t.Fatalf("Create filled in %v %v %s %s, read back %v %v %s %s", c.CreatedAt, c.UpdatedAt, c.Status,
			c.ClusterType, got.CreatedAt, got.UpdatedAt, got.Status, got.ClusterType)
	}
}
