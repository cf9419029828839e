// Package memory is the in-memory backend of ocpstore: the same semantics
// as the PostgreSQL backend (errors, defaults, ordering, cursors, fencing
// tokens, expiry on the backend's clock, unique constraints and foreign
// keys, transaction isolation), for fast tests of code that uses the store.
//
//	s := memory.New()                            // a *store.Store
//	b := memory.NewBackend(memory.WithClock(clock))
//	p1, p2 := store.New(b), store.New(b)         // two "processes" on one database
//
// # Design
//
// Committed data lives in tables (one per relation, rows by primary key)
// with the indexes the hot queries need, maintained at commit: the unique
// constraints of the schema; clusters by status and by team, each group
// kept in creation order, so a cluster listing by status or team walks one
// group instead of scanning and sorting the table (a keyset page costs a
// binary search plus the page), and all clusters in name order, which a
// name-sorted listing without a status or team filter walks the same way
// (names never change, so only a create or a delete moves that index); jobs by cluster and by status, and open
// (non-terminal) jobs by cluster in creation order, so LockRunnable reads
// one head per cluster. Rows are never modified in place: a write stores a
// new row, and rows are copied deeply on the way in and on the way out, so
// no caller can reach stored state through a pointer, map or slice.
//
// Write transactions are serialized by one write token, held from Begin
// until Commit or Rollback. A transaction writes into a private overlay
// (per table: primary key to new row or tombstone, plus the unique keys it
// wrote) that its own reads see on top of the committed tables; Commit
// applies the overlay and maintains the indexes under a short exclusive data
// lock, and Rollback drops it. So:
//
//   - Every transaction is serializable, at any requested isolation level,
//     and ErrSerialization never arises in memory. A read-only transaction
//     holds the write token too: that is what makes its reads one snapshot. SKIP LOCKED never has
//     anything to skip: a competing LockRunnable or Claim waits for the
//     transaction to end and then sees its effects, which gives the same
//     guarantee (concurrent claimers get disjoint jobs).
//   - A rolled-back transaction's writes are never visible to anyone.
//   - Reads outside a transaction (autocommit reads) see committed data
//     under a shared lock and are never blocked by an open transaction.
//     A list's page and total always come from one snapshot.
//   - A write outside a transaction (autocommit) takes the write token for
//     that one call: it waits for an open transaction to end, as a
//     PostgreSQL write waits for a row lock. Locking reads (GetByIDForUpdate,
//     LockRunnable) do the same. A call through the OUTER Store with the
//     context WithTx gives fn is refused by package store before it gets
//     here (see Store.WithTx); with another context, a write through the
//     outer Store from inside fn would wait until that context ends, as an
//     update of the transaction's own locked rows would in PostgreSQL.
//     Likewise, do not begin a second transaction while one is open in the
//     same goroutine.
//   - A transaction must always end (WithTx and a deferred Tx.Rollback see
//     to it); an abandoned one keeps every writer waiting.
//
// Each method checks everything before it writes anything, so a failed
// call changes nothing, inside a transaction or not, as a failed PostgreSQL
// statement. As in PostgreSQL, a call that fails where a PostgreSQL
// statement would fail (a unique or foreign-key violation, a write in a
// read-only transaction) aborts its transaction: every later call fails
// with store.ErrTxAborted and Commit rolls back (abort.go). Errors that are
// answers (not found, lock held or lost, a refused transition) leave it
// usable, as they do there. A write in a read-only transaction, a locking
// read included, is refused with ErrInvalidArgument (PostgreSQL: 25006).
//
// Time comes from the injected store.Clock, else time.Now, read once per
// call (PostgreSQL's statement_timestamp()). Every time the backend stores
// or returns is in UTC, truncated to microseconds, as PostgreSQL returns
// them; every other value is kept exactly (package store refuses what
// PostgreSQL could not keep: upper-case UUIDs, IPv6 zones), and usage costs
// are summed as exact decimals, as PostgreSQL's NUMERIC sum. Fencing tokens come from one monotonic counter,
// so a new grant's token is greater than any token ever granted.
package memory
