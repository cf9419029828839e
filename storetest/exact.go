package storetest

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// testExactValues: every stored value comes back exactly as given, or is
// refused with its field named, on every backend. It pins the values that
// used to come back changed: a cost rounded to four decimals (0.12345 read
// back as 0.1235, 1e-10 as 0), an upper-case UUID read back in lower case,
// an IPv6 zone dropped.
func testExactValues(t *testing.T, setup setupFunc) {
	t.Run("CostsRoundTrip", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		costs := []float64{0.12345, 1e-10, 0.1 + 0.2, 1.0 / 3, store.MaxCost, 123456.789012345,
			math.SmallestNonzeroFloat64, math.Nextafter(store.MaxCost, 0), 0}
		at := func(i int) time.Time { return epoch.Truncate(time.Hour).Add(time.Duration(i) * time.Hour) }
		var batch []*store.UsageSample
		for i, cost := range costs {
			s := &store.UsageSample{ClusterID: c.ID, SampleTime: at(i), State: store.ClusterReady, EstimatedHourlyCost: ptr(cost)}
			requireNoErr(t, b.s.Usage.Record(b.ctx, s), "record")
			batch = append(batch, &store.UsageSample{ClusterID: c.ID, SampleTime: at(len(costs) + i),
				State: store.ClusterReady, EstimatedHourlyCost: ptr(cost)})
		}
		requireNoErr(t, b.s.Usage.RecordBatch(b.ctx, batch), "record batch")
		got, err := b.s2.Usage.List(b.ctx, c.ID, at(0), at(2*len(costs)))
		requireNoErr(t, err, "list")
		if len(got) != 2*len(costs) {
			t.Fatalf("%d samples, want %d", len(got), 2*len(costs))
		}
		for i, s := range got {
			want := costs[i%len(costs)]
			if s.EstimatedHourlyCost == nil || math.Float64bits(*s.EstimatedHourlyCost) != math.Float64bits(want) {
				t.Errorf("sample %d: cost %v stored, %v read back", i, want, printable(s.EstimatedHourlyCost))
			}
		}
	})

	t.Run("CostSumIsExact", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		hour := epoch.Truncate(time.Hour)
		requireNoErr(t, b.s.Usage.RecordBatch(b.ctx, []*store.UsageSample{
			{ClusterID: c.ID, SampleTime: hour, State: store.ClusterReady, EstimatedHourlyCost: ptr(0.1)},
			{ClusterID: c.ID, SampleTime: hour.Add(time.Hour), State: store.ClusterReady, EstimatedHourlyCost: ptr(0.2)},
		}), "record")
		got, err := b.s.Usage.SummarizeByCluster(b.ctx, store.UsageRange{From: hour, To: hour.Add(2 * time.Hour)})
		requireNoErr(t, err, "summarize")
		// The decimal sum 0.1 + 0.2 is 0.3, not float64's 0.30000000000000004.
		if len(got) != 1 || got[0].EstimatedCost != 0.3*store.SampleInterval.Hours() {
			t.Fatalf("summary %+v, want an estimated cost of exactly 0.3 per hour", got)
		}
	})

	t.Run("AddressesRoundTrip", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		for _, a := range []string{"192.0.2.7", "2001:db8::1", "::ffff:192.0.2.7", "::1", "::", "0.0.0.0", "fe80::1"} {
			addr := netip.MustParseAddr(a)
			action := uniq("addr")
			requireNoErr(t, b.s.Audit.Log(b.ctx, &store.AuditEvent{Actor: "a", Action: action, TargetClusterID: &c.ID,
				Status: store.AuditSuccess, IPAddress: &addr}), "log "+a)
			got, _, err := b.s2.Audit.List(b.ctx, store.AuditFilters{Action: &action})
			requireNoErr(t, err, "list "+a)
			if len(got) != 1 || got[0].IPAddress == nil || *got[0].IPAddress != addr {
				t.Errorf("address %v (4in6 %v) read back as %+v", addr, addr.Is4In6(), got)
			}
		}
	})
}

// printable is *p, or "nil", for messages.
func printable(p *float64) any {
	if p == nil {
		return "nil"
	}
	return *p
}
