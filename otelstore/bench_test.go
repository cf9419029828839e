package otelstore_test

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ocpctl/ocpstore/otelstore"
	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// BenchmarkGetByID measures Clusters.GetByID uninstrumented (obs=none)
// and instrumented (obs=otel: the SDK's tracer provider, sampling every
// span into a batch processor, and its meter provider with a reader), on
// both backends. Compare with benchstat -col /obs.
func BenchmarkGetByID(b *testing.B) {
	for _, backend := range []string{"memory", "postgres"} {
		b.Run("backend="+backend, func(b *testing.B) {
			var bk store.Backend = memory.NewBackend()
			if backend == "postgres" {
				bk = postgres.NewBackend(postgrestest.New(b).Pool(b)) // skips without a server
			}
			for _, mode := range []string{"none", "otel"} {
				b.Run("obs="+mode, func(b *testing.B) { benchGetByID(b, bk, mode) })
			}
		})
	}
}

// benchGetByID is one of BenchmarkGetByID's.
func benchGetByID(b *testing.B, bk store.Backend, mode string) {
	var opts []store.Option
	if mode == "otel" {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
			sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
		obs, err := otelstore.NewObserver(otelstore.WithTracerProvider(tp), otelstore.WithMeterProvider(mp))
		if err != nil {
			b.Fatal(err)
		}
		opts = append(opts, store.WithObserver(obs))
	}
	s := store.New(bk, opts...)
	c := newCluster("bench-" + mode + "-" + store.NewID(store.PrefixCluster))
	if err := s.Clusters.Create(b.Context(), c); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Clusters.GetByID(b.Context(), c.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetByIDPaired alternates an uninstrumented and an instrumented
// GetByID on the same backend, timing each, so that both see the same
// load of a shared machine; it reports their mean times (none-ns/op,
// otel-ns/op) and the ratio otel/none.
func BenchmarkGetByIDPaired(b *testing.B) {
	for _, backend := range []string{"memory", "postgres"} {
		b.Run("backend="+backend, func(b *testing.B) {
			var bk store.Backend = memory.NewBackend()
			if backend == "postgres" {
				bk = postgres.NewBackend(postgrestest.New(b).Pool(b))
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
				sdktrace.WithBatcher(tracetest.NewNoopExporter()))
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			b.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
			obs, err := otelstore.NewObserver(otelstore.WithTracerProvider(tp), otelstore.WithMeterProvider(mp))
			if err != nil {
				b.Fatal(err)
			}
			plain, instr := store.New(bk), store.New(bk, store.WithObserver(obs))
			c := newCluster("paired-" + store.NewID(store.PrefixCluster))
			if err := plain.Clusters.Create(b.Context(), c); err != nil {
				b.Fatal(err)
			}
			var none, otel time.Duration
			n := 0
			for b.Loop() {
				for i, s := range []*store.Store{plain, instr} {
					start := time.Now()
					if _, err := s.Clusters.GetByID(b.Context(), c.ID); err != nil {
						b.Fatal(err)
					}
					if i == 0 {
						none += time.Since(start)
					} else {
						otel += time.Since(start)
					}
				}
				n++
			}
			b.ReportMetric(float64(none.Nanoseconds())/float64(n), "none-ns/op")
			b.ReportMetric(float64(otel.Nanoseconds())/float64(n), "otel-ns/op")
			b.ReportMetric(float64(otel)/float64(none), "otel/none")
		})
	}
}
