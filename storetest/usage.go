package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// testUsage covers UsageStore: Record as an idempotent upsert, RecordBatch
// all or nothing, List over a half-open range, and the summaries by
// cluster and by team.
func testUsage(t *testing.T, setup setupFunc) {
	hour := func(h int) time.Time { return epoch.Truncate(time.Hour).Add(time.Duration(h) * time.Hour) }
	sample := func(cluster string, h int, cost *float64) *store.UsageSample {
		return &store.UsageSample{ClusterID: cluster, SampleTime: hour(h), State: store.ClusterReady,
			ControlPlaneReplicas: 3, WorkerReplicas: 2, EstimatedHourlyCost: cost}
	}
	list := func(t *testing.T, b *bundle, cluster string, from, to int) []*store.UsageSample {
		t.Helper()
		got, err := b.s.Usage.List(b.ctx, cluster, hour(from), hour(to))
		requireNoErr(t, err, "list samples")
		return got
	}

	t.Run("RecordIsAnIdempotentUpsert", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		s := sample(c.ID, 0, ptr(1.2345))
		s.Metadata = map[string]string{"source": "collector"}
		requireNoErr(t, b.s.Usage.Record(b.ctx, s), "record")
		got := list(t, b, c.ID, 0, 1)
		if len(got) != 1 || !strings.HasPrefix(got[0].ID, store.PrefixUsage) {
			t.Fatalf("samples after one Record: %+v", got)
		}
		firstID := got[0].ID
		want := *s
		want.ID = firstID
		requireEqual(t, &want, got[0], "recorded sample")
		checkTimes(t, got, "samples")

		requireNoErr(t, b.s2.Usage.Record(b.ctx, sample(c.ID, 0, ptr(1.2345))), "record the same sample twice")
		replaced := sample(c.ID, 0, ptr(0.5))
		replaced.State, replaced.WorkerReplicas = store.ClusterHibernated, 0
		requireNoErr(t, b.s.Usage.Record(b.ctx, replaced), "record new values for the same instant")
		got = list(t, b, c.ID, 0, 1)
		if len(got) != 1 {
			t.Fatalf("%d samples for one cluster and instant, want 1", len(got))
		}
		want = *replaced
		want.ID = firstID
		requireEqual(t, &want, got[0], "replaced sample (ID kept)")

		err := b.s.Usage.Record(b.ctx, sample("clu_missing", 0, nil))
		requireErrIs(t, err, store.ErrNotFound, "record a sample of a missing cluster")
	})

	t.Run("RecordBatchAllOrNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		requireNoErr(t, b.s.Usage.Record(b.ctx, sample(c.ID, 0, ptr(1.0))), "record")
		bad := []*store.UsageSample{sample(c.ID, 1, ptr(1.0)), sample(c.ID, 0, ptr(9.0)), sample("clu_missing", 1, nil)}
		requireErrIs(t, b.s2.Usage.RecordBatch(b.ctx, bad), store.ErrNotFound, "batch with a sample of a missing cluster")
		got := list(t, b, c.ID, 0, 10)
		if len(got) != 1 || *got[0].EstimatedHourlyCost != 1.0 {
			t.Fatalf("samples after a refused batch: %+v, want only the first, unchanged", got)
		}
		good := []*store.UsageSample{sample(c.ID, 2, nil), sample(c.ID, 0, ptr(2.0)), sample(c.ID, 1, ptr(3.0))}
		requireNoErr(t, b.s2.Usage.RecordBatch(b.ctx, good), "batch")
		got = list(t, b, c.ID, 0, 10)
		var times []time.Time
		for _, s := range got {
			times = append(times, s.SampleTime)
		}
		if len(got) != 3 || !slices.EqualFunc(times, []time.Time{hour(0), hour(1), hour(2)}, time.Time.Equal) ||
			*got[0].EstimatedHourlyCost != 2.0 {
			t.Fatalf("samples after a batch: %+v", got)
		}
	})

	t.Run("ListHalfOpenRange", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c, other := b.readyCluster(t), b.readyCluster(t)
		for _, h := range []int{3, 0, 2, 1, 4} {
			requireNoErr(t, b.s.Usage.Record(b.ctx, sample(c.ID, h, nil)), "record")
		}
		requireNoErr(t, b.s.Usage.Record(b.ctx, sample(other.ID, 2, nil)), "record")
		got, err := b.s2.Usage.List(b.ctx, c.ID, hour(1), hour(4))
		requireNoErr(t, err, "list")
		if len(got) != 3 {
			t.Fatalf("%d samples in [1h, 4h), want 3", len(got))
		}
		for i, s := range got {
			if !s.SampleTime.Equal(hour(i+1)) || s.ClusterID != c.ID {
				t.Fatalf("sample %d: %s at %v, want %s at %v", i, s.ClusterID, s.SampleTime, c.ID, hour(i+1))
			}
		}
		got, err = b.s.Usage.List(b.ctx, c.ID, hour(1), hour(1).Add(time.Microsecond))
		requireNoErr(t, err, "list one instant")
		if len(got) != 1 {
			t.Fatalf("%d samples in [1h, 1h+1µs), want 1", len(got))
		}
	})

	t.Run("Summaries", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		a1 := b.cluster(t, withStatus(store.ClusterReady), func(c *store.Cluster) { c.Team = "team-a" })
		a2 := b.cluster(t, withStatus(store.ClusterReady), func(c *store.Cluster) { c.Team = "team-a" })
		b1 := b.cluster(t, withStatus(store.ClusterReady), func(c *store.Cluster) { c.Team = "team-b" })
		b.cluster(t, func(c *store.Cluster) { c.Team = "team-c" }) // no samples
		samples := []*store.UsageSample{
			sample(a1.ID, 0, ptr(1.5)), sample(a1.ID, 1, ptr(2.25)), sample(a1.ID, 2, nil),
			sample(a2.ID, 0, ptr(0.1)),
			sample(b1.ID, 1, ptr(10.0)), sample(b1.ID, 5, ptr(100.0)), // 5h is outside [0h, 3h)
		}
		requireNoErr(t, b.s.Usage.RecordBatch(b.ctx, samples), "record batch")
		r := store.UsageRange{From: hour(0), To: hour(3)}

		byCluster := []store.UsageSummary{
			{Key: a1.ID, Samples: 3, Hours: 3, EstimatedCost: 3.75},
			{Key: a2.ID, Samples: 1, Hours: 1, EstimatedCost: 0.1},
			{Key: b1.ID, Samples: 1, Hours: 1, EstimatedCost: 10},
		}
		slices.SortFunc(byCluster, func(x, y store.UsageSummary) int { return strings.Compare(x.Key, y.Key) })
		got, err := b.s2.Usage.SummarizeByCluster(b.ctx, r)
		requireNoErr(t, err, "summarize by cluster")
		requireSummaries(t, byCluster, got, "by cluster")

		team := r
		team.Team = ptr("team-a")
		got, err = b.s.Usage.SummarizeByCluster(b.ctx, team)
		requireNoErr(t, err, "summarize team-a by cluster")
		requireSummaries(t, slices.DeleteFunc(slices.Clone(byCluster), func(s store.UsageSummary) bool { return s.Key == b1.ID }),
			got, "team-a by cluster")

		one := r
		one.ClusterID = &a1.ID
		got, err = b.s.Usage.SummarizeByCluster(b.ctx, one)
		requireNoErr(t, err, "summarize one cluster")
		requireSummaries(t, []store.UsageSummary{{Key: a1.ID, Samples: 3, Hours: 3, EstimatedCost: 3.75}}, got, "one cluster")

		got, err = b.s.Usage.SummarizeByTeam(b.ctx, r)
		requireNoErr(t, err, "summarize by team")
		requireSummaries(t, []store.UsageSummary{
			{Key: "team-a", Samples: 4, Hours: 4, EstimatedCost: 3.85},
			{Key: "team-b", Samples: 1, Hours: 1, EstimatedCost: 10},
		}, got, "by team")

		got, err = b.s2.Usage.SummarizeByTeam(b.ctx, store.UsageRange{From: hour(0), To: hour(6), Team: ptr("team-b")})
		requireNoErr(t, err, "summarize team-b")
		requireSummaries(t, []store.UsageSummary{{Key: "team-b", Samples: 2, Hours: 2, EstimatedCost: 110}}, got, "team-b")

		got, err = b.s.Usage.SummarizeByTeam(b.ctx, store.UsageRange{From: hour(10), To: hour(20)})
		requireNoErr(t, err, "summarize an empty range")
		requireSummaries(t, nil, got, "empty range")
	})
}

// requireSummaries compares summaries, amounts within rounding.
func requireSummaries(t *testing.T, want, got []store.UsageSummary, what string) {
	t.Helper()
	ok := len(want) == len(got)
	for i := 0; ok && i < len(want); i++ {
		w, g := want[i], got[i]
		ok = w.Key == g.Key && w.Samples == g.Samples && approx(w.Hours, g.Hours) && approx(w.EstimatedCost, g.EstimatedCost)
	}
	if !ok {
		t.Fatalf("summaries %s: got %+v, want %+v", what, got, want)
	}
}
