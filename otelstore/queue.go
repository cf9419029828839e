package otelstore

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/ocpctl/ocpstore/store"
)

// Queue states, the values of AttrQueueState.
const (
	StateRunnable = "runnable"
	StateRetrying = "retrying"
	StateRunning  = "running"
	StateStuck    = "stuck"
)

// RegisterQueueMetrics registers two observable gauges on meter, read
// from s.QueueStats at each collection (one query on PostgreSQL), for
// every job type and queue state (see store.JobQueue), zeros included:
//
//   - ocpstore.queue.jobs: how many jobs are in the state (the queue's
//     depth is the runnable ones);
//   - ocpstore.queue.oldest_age, in seconds: how long the longest-waiting
//     one has been in it (the age of the oldest runnable job is the
//     runnable one), 0 when the state is empty.
//
// s works on either backend. When s has an Observer, each collection is
// also an operation ("Store.QueueStats"); pass a Store without one to keep
// collections out of the traces. Unregister the returned Registration to
// stop.
func RegisterQueueMetrics(meter metric.Meter, s *store.Store) (metric.Registration, error) {
	jobs, err := meter.Int64ObservableGauge("ocpstore.queue.jobs", metric.WithUnit("{job}"),
		metric.WithDescription("Unfinished jobs by type and queue state."))
	if err != nil {
		return nil, err
	}
	age, err := meter.Float64ObservableGauge("ocpstore.queue.oldest_age", metric.WithUnit("s"),
		metric.WithDescription("How long the longest-waiting job of each type and queue state has been in it."))
	if err != nil {
		return nil, err
	}
	return meter.RegisterCallback(func(ctx context.Context, obs metric.Observer) error {
		r, err := s.QueueStats(ctx)
		if err != nil {
			return fmt.Errorf("otelstore: queue metrics: %w", err)
		}
		for _, q := range r.ByType {
			jt := AttrJobType.String(string(q.JobType))
			for _, c := range []struct {
				state string
				count store.QueueCount
			}{{StateRunnable, q.Runnable}, {StateRetrying, q.Retrying}, {StateRunning, q.Running}, {StateStuck, q.Stuck}} {
				set := metric.WithAttributeSet(attribute.NewSet(jt, AttrQueueState.String(c.state)))
				obs.ObserveInt64(jobs, int64(c.count.Count), set)
				obs.ObserveFloat64(age, c.count.Age(r.At).Seconds(), set)
			}
		}
		return nil
	}, jobs, age)
}
