// Package fleet runs ocpstore as production does, as separate OS processes
// on one (replicated) PostgreSQL, and checks afterwards that the store kept
// its promises.
//
// A fleet is worker processes (each several Workers: Claim, KeepAlive, work,
// Finish), a Janitor (RecoverStuck) and a Producer (creates clusters and
// jobs), all built from cmd/ocpfleet and given the same connection URL.
// Every process writes what the store acknowledged to a log of JSON lines
// (see Event): each grant with its token, each fenced Finish, each cluster
// and job created. Check compares those logs with what the database holds
// at the end: nothing acknowledged is missing, no completion applied twice,
// no two holders of a cluster overlapped, tokens only grew.
//
// The processes are written for a database that fails over under them.
// Errors are sorted by Classify into "not applied, try again after a
// pause", "may have been applied: reconcile before writing again" and
// unexpected. An unknown outcome of Claim or Finish is reconciled from the
// audit trail, which the store writes in the same transaction as the
// operation it records (see Worker): the fleet never completes a job a
// second time, and never forgets a grant the database made.
//
// The failover test (failover_test.go, opt-in with OCPSTORE_HA=1) runs a
// fleet on the Patroni cluster of scripts/ha while it kills the leader, and
// prints a "failover summary:" line.
package fleet
