// Package otelpool exports a pgxpool.Pool's statistics as OpenTelemetry
// metrics. It is apart from otelstore so that a program on the memory
// backend does not link pgx through it.
package otelpool

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// AttrState is the connection state of ocpstore.pool.connections:
// "acquired", "idle" or "constructing".
const AttrState = attribute.Key("ocpstore.pool.state")

// AttrReason is why connections were destroyed: "max_lifetime" or
// "max_idle_time".
const AttrReason = attribute.Key("ocpstore.pool.reason")

// Register registers observable instruments on meter that read pool.Stat()
// at each collection:
//
//   - ocpstore.pool.connections, gauge [state: acquired, idle, constructing]
//   - ocpstore.pool.connections.max, gauge
//   - ocpstore.pool.acquires, counter: successful acquires
//   - ocpstore.pool.acquires.empty, counter: acquires that waited for a connection
//   - ocpstore.pool.acquires.canceled, counter: acquires cancelled by their context
//   - ocpstore.pool.acquire.duration, counter, s: total time spent acquiring
//   - ocpstore.pool.acquire.wait, counter, s: total time empty acquires waited
//   - ocpstore.pool.connections.created, counter
//   - ocpstore.pool.connections.destroyed, counter [reason: max_lifetime, max_idle_time]
//
// Unregister the returned Registration to stop.
func Register(meter metric.Meter, pool *pgxpool.Pool) (metric.Registration, error) {
	var errs []error
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := meter.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	fcounter := func(name, desc string) metric.Float64ObservableCounter {
		c, err := meter.Float64ObservableCounter(name, metric.WithUnit("s"), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	conns := gauge("ocpstore.pool.connections", "{connection}", "Connections of the pool by state.")
	maxConns := gauge("ocpstore.pool.connections.max", "{connection}", "The pool's maximum size.")
	acquires := counter("ocpstore.pool.acquires", "{acquire}", "Successful acquires of a connection.")
	empty := counter("ocpstore.pool.acquires.empty", "{acquire}", "Acquires that waited for a connection.")
	canceled := counter("ocpstore.pool.acquires.canceled", "{acquire}", "Acquires cancelled by their context.")
	acqDur := fcounter("ocpstore.pool.acquire.duration", "Total time spent acquiring connections.")
	acqWait := fcounter("ocpstore.pool.acquire.wait", "Total time acquires waited for an empty pool.")
	created := counter("ocpstore.pool.connections.created", "{connection}", "Connections opened.")
	destroyed := counter("ocpstore.pool.connections.destroyed", "{connection}", "Connections closed by the pool.")
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	acquired, idle, constructing := attrSet(AttrState.String("acquired")), attrSet(AttrState.String("idle")),
		attrSet(AttrState.String("constructing"))
	lifetime, idleTime := attrSet(AttrReason.String("max_lifetime")), attrSet(AttrReason.String("max_idle_time"))
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := pool.Stat()
		o.ObserveInt64(conns, int64(st.AcquiredConns()), acquired)
		o.ObserveInt64(conns, int64(st.IdleConns()), idle)
		o.ObserveInt64(conns, int64(st.ConstructingConns()), constructing)
		o.ObserveInt64(maxConns, int64(st.MaxConns()))
		o.ObserveInt64(acquires, st.AcquireCount())
		o.ObserveInt64(empty, st.EmptyAcquireCount())
		o.ObserveInt64(canceled, st.CanceledAcquireCount())
		o.ObserveFloat64(acqDur, st.AcquireDuration().Seconds())
		o.ObserveFloat64(acqWait, st.EmptyAcquireWaitTime().Seconds())
		o.ObserveInt64(created, st.NewConnsCount())
		o.ObserveInt64(destroyed, st.MaxLifetimeDestroyCount(), lifetime)
		o.ObserveInt64(destroyed, st.MaxIdleDestroyCount(), idleTime)
		return nil
	}, conns, maxConns, acquires, empty, canceled, acqDur, acqWait, created, destroyed)
}

func attrSet(kv ...attribute.KeyValue) metric.MeasurementOption {
	return metric.WithAttributeSet(attribute.NewSet(kv...))
}
