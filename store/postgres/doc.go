// Package postgres is ocpstore's production backend: store.Backend over a
// pgx/v5 connection pool. Programs call New (a *store.Store) and Migrate;
// the Executor methods (clusters.go, jobs.go, …, claim.go) implement the
// storage contract of package store and are not called directly. Fixed
// statements are SQL text with named parameters, compiled once (sql.go);
// the listings are built with squirrel and rendered once per shape
// (page.go); pgx executes both.
//
// Every timestamp the backend writes and every expiry it checks is computed
// in SQL from one "now": the injected clock's reading (WithClock) passed as
// a parameter, or else the database's statement_timestamp(). The worker's
// own clock is never used, so workers with skewed clocks still agree on
// who holds a lock.
//
// Database failures that pass by themselves (a terminated session, a
// restart, a failover, a read-only server, a refused connection) are
// reported as store.ErrUnavailable, and as store.ErrCommitUnknown too when
// a write may have reached the server: IsUnavailable lists them. A BEGIN,
// or a statement that never reached the server, is retried once on a fresh
// connection, and pools made by NewPool never hand out a connection whose
// server side ended while it was idle.
//
// # Lock order
//
// Every path that locks a cluster's row and its lock row (job_locks) takes
// the cluster row first, then the lock row, then the lock's job row, and
// locks several rows of one table in key order. The row locks are the
// weakest that do the job: FOR NO KEY UPDATE on a cluster row
// (GetByIDForUpdate, LockRunnable, Requeue, Finish), never FOR UPDATE,
// because a job_locks or jobs write checks its foreign keys with FOR KEY
// SHARE on the referenced cluster and job rows, which FOR NO KEY UPDATE lets
// through and FOR UPDATE blocked; and FOR NO KEY UPDATE on a lock row in a
// fenced write, not FOR SHARE, which two writers of one lock would both get
// and then each wait to upgrade. So: the manual pattern (GetByIDForUpdate,
// Acquire, MarkStarted, UpdateStatus), Claim and ClaimMany (LockRunnable on
// job and cluster rows, which skips locked rows and so never waits; then
// the lock rows, in cluster order), Finish and FinishMany (the clusters, in
// ID order, then the fenced writes and the releases), Requeue and
// RecoverStuck (cluster, lock row, job) and ReleaseExpired (the expired lock
// rows in cluster order) cannot wait for each other in a cycle. Cancel and
// the fenced writes lock the cluster row first too, so the ends of a
// cluster's jobs are serialized on it (see queue.go); a caller's
// transaction that runs the manual pattern and then ends a job must take
// the cluster row before Acquire, as the manual pattern does
// (GetByIDForUpdate), or a claim holding the cluster row and waiting for
// its lock row deadlocks with it. A plain Acquire, Extend or Release locks
// only the lock row. The waiting marks lock a cluster's other job rows
// last: a claim's start marks its cluster's queued jobs after the head's
// row, skipping rows others hold, and an end unmarks one after the ended
// job's. The deterministic tests in lockorder_test.go and queue_test.go
// reproduce each deadlock an earlier order caused.
package postgres
