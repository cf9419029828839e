// Package store is the contract of ocpstore: the domain types of the
// cluster-provisioning control plane, its enums and state machine, the
// sentinel errors, one interface per sub-store, and the Store aggregate with
// transactions, Claim and KeepAlive.
//
// Backends (store/postgres for production, store/memory for tests) implement
// the small Backend interface; users program against *Store and the sub-store
// interfaces, and the conformance suite in storetest holds every backend to
// the same semantics.
//
// Every method validates its input before it reaches a backend: bad input is
// refused with an error matching ErrInvalidArgument whose *ValidationError
// names the field, and nothing is written.
package store
