// Package otelstore is ocpstore's OpenTelemetry instrumentation, an
// optional layer in a module of its own (the core module depends on no
// OpenTelemetry package). It follows otelpgx and River's otel middleware:
// an Observer that the Store reports every operation to, plus gauges
// read from the Store (queue) and, in package otelpool, from the pgx pool.
//
//	obs, err := otelstore.NewObserver() // the global providers by default
//	s := postgres.New(pool, postgres.WithStoreOptions(store.WithObserver(obs)))
//	reg, err := otelstore.RegisterQueueMetrics(meter, s)
//
// Spans: one per operation, named after it ("Clusters.GetByID",
// "Store.Claim", "Store.WithTx" for a whole transaction with the
// operations it ran as children, "Tx.Commit"), of kind client, with the
// attributes ocpstore.operation, ocpstore.backend, ocpstore.in_tx,
// ocpstore.outcome ("ok" or the error's store.ErrorClass) and, when the
// operation was run again after serialization failures, ocpstore.retries
// (and a "retry" event per retry). A failure sets the span's status to
// Error and records the error; an answer does not: ErrNoJob, ErrNotFound,
// ErrLockHeld and conflicts (a taken name, a lost compare-and-set, a
// refused state transition, see IsAnswer) are what the caller asked to
// learn, and a queue poller would otherwise paint every idle poll red.
// The outcome attribute still says which answer it was.
//
// Metrics (instrument names; attributes in brackets):
//
//   - ocpstore.operation.duration, histogram, s [operation, backend, outcome]
//   - ocpstore.operation.errors, counter [operation, backend, error class]
//   - ocpstore.tx.retries, counter [operation, backend]: serialization retries
//   - ocpstore.claims, counter [backend, result "got" or "empty"]: Claim and ClaimMany calls
//   - ocpstore.locks.lost, counter [operation, backend]: ErrLockLost from
//     any operation, plus heartbeats that presumed their lock lost
//   - ocpstore.heartbeat.failures, counter [backend, error class, lost]
//   - ocpstore.queue.jobs, gauge [job type, state]: RegisterQueueMetrics
//   - ocpstore.queue.oldest_age, gauge, s [job type, state]: RegisterQueueMetrics
//   - ocpstore.pool.*: otelpool.Register
package otelstore
