package otelstore

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ocpctl/ocpstore/store"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/ocpctl/ocpstore/otelstore"

// Attribute keys.
const (
	AttrOperation  = attribute.Key("ocpstore.operation")    // "Clusters.GetByID"
	AttrBackend    = attribute.Key("ocpstore.backend")      // "postgres", "memory"
	AttrInTx       = attribute.Key("ocpstore.in_tx")        // called on a transaction-bound Store
	AttrOutcome    = attribute.Key("ocpstore.outcome")      // "ok" or store.ErrorClass
	AttrErrorClass = attribute.Key("ocpstore.error_class")  // store.ErrorClass, on error metrics
	AttrRetries    = attribute.Key("ocpstore.retries")      // serialization retries of the operation
	AttrResult     = attribute.Key("ocpstore.claim.result") // "got" or "empty"
	AttrLost       = attribute.Key("ocpstore.heartbeat.lost")
	AttrJobType    = attribute.Key("ocpstore.job_type")
	AttrQueueState = attribute.Key("ocpstore.queue.state") // runnable, retrying, running, stuck
)

// OutcomeOK is the outcome of an operation that returned nil.
const OutcomeOK = "ok"

// config is NewObserver's.
type config struct {
	tp    trace.TracerProvider
	mp    metric.MeterProvider
	attrs []attribute.KeyValue
}

// Option configures NewObserver.
type Option func(*config)

// WithTracerProvider sets the TracerProvider; the global one by default.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithMeterProvider sets the MeterProvider; the global one by default.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.mp = mp } }

// WithAttributes adds attributes to every span (not to metrics, whose
// attribute sets stay small).
func WithAttributes(attrs ...attribute.KeyValue) Option {
	return func(c *config) { c.attrs = append(c.attrs, attrs...) }
}

// Observer is a store.Observer (and store.RetryObserver and
// store.HeartbeatObserver) that makes the spans and metrics of the
// package documentation. Pass it to store.WithObserver. It is safe for
// concurrent use, and one Observer may serve several Stores.
type Observer struct {
	tracer    trace.Tracer
	attrs     []attribute.KeyValue
	duration  metric.Float64Histogram
	errors    metric.Int64Counter
	retries   metric.Int64Counter
	claims    metric.Int64Counter
	locksLost metric.Int64Counter
	beatFails metric.Int64Counter
	sets      sync.Map // setKey -> metric.MeasurementOption, so a hot path sorts no attributes
}

// setKey names one cached attribute set of the operation metrics.
type setKey struct {
	op, backend string
	key         attribute.Key // AttrOutcome or AttrErrorClass
	class       string
}

// set returns the attribute set {operation, backend, key: class}, cached.
func (o *Observer) set(op store.Operation, key attribute.Key, class string) metric.MeasurementOption {
	k := setKey{op.Name, op.Backend, key, class}
	if v, ok := o.sets.Load(k); ok {
		return v.(metric.MeasurementOption)
	}
	v, _ := o.sets.LoadOrStore(k, metric.WithAttributeSet(attribute.NewSet(AttrOperation.String(op.Name),
		AttrBackend.String(op.Backend), key.String(class))))
	return v.(metric.MeasurementOption)
}

var (
	_ store.RetryObserver     = (*Observer)(nil)
	_ store.HeartbeatObserver = (*Observer)(nil)
)

// NewObserver returns an Observer on the given (or the global) providers.
// The error is an instrument the MeterProvider refused.
func NewObserver(opts ...Option) (*Observer, error) {
	c := config{}
	for _, o := range opts {
		o(&c)
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	m := c.mp.Meter(ScopeName)
	o := &Observer{tracer: c.tp.Tracer(ScopeName), attrs: c.attrs}
	var err error
	if o.duration, err = m.Float64Histogram("ocpstore.operation.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of ocpstore operations."),
		metric.WithExplicitBucketBoundaries(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
			0.1, 0.25, 0.5, 1, 2.5, 5, 10)); err != nil {
		return nil, err
	}
	if o.errors, err = m.Int64Counter("ocpstore.operation.errors", metric.WithUnit("{error}"),
		metric.WithDescription("ocpstore operations that returned an error, by class.")); err != nil {
		return nil, err
	}
	if o.retries, err = m.Int64Counter("ocpstore.tx.retries", metric.WithUnit("{retry}"),
		metric.WithDescription("Transactions and worker operations run again after a serialization failure.")); err != nil {
		return nil, err
	}
	if o.claims, err = m.Int64Counter("ocpstore.claims", metric.WithUnit("{claim}"),
		metric.WithDescription("Claim and ClaimMany calls that got a job, or found none.")); err != nil {
		return nil, err
	}
	if o.locksLost, err = m.Int64Counter("ocpstore.locks.lost", metric.WithUnit("{lock}"),
		metric.WithDescription("Job locks found lost (ErrLockLost) or presumed lost by a heartbeat.")); err != nil {
		return nil, err
	}
	if o.beatFails, err = m.Int64Counter("ocpstore.heartbeat.failures", metric.WithUnit("{failure}"),
		metric.WithDescription("Failed extends of KeepAlive heartbeats.")); err != nil {
		return nil, err
	}
	return o, nil
}

// opState is one operation in flight, kept in its context for Retry.
type opState struct {
	span    trace.Span
	op      store.Operation
	retries int
}

type stateKey struct{}

// Start implements store.Observer.
func (o *Observer) Start(ctx context.Context, op store.Operation) (context.Context, func(error)) {
	start := time.Now()
	attrs := make([]attribute.KeyValue, 0, 3+len(o.attrs))
	attrs = append(attrs, AttrOperation.String(op.Name), AttrBackend.String(op.Backend), AttrInTx.Bool(op.InTx))
	attrs = append(attrs, o.attrs...)
	ctx, span := o.tracer.Start(ctx, op.Name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	st := &opState{span: span, op: op}
	ctx = context.WithValue(ctx, stateKey{}, st)
	return ctx, func(err error) { o.done(ctx, st, start, err) }
}

// done ends the operation's span and records its metrics.
func (o *Observer) done(ctx context.Context, st *opState, start time.Time, err error) {
	elapsed := time.Since(start).Seconds()
	outcome := OutcomeOK
	if err != nil {
		outcome = store.ErrorClass(err)
	}
	o.duration.Record(ctx, elapsed, o.set(st.op, AttrOutcome, outcome))
	if err != nil {
		o.errors.Add(ctx, 1, o.set(st.op, AttrErrorClass, outcome))
	}
	if isClaim(st.op.Name) && (err == nil || outcome == store.ClassNoJob) {
		result := "got"
		if err != nil {
			result = "empty"
		}
		o.claims.Add(ctx, 1, metric.WithAttributes(AttrBackend.String(st.op.Backend), AttrResult.String(result)))
	}
	if outcome == store.ClassLockLost {
		o.locksLost.Add(ctx, 1, metric.WithAttributes(AttrOperation.String(st.op.Name), AttrBackend.String(st.op.Backend)))
	}
	span := st.span
	if span.IsRecording() {
		span.SetAttributes(AttrOutcome.String(outcome))
		if st.retries > 0 {
			span.SetAttributes(AttrRetries.Int(st.retries))
		}
		if err != nil && !IsAnswer(err) {
			span.RecordError(err)
			span.SetStatus(codes.Error, outcome)
		}
	}
	span.End()
}

// isClaim reports whether the operation is a claim.
func isClaim(name string) bool {
	return strings.HasPrefix(name, "Store.Claim")
}

// Retry implements store.RetryObserver: a "retry" event on the
// operation's span, counted on the span and in ocpstore.tx.retries.
func (o *Observer) Retry(ctx context.Context, attempt int, err error) {
	st, ok := ctx.Value(stateKey{}).(*opState)
	if !ok {
		return
	}
	st.retries++
	o.retries.Add(ctx, 1, metric.WithAttributes(AttrOperation.String(st.op.Name), AttrBackend.String(st.op.Backend)))
	st.span.AddEvent("retry", trace.WithAttributes(attribute.Int("ocpstore.retry.attempt", attempt),
		AttrErrorClass.String(store.ErrorClass(err))))
}

// HeartbeatFailed implements store.HeartbeatObserver: counted in
// ocpstore.heartbeat.failures, and in ocpstore.locks.lost when the
// heartbeat presumed its lock lost without an ErrLockLost (which the
// failed Extend's done has counted already).
func (o *Observer) HeartbeatFailed(ctx context.Context, f store.HeartbeatFailure) {
	class := store.ErrorClass(f.Err)
	backend := ""
	if st, ok := ctx.Value(stateKey{}).(*opState); ok { // KeepAlive's, whose context the heartbeat's derives from
		backend = st.op.Backend
	}
	beAttr := AttrBackend.String(backend)
	o.beatFails.Add(ctx, 1, metric.WithAttributes(beAttr, AttrErrorClass.String(class), AttrLost.Bool(f.Lost)))
	if f.Lost && class != store.ClassLockLost {
		o.locksLost.Add(ctx, 1, metric.WithAttributes(AttrOperation.String("Store.KeepAlive"), beAttr))
	}
}

// IsAnswer reports whether err, returned by a Store, is an answer rather
// than a failure, so that its span's status is left unset: ErrNoJob,
// ErrNotFound, ErrLockHeld, and conflicts other than serialization
// failures (a taken name, a lost compare-and-set, a refused state
// transition, an idempotency key reused).
func IsAnswer(err error) bool {
	switch store.ErrorClass(err) {
	case store.ClassNoJob, store.ClassNotFound, store.ClassLockHeld, store.ClassConflict:
		return true
	}
	return false
}
