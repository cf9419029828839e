package otelstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ocpctl/ocpstore/otelstore"
	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// factory makes a Store over fresh data with clock and the store options.
type factory func(t *testing.T, clock store.Clock, opts ...store.Option) *store.Store

// backends are the backends every test runs on: memory always, PostgreSQL
// when postgrestest finds a server (it skips otherwise).
var backends = []struct {
	name string
	new  factory
}{
	{"memory", func(t *testing.T, clock store.Clock, opts ...store.Option) *store.Store {
		return store.New(memory.NewBackend(memory.WithClock(clock)), opts...)
	}},
	{"postgres", func(t *testing.T, clock store.Clock, opts ...store.Option) *store.Store {
		db := postgrestest.New(t)
		return postgres.New(db.Pool(t), postgres.WithClock(clock), postgres.WithStoreOptions(opts...))
	}},
}

// rig is a Store instrumented with in-memory exporters.
type rig struct {
	s      *store.Store
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
	clock  *store.ManualClock
}

func newRig(t *testing.T, f factory) *rig {
	t.Helper()
	r := &rig{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader(),
		clock: store.NewManualClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	r.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	obs, err := otelstore.NewObserver(otelstore.WithTracerProvider(tp), otelstore.WithMeterProvider(r.mp))
	if err != nil {
		t.Fatal(err)
	}
	r.s = f(t, r.clock, store.WithObserver(obs), store.WithRetryPolicy(store.RetryPolicy{MaxRetries: 3}))
	return r
}

// value returns the sum of the data points of the metric name whose
// attributes include want (a histogram's: their count), and whether any
// point matched.
func (r *rig) value(t *testing.T, name string, want ...attribute.KeyValue) (float64, bool) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	total, found := 0.0, false
	match := func(set attribute.Set) bool {
		for _, kv := range want {
			if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
				return false
			}
		}
		found = true
		return true
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total += float64(p.Value)
					}
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total += p.Value
					}
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total += float64(p.Value)
					}
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total += p.Value
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total += float64(p.Count)
					}
				}
			default:
				t.Fatalf("metric %s has data of type %T", name, m.Data)
			}
		}
	}
	return total, found
}

// requireValue fails unless the metric's matching points add up to want.
func (r *rig) requireValue(t *testing.T, want float64, name string, attrs ...attribute.KeyValue) {
	t.Helper()
	got, found := r.value(t, name, attrs...)
	if !found || got != want {
		t.Fatalf("%s%v = %v (found %v), want %v", name, attrs, got, found, want)
	}
}

// span returns the last ended span called name.
func (r *rig) span(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	ended := r.spans.Ended()
	for i := len(ended) - 1; i >= 0; i-- {
		if ended[i].Name() == name {
			return ended[i]
		}
	}
	t.Fatalf("no span %q among %d", name, len(ended))
	return nil
}

// attr returns the span's attribute key.
func attr(s sdktrace.ReadOnlySpan, key attribute.Key) attribute.Value {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

func newCluster(name string) *store.Cluster {
	return &store.Cluster{Name: name, Platform: store.PlatformAWS, Version: "4.16.3",
		Profile: "aws-standard", Region: "us-east-1", Owner: "alice@example.com", Team: "platform",
		CostCenter: "cc-1", RequestedBy: "alice", TTLHours: 24}
}

// request creates a cluster and its CREATE job in one transaction.
func request(t *testing.T, s *store.Store, name string) *store.Job {
	t.Helper()
	var j *store.Job
	err := s.WithTx(t.Context(), func(ctx context.Context, tx *store.Store) error {
		c := newCluster(name)
		if err := tx.Clusters.Create(ctx, c); err != nil {
			return err
		}
		j = &store.Job{ClusterID: c.ID, JobType: store.JobCreate}
		return tx.Jobs.Create(ctx, j)
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

var (
	opAttr      = otelstore.AttrOperation.String
	classAttr   = otelstore.AttrErrorClass.String
	outcomeAttr = otelstore.AttrOutcome.String
)

// TestOperationsSpansAndMetrics: every operation gets a span with its
// attributes and a duration; errors are counted by class; answers leave
// the span's status unset and failures set it to Error; transactions are
// parents of their operations; claims are counted got or empty; a lost
// lock is counted.
func TestOperationsSpansAndMetrics(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			r := newRig(t, b.new)
			ctx := t.Context()
			be := otelstore.AttrBackend.String(b.name)

			if _, err := r.s.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Hour}); !errors.Is(err, store.ErrNoJob) {
				t.Fatalf("claim on an empty queue: %v", err)
			}
			sp := r.span(t, "Store.Claim")
			if sp.Status().Code != codes.Unset || attr(sp, otelstore.AttrOutcome).AsString() != store.ClassNoJob {
				t.Fatalf("empty claim's span: status %v, outcome %v", sp.Status(), attr(sp, otelstore.AttrOutcome))
			}
			r.requireValue(t, 1, "ocpstore.claims", be, otelstore.AttrResult.String("empty"))

			j := request(t, r.s, "obs")
			tx, create := r.span(t, "Store.WithTx"), r.span(t, "Jobs.Create")
			if create.Parent().SpanID() != tx.SpanContext().SpanID() {
				t.Fatal("Jobs.Create's span is not a child of its transaction's")
			}
			if attr(create, otelstore.AttrBackend).AsString() != b.name || !attr(create, otelstore.AttrInTx).AsBool() {
				t.Fatalf("Jobs.Create's attributes: %v", create.Attributes())
			}
			r.requireValue(t, 1, "ocpstore.operation.duration", opAttr("Jobs.Create"), be, outcomeAttr("ok"))

			_, err := r.s.Clusters.GetByID(ctx, store.NewID(store.PrefixCluster))
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			if sp := r.span(t, "Clusters.GetByID"); sp.Status().Code != codes.Unset {
				t.Fatalf("not found is an answer, not an error: %v", sp.Status())
			}
			r.requireValue(t, 1, "ocpstore.operation.errors", opAttr("Clusters.GetByID"), be, classAttr(store.ClassNotFound))

			cl, err := r.s.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Hour})
			if err != nil || cl.Job.ID != j.ID {
				t.Fatalf("claim: %v", err)
			}
			r.requireValue(t, 1, "ocpstore.claims", be, otelstore.AttrResult.String("got"))

			if err := r.s.JobLocks.Release(ctx, cl.Lock); err != nil {
				t.Fatal(err)
			}
			if _, err := r.s.Finish(ctx, cl.Lock, store.Succeeded(nil)); !errors.Is(err, store.ErrLockLost) {
				t.Fatalf("finish with a released lock: %v", err)
			}
			if sp := r.span(t, "Store.Finish"); sp.Status().Code != codes.Error {
				t.Fatalf("a lost lock is a failure: span status %v", sp.Status())
			}
			r.requireValue(t, 1, "ocpstore.locks.lost", opAttr("Store.Finish"), be)
			r.requireValue(t, 1, "ocpstore.operation.errors", opAttr("Store.Finish"), be, classAttr(store.ClassLockLost))
		})
	}
}

// TestRetriesAreCountedAndTraced: a transaction run again after
// serialization failures carries its retries on its span (attribute and
// events) and in ocpstore.tx.retries.
func TestRetriesAreCountedAndTraced(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			r := newRig(t, b.new)
			runs := 0
			err := r.s.WithTx(t.Context(), func(ctx context.Context, tx *store.Store) error {
				runs++
				if runs <= 2 {
					return fmt.Errorf("run %d: %w", runs, store.ErrSerialization)
				}
				return tx.Clusters.Create(ctx, newCluster("retried"))
			})
			if err != nil {
				t.Fatal(err)
			}
			sp := r.span(t, "Store.WithTx")
			if attr(sp, otelstore.AttrRetries).AsInt64() != 2 || len(sp.Events()) != 2 || sp.Status().Code != codes.Unset {
				t.Fatalf("transaction span: retries %v, %d events, status %v", attr(sp, otelstore.AttrRetries),
					len(sp.Events()), sp.Status())
			}
			r.requireValue(t, 2, "ocpstore.tx.retries", opAttr("Store.WithTx"), otelstore.AttrBackend.String(b.name))

			err = r.s.WithTx(t.Context(), func(context.Context, *store.Store) error { return store.ErrSerialization },
				store.MaxRetries(0))
			if !errors.Is(err, store.ErrSerialization) {
				t.Fatal(err)
			}
			if sp := r.span(t, "Store.WithTx"); sp.Status().Code != codes.Error {
				t.Fatalf("a serialization failure returned is a failure: %v", sp.Status())
			}
		})
	}
}

// TestHeartbeatFailuresAreCounted: a heartbeat whose lock was released
// under it counts a failure (lost) and a lost lock.
func TestHeartbeatFailuresAreCounted(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			r := newRig(t, b.new)
			ctx := t.Context()
			request(t, r.s, "beat")
			cl, err := r.s.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.s.JobLocks.Release(ctx, cl.Lock); err != nil {
				t.Fatal(err)
			}
			h, err := r.s.KeepAlive(ctx, cl.Lock, time.Hour, time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			<-h.Context().Done()
			h.Stop()
			be := otelstore.AttrBackend.String(b.name)
			r.requireValue(t, 1, "ocpstore.heartbeat.failures", be, otelstore.AttrLost.Bool(true),
				classAttr(store.ClassLockLost))
			r.requireValue(t, 1, "ocpstore.locks.lost", opAttr("JobLocks.Extend"), be)
		})
	}
}

// TestQueueMetrics: the queue gauges read the Store's queue by type and
// state, zeros included, with the oldest runnable job's age on the
// backend's clock.
func TestQueueMetrics(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			r := newRig(t, b.new)
			if _, err := otelstore.RegisterQueueMetrics(r.mp.Meter("test"), r.s); err != nil {
				t.Fatal(err)
			}
			request(t, r.s, "q1")
			r.clock.Advance(90 * time.Second)
			request(t, r.s, "q2")
			create, runnable := otelstore.AttrJobType.String(string(store.JobCreate)),
				otelstore.AttrQueueState.String(otelstore.StateRunnable)
			r.requireValue(t, 2, "ocpstore.queue.jobs", create, runnable)
			r.requireValue(t, 90, "ocpstore.queue.oldest_age", create, runnable)
			r.requireValue(t, 0, "ocpstore.queue.jobs", otelstore.AttrJobType.String(string(store.JobDestroy)),
				otelstore.AttrQueueState.String(otelstore.StateStuck))
		})
	}
}
