package storetest

import (
	"math"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// FuzzListFilters fuzzes the filters of the cluster, job and audit
// listings: the string, enum, sort, page and time fields come from the
// fuzzer, and set chooses which of the optional ones are set. The store
// must either refuse the filters with ErrInvalidArgument (exactly when
// they break a rule: see fuzzText and the others) or list exactly the rows
// a model of the seeded data selects (equality on every field, so "%"
// matches only "%"), in the listing's order, with the right total and
// keyset pages; never another error, never a panic.
func FuzzListFilters(f *testing.F, newStore FuzzFactory) {
	for _, seed := range []struct {
		set                                uint32
		s1, s2, s3, s4, s5, s6, e1, e2, e3 string
		sort                               string
		desc                               bool
		limit, offset                      int
		since, until                       int64
	}{
		{0, "", "", "", "", "", "", "", "", "", "", false, 0, 0, 0, 0},
		{1<<0 | 1<<11, "%", "", "", "", "", "", "", "", "", "", false, 0, 0, 0, 0},
		{1<<0 | 1<<1 | 1<<12, "_", "_", "", "", "", "", "", "", "", "name", true, 3, 1, 0, 0},
		{1<<1 | 1<<3 | 1<<4, "", "a_c", "", "abc", "%", "", "", "", "", "name", false, 2, 0, 0, 0},
		{1 << 2, "", "", "abcdef00-0000-4000-8000-00000000000a", "", "", "", "", "", "", "", true, 5, 0, 0, 0},
		{1 << 2, "", "", "not-a-uuid", "", "", "", "", "", "", "", false, 0, 0, 0, 0},
		{1<<5 | 1<<6 | 1<<7, "", "", "", "", "", "", "READY", "aws", "openshift", "", false, 0, 0, 0, 0},
		{1<<5 | 1<<9, "", "", "", "", "", "", "RUNNING", "", "", "", false, 1, 0, 0, 0},
		{1<<8 | 1<<13, "", "", "", "", "", "clu_fz04", "", "", "", "created_at", true, 1, 0, 0, 0},
		{1<<10 | 1<<14, "", "", "job_fz03", "", "", "", "", "", "DESTROY", "", false, 0, 0, 0, 0},
		{1<<15 | 1<<16 | 1<<17, "", "", "", "", "", "", "", "FAILURE", "", "", false, 0, 0, 1930000000000000, 1990000000000000},
		{1 << 16, "", "", "", "", "", "", "", "", "", "", false, 0, 0, math.MaxInt64, 0},
		{1<<0 | 1<<11, "'; DROP TABLE clusters; --", "", "", "", "", "", "", "", "", "", false, 0, 0, 0, 0},
		{1 << 0, "a\x00b", "", "", "", "", "", "", "", "", "", false, 0, 0, 0, 0},
		{1 << 1, "", "\xff", "", "", "", "", "", "", "", "", false, 0, 0, 0, 0},
		{0, "", "", "", "", "", "", "", "", "", "status", false, 0, 0, 0, 0},
		{0, "", "", "", "", "", "", "", "", "", "", false, -1, 0, 0, 0},
		{0, "", "", "", "", "", "", "", "", "", "", false, store.MaxLimit + 1, 0, 0, 0},
		{0, "", "", "", "", "", "", "", "", "", "", false, 0, math.MaxInt32 + 1, 0, 0},
		{1 << 8, "", "", "", "", "", " ", "", "", "", "", false, 0, 0, 0, 0},
	} {
		f.Add(seed.set, seed.s1, seed.s2, seed.s3, seed.s4, seed.s5, seed.s6, seed.e1, seed.e2, seed.e3,
			seed.sort, seed.desc, seed.limit, seed.offset, seed.since, seed.until)
	}
	clock := store.NewManualClock(epoch)
	s := newStore(f, clock)
	d := seedListData(f, s, clock)
	f.Fuzz(func(t *testing.T, set uint32, s1, s2, s3, s4, s5, s6, e1, e2, e3, sort string, desc bool,
		limit, offset int, since, until int64) {
		ctx := t.Context()

		cf := store.ClusterFilters{Team: optIf(bit(set, 0), s1), Owner: optIf(bit(set, 1), s2),
			OwnerID: optIf(bit(set, 2), s3), Profile: optIf(bit(set, 3), s4), Region: optIf(bit(set, 4), s5),
			Status: optIf(bit(set, 5), store.ClusterStatus(e1)), Platform: optIf(bit(set, 6), store.Platform(e2)),
			ClusterType: optIf(bit(set, 7), store.ClusterType(e3)), Sort: store.ClusterSort(sort), Desc: desc,
			Limit: limit, Offset: offset}
		valid := fuzzOptional(cf.Team, store.MaxNameLen) && fuzzOptional(cf.Owner, store.MaxNameLen) &&
			fuzzUUID(cf.OwnerID) && fuzzOptional(cf.Profile, store.MaxNameLen) && fuzzOptional(cf.Region, store.MaxNameLen) &&
			fuzzEnum(cf.Status) && fuzzEnum(cf.Platform) && fuzzEnum(cf.ClusterType) &&
			(sort == "" || sort == "created_at" || sort == "name") && fuzzPage(limit, offset)
		got, total, err := s.Clusters.List(ctx, cf)
		requireOutcome(t, valid, err, "list clusters")
		if valid {
			want := d.modelClusters(cf)
			requireIDs(t, ids(pageOf(want, limit, offset), clusterID), ids(got, clusterID), "clusters listed")
			if total != len(want) {
				t.Fatalf("cluster total %d, want %d", total, len(want))
			}
			if offset == 0 {
				all := walkAll(t, limit, "", func(c string) (store.Page[*store.Cluster], error) { return s.Clusters.ListAfter(ctx, cf, c) }, "clusters")
				requireIDs(t, ids(want, clusterID), ids(all, clusterID), "clusters walked")
			}
		}

		jf := store.JobFilters{ClusterID: optIf(bit(set, 8), s6), Status: optIf(bit(set, 9), store.JobStatus(e1)),
			JobType: optIf(bit(set, 10), store.JobType(e3)), Sort: store.JobSort(sort), Desc: desc, Limit: limit, Offset: offset}
		valid = (jf.ClusterID == nil || fuzzRequired(*jf.ClusterID, store.MaxIDLen)) && fuzzEnum(jf.Status) &&
			fuzzEnum(jf.JobType) && (sort == "" || sort == "created_at") && fuzzPage(limit, offset)
		jobs, total, err := s.Jobs.List(ctx, jf)
		requireOutcome(t, valid, err, "list jobs")
		if valid {
			want := d.modelJobs(jf)
			requireIDs(t, ids(pageOf(want, limit, offset), jobID), ids(jobs, jobID), "jobs listed")
			if total != len(want) {
				t.Fatalf("job total %d, want %d", total, len(want))
			}
			if offset == 0 {
				all := walkAll(t, limit, "", func(c string) (store.Page[*store.Job], error) { return s.Jobs.ListAfter(ctx, jf, c) }, "jobs")
				requireIDs(t, ids(want, jobID), ids(all, jobID), "jobs walked")
			}
		}

		af := store.AuditFilters{Actor: optIf(bit(set, 11), s1), Action: optIf(bit(set, 12), s2),
			ClusterID: optIf(bit(set, 13), s6), JobID: optIf(bit(set, 14), s3), Status: optIf(bit(set, 15), store.AuditStatus(e2)),
			Since: optIf(bit(set, 16), time.UnixMicro(since).UTC()), Until: optIf(bit(set, 17), time.UnixMicro(until).UTC()),
			Limit: limit, Offset: offset}
		valid = fuzzOptional(af.Actor, store.MaxARNLen) && fuzzOptional(af.Action, store.MaxActionLen) &&
			(af.ClusterID == nil || fuzzRequired(*af.ClusterID, store.MaxIDLen)) &&
			(af.JobID == nil || fuzzRequired(*af.JobID, store.MaxIDLen)) && fuzzEnum(af.Status) &&
			fuzzInstant(af.Since) && fuzzInstant(af.Until) &&
			(af.Since == nil || af.Until == nil || af.Since.Before(*af.Until)) && fuzzPage(limit, offset)
		events, total, err := s.Audit.List(ctx, af)
		requireOutcome(t, valid, err, "list audit events")
		if valid {
			want := d.modelEvents(af)
			requireIDs(t, ids(pageOf(want, limit, offset), auditID), ids(events, auditID), "events listed")
			if total != len(want) {
				t.Fatalf("event total %d, want %d", total, len(want))
			}
			if offset == 0 {
				all := walkAll(t, limit, "", func(c string) (store.Page[*store.AuditEvent], error) { return s.Audit.ListAfter(ctx, af, c) }, "events")
				requireIDs(t, ids(want, auditID), ids(all, auditID), "events walked")
			}
		}
	})
}
