package otelpool_test

import (
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ocpctl/ocpstore/otelstore/otelpool"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestRegister: the pool's statistics are collected, the maximum size and
// the acquires as the pool counts them.
func TestRegister(t *testing.T) {
	pool := postgrestest.New(t).Pool(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	if _, err := otelpool.Register(mp.Meter("test"), pool); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := pool.Exec(t.Context(), "SELECT 1"); err != nil {
			t.Fatal(err)
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					got[m.Name] += p.Value
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					got[m.Name] += p.Value
				}
			}
		}
	}
	st := pool.Stat()
	if got["ocpstore.pool.connections.max"] != int64(st.MaxConns()) || got["ocpstore.pool.acquires"] != st.AcquireCount() ||
		st.AcquireCount() < 3 || got["ocpstore.pool.connections"] != int64(st.TotalConns()) {
		t.Fatalf("collected %v; pool max %d, acquires %d, total %d", got, st.MaxConns(), st.AcquireCount(), st.TotalConns())
	}
}
