// Command manual walks through the worker pattern of ocpctl's store README,
// step by step, on ocpstore's API: what store.Claim does in one call,
// written out by hand (BeginTx, lock the cluster row, check the state
// machine, acquire the cluster lock, mark the job started, move the
// cluster, commit), then the heartbeat, the work and the fenced Finish.
//
//	go run ./examples/manual                   # on the memory backend
//	go run ./examples/manual -database-url postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//
// On PostgreSQL it migrates the database first and leaves its cluster
// behind (READY), under a name of its own, so it can run again. Prefer
// store.Claim in real workers: it also skips jobs other workers hold (SKIP
// LOCKED) and picks the oldest runnable job; the manual pattern is for a
// worker that already knows which job it wants.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// lockTTL is how long the cluster lock lives without a heartbeat. The
// heartbeat extends it every third of it.
const lockTTL = 300 * time.Millisecond

func main() {
	os.Exit(cli(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run creates a cluster with a CREATE job, then has worker-1 start it by
// hand while worker-2 tries the same and is refused, and runs it to the end.
func run(ctx context.Context, s *store.Store, out io.Writer) error {
	c, job, err := request(ctx, s)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "cluster %s (%s) is %s, its %s job %s is %s\n\n", c.ID, c.Name, c.Status, job.JobType, job.ID, job.Status)

	lock, err := start(ctx, s, job.ID, "worker-1", out)
	if err != nil {
		return err
	}

	// Another worker that picked the same job is refused at step 4: the
	// cluster is locked. (The state machine check at step 3 lets it through:
	// a job that already ran may resume from its in-progress status.)
	_, err = start(ctx, s, job.ID, "worker-2", out)
	if !errors.Is(err, store.ErrLockHeld) {
		return fmt.Errorf("worker-2 should have been refused with ErrLockHeld, got %w", err)
	}
	fmt.Fprintf(out, "worker-2: refused, rolled back: %v\n\n", err)

	// 7. Heartbeat: extend the lock while the work runs, and run the work
	// under the heartbeat's context, which is cancelled if the lock is lost.
	hb, err := s.KeepAlive(ctx, lock, lockTTL, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "worker-1: heartbeat every %v; working for longer than the lock's TTL (%v)\n", lockTTL/3, lockTTL)
	if err := work(hb.Context(), lockTTL+lockTTL/2); err != nil {
		hb.Stop()
		return fmt.Errorf("work stopped: %w", err) // the lock was lost: do not Finish
	}
	extended := hb.Stop()
	if !extended.ExpiresAt.After(lock.ExpiresAt) || extended.Token != lock.Token {
		return fmt.Errorf("the heartbeat did not extend the lock: %+v, then %+v", lock, extended)
	}
	fmt.Fprintf(out, "worker-1: the heartbeat moved the lock's expiry %v later, keeping token %d\n",
		extended.ExpiresAt.Sub(lock.ExpiresAt).Round(10*time.Millisecond), extended.Token)
	lock = extended

	// 8. Finish, fenced by the token: the job's terminal write, the
	// cluster's end status, the lock release and the audit event commit
	// together, or not at all if the token is no longer current.
	done, err := s.Finish(ctx, lock, store.Succeeded(map[string]string{"api_url": "https://api.demo.example.com:6443"}))
	if err != nil {
		return err
	}
	c, err = s.Clusters.GetByID(ctx, c.ID)
	if err != nil {
		return err
	}
	_, err = s.JobLocks.Get(ctx, c.ID)
	fmt.Fprintf(out, "worker-1: finished: job %s, cluster %s, lock released: %v\n", done.Status, c.Status, errors.Is(err, store.ErrNotFound))
	return printTrail(ctx, s, c.ID, out)
}

// request creates a cluster and its CREATE job in one transaction, as the
// API does.
func request(ctx context.Context, s *store.Store) (*store.Cluster, *store.Job, error) {
	c := &store.Cluster{Name: store.NewID("manual-demo"), Platform: store.PlatformAWS, Version: "4.16.3",
		Profile: "aws-standard", Region: "us-east-1", Owner: "alice@example.com", Team: "platform",
		CostCenter: "cc-1", RequestedBy: "alice", TTLHours: 24}
	j := &store.Job{JobType: store.JobCreate}
	err := s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
		if err := tx.Clusters.Create(ctx, c); err != nil {
			return err
		}
		j.ClusterID = c.ID
		if err := tx.Jobs.Create(ctx, j); err != nil {
			return err
		}
		return tx.Audit.Log(ctx, &store.AuditEvent{Actor: "alice", Action: "cluster.create",
			TargetClusterID: &c.ID, TargetJobID: &j.ID, Status: store.AuditSuccess})
	})
	return c, j, err
}

// start is steps 1 to 6 of the pattern: it starts job jobID for workerID in
// one transaction and returns the cluster lock, whose token fences every
// later write of this run.
func start(ctx context.Context, s *store.Store, jobID, workerID string, out io.Writer) (*store.JobLock, error) {
	say := func(format string, args ...any) {
		fmt.Fprintf(out, "%s: "+format+"\n", append([]any{workerID}, args...)...)
	}

	// 1. Begin a transaction. The deferred Rollback undoes everything on
	// any early return and does nothing after Commit.
	tx, err := s.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	say("1. began a transaction")

	job, err := tx.Jobs.GetByID(ctx, jobID)
	if err != nil {
		return nil, err
	}

	// 2. Lock the cluster row (SELECT … FOR UPDATE): other writers of the
	// cluster wait until this transaction ends.
	c, err := tx.Clusters.GetByIDForUpdate(ctx, job.ClusterID)
	if err != nil {
		return nil, err
	}
	say("2. locked the cluster row; the cluster is %s", c.Status)

	// 3. Check the state machine: may a job of this type start from the
	// cluster's status, and to which status does it move it?
	tr, _ := store.TransitionFor(job.JobType)
	to, ok := tr.StartStatus(c.Status, job.Attempt > 0)
	if !ok {
		return nil, &store.TransitionError{Entity: "cluster", ID: c.ID, From: string(c.Status), To: string(tr.Running)}
	}
	if job.Attempt > 0 {
		say("3. %s already ran %d time(s), so it may resume from %s", job.JobType, job.Attempt, c.Status)
	} else {
		say("3. %s may start from %s; the cluster will be %s", job.JobType, c.Status, to)
	}

	// 4. Acquire the cluster's job lock. ErrLockHeld if another holder's
	// lock is live. The lock's token is the fencing token.
	lock, err := tx.JobLocks.Acquire(ctx, c.ID, job.ID, workerID, lockTTL)
	if err != nil {
		return nil, err
	}
	say("4. acquired the cluster lock: fencing token %d, for %v", lock.Token, lock.ExpiresAt.Sub(lock.LockedAt))

	// 5. Mark the job started and move the cluster to its running status.
	if job, err = tx.Jobs.MarkStarted(ctx, job.ID); err != nil {
		return nil, err
	}
	if to != c.Status {
		if c, err = tx.Clusters.UpdateStatus(ctx, c.ID, to); err != nil {
			return nil, err
		}
	}
	// Record the start as Claim does, with the token, in the same transaction.
	if err := tx.Audit.Log(ctx, &store.AuditEvent{Actor: workerID, Action: store.ActionJobStart,
		TargetClusterID: &c.ID, TargetJobID: &job.ID, Status: store.AuditSuccess,
		Metadata: map[string]string{"token": strconv.FormatInt(lock.Token, 10)}}); err != nil {
		return nil, err
	}
	say("5. job %s (attempt %d), cluster %s", job.Status, job.Attempt, c.Status)

	// 6. Commit: the job, the cluster, the lock and the audit event
	// become visible together.
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	say("6. committed")
	return lock, nil
}

// work simulates the job's work: it takes d unless ctx ends first.
func work(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// printTrail prints the cluster's audit trail, oldest first.
func printTrail(ctx context.Context, s *store.Store, clusterID string, out io.Writer) error {
	events, _, err := s.Audit.List(ctx, store.AuditFilters{ClusterID: &clusterID})
	if err != nil {
		return err
	}
	var parts []string
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		p := e.Action + " by " + e.Actor
		if tok := e.Metadata["token"]; tok != "" {
			p += " (token " + tok + ")"
		}
		parts = append(parts, p)
	}
	fmt.Fprintf(out, "\naudit trail: %s\n", strings.Join(parts, ", "))
	return nil
}
