// Package store is the contract of ocpstore: the domain types of the
// cluster-provisioning control plane, its enums and state machine, the
// sentinel errors, and two APIs.
//
// The API programs call is *Store: its fields Clusters, Jobs, JobLocks,
// Idempotency, RBAC, Audit, Outputs and Usage, and its methods (WithTx,
// BeginTx, Claim, ClaimMany, Finish, FinishMany, RecoverStuck, KeepAlive,
// Stats). Every operation runs through one boundary (run.go), which refuses
// an outer Store called with its live transaction's context, reports the
// operation to an Observer (WithObserver) and picks the executor; the
// operation then validates its input (bad input is refused with an error
// matching ErrInvalidArgument whose *ValidationError names the field, and
// nothing reaches the backend), assigns IDs and defaults (NewID, statuses,
// MaxAttempts, SANamespace), and makes exactly one call into the backend.
//
// The API backends implement is Backend, whose Executor (backend.go,
// backend_jobs.go) is the storage contract: one method per storage
// operation, named noun then verb, taking input that is already valid and
// complete. Implement it; do not call it. store/postgres is the production
// backend, store/memory the one for tests, and the conformance suite in
// storetest holds every backend to the same semantics.
//
// The split is River's (riverdriver: "implement, don't call"): the contract
// logic (validation, IDs, defaults, the state machine, the audit format)
// lives here once, so a backend only stores, and there is no layer that
// mirrors the API: a method added to a sub-store is one method here and, if
// it needs new storage, one Executor method per backend.
package store
