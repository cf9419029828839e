// Package memory is the in-memory backend of ocpstore: the same semantics
// as the PostgreSQL backend (errors, defaults, ordering, cursors, fencing
// tokens, expiry on the backend's clock, unique constraints and foreign
// keys, a failed statement aborting its transaction), for fast tests of
// code that uses the store. The conformance suite (storetest) holds both
// to it.
//
//	s := memory.New()                            // a *store.Store
//	b := memory.NewBackend(memory.WithClock(clock))
//	p1, p2 := store.New(b), store.New(b)         // two "processes" on one database
//
// What differs, and what a test must know:
//
//   - Every transaction is serializable, whatever isolation it asks for,
//     and ErrSerialization never arises. Transactions run one at a time:
//     Begin waits for the open one to end, and so does a write outside a
//     transaction (as a PostgreSQL write waits for a row lock), a locking
//     read (GetByIDForUpdate, LockRunnable) and a claim. So SKIP LOCKED has
//     nothing to skip: a competing claimer waits and then sees the first
//     one's effects, which gives the same guarantee (disjoint jobs).
//   - Reads outside a transaction never wait.
//   - A transaction must always end (WithTx and a deferred Tx.Rollback see
//     to it): an abandoned one keeps every writer waiting. Do not begin a
//     second transaction, or write through the outer Store with a context
//     other than WithTx's, while one is open in the same goroutine: it
//     waits for itself.
//   - Time comes from the injected store.Clock, else time.Now, read once
//     per call, in UTC and truncated to microseconds as PostgreSQL stores
//     it.
//
// How it is built is described next to the code: the tables and their
// indexes in table.go and schema.go, a transaction's overlay in tx.go and
// tableview.go, failed statements in abort.go.
package memory
