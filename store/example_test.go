package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
)

// newCluster returns a valid cluster request called name.
func newCluster(name string) *store.Cluster {
	return &store.Cluster{Name: name, Platform: store.PlatformAWS, Version: "4.16.3",
		Profile: "aws-standard", Region: "us-east-1", Owner: "alice@example.com", Team: "platform",
		CostCenter: "cc-1", RequestedBy: "alice", TTLHours: 24}
}

// requestCluster creates a cluster and its CREATE job in one transaction.
func requestCluster(ctx context.Context, s *store.Store, name string) (*store.Cluster, error) {
	c := newCluster(name)
	err := s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
		if err := tx.Clusters.Create(ctx, c); err != nil {
			return err
		}
		return tx.Jobs.Create(ctx, &store.Job{ClusterID: c.ID, JobType: store.JobCreate})
	})
	return c, err
}

// WithTx commits when fn returns nil and rolls everything back when it
// returns an error (or panics). Inside fn, use tx: the same *store.Store
// type, bound to the transaction.
func ExampleStore_WithTx() {
	ctx := context.Background()
	s := memory.New()

	// A cluster, its CREATE job and the audit event: all or nothing.
	err := s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
		c := newCluster("demo")
		if err := tx.Clusters.Create(ctx, c); err != nil {
			return err
		}
		j := &store.Job{ClusterID: c.ID, JobType: store.JobCreate}
		if err := tx.Jobs.Create(ctx, j); err != nil {
			return err
		}
		return tx.Audit.Log(ctx, &store.AuditEvent{Actor: "alice", Action: "cluster.create",
			TargetClusterID: &c.ID, TargetJobID: &j.ID, Status: store.AuditSuccess})
	})
	fmt.Println("first transaction:", err)

	// An error after a write: the write is rolled back.
	err = s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
		if err := tx.Clusters.Create(ctx, newCluster("doomed")); err != nil {
			return err
		}
		return errors.New("quota exceeded")
	})
	fmt.Println("second transaction:", err)

	_, n, _ := s.Clusters.List(ctx, store.ClusterFilters{})
	st := s.Stats()
	fmt.Printf("clusters: %d; commits %d, rollbacks %d\n", n, st.Commits, st.Rollbacks)
	// Output:
	// first transaction: <nil>
	// second transaction: quota exceeded
	// clusters: 1; commits 1, rollbacks 1
}

// Claim starts the oldest runnable job in one transaction (state machine
// check, cluster lock, job RUNNING, cluster in its running status); Finish
// records the outcome, fenced by the lock's token, and releases the lock.
func ExampleStore_Claim() {
	ctx := context.Background()
	s := memory.New()
	c, err := requestCluster(ctx, s, "demo")
	if err != nil {
		fmt.Println(err)
		return
	}

	claimed, err := s.Claim(ctx, store.ClaimParams{WorkerID: "worker-1", LockTTL: time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("claimed:", claimed.Job.JobType, claimed.Job.Status, "attempt", claimed.Job.Attempt)
	fmt.Println("cluster:", claimed.Cluster.Status, "locked by", claimed.Lock.LockedBy)

	// ... create the cluster, heartbeating with s.KeepAlive ...

	job, err := s.Finish(ctx, claimed.Lock, store.Succeeded(map[string]string{"api_url": "https://api.demo.example.com:6443"}))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, _ = s.Clusters.GetByID(ctx, c.ID)
	fmt.Println("finished:", job.Status, "cluster:", c.Status)

	// The lock was released with the job: the same token cannot write again.
	_, err = s.Finish(ctx, claimed.Lock, store.Failed("LATE", "a second outcome"))
	fmt.Println("second Finish refused:", errors.Is(err, store.ErrLockLost))

	_, err = s.Claim(ctx, store.ClaimParams{WorkerID: "worker-1", LockTTL: time.Minute})
	fmt.Println("nothing left:", errors.Is(err, store.ErrNoJob))
	// Output:
	// claimed: CREATE RUNNING attempt 1
	// cluster: CREATING locked by worker-1
	// finished: SUCCEEDED cluster: READY
	// second Finish refused: true
	// nothing left: true
}

// KeepAlive heartbeats a claimed job's lock and cancels the work's context
// when the lock is lost. Here worker-1 stalls before its first heartbeat:
// its lock expires (the injected clock moves past it), the janitor requeues
// the job and worker-2 claims it with a larger fencing token. When worker-1
// comes back, its heartbeat finds the lock lost and its Finish is refused.
func ExampleStore_KeepAlive() {
	ctx := context.Background()
	clock := store.NewManualClock(time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC))
	s := memory.New(memory.WithClock(clock))
	if _, err := requestCluster(ctx, s, "demo"); err != nil {
		fmt.Println(err)
		return
	}
	const ttl = time.Minute
	first, err := s.Claim(ctx, store.ClaimParams{WorkerID: "worker-1", LockTTL: ttl})
	if err != nil {
		fmt.Println(err)
		return
	}

	clock.Advance(2 * ttl) // worker-1 stalls past its lock's expiry
	n, _ := s.RecoverStuck(ctx, "janitor", 10)
	second, err := s.Claim(ctx, store.ClaimParams{WorkerID: "worker-2", LockTTL: ttl})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("requeued:", n, "- worker-2's token is larger:", second.Lock.Token > first.Lock.Token)

	// worker-1 resumes under a heartbeat; the first Extend reports the
	// lock lost and cancels the context its work runs under.
	hb, _ := s.KeepAlive(ctx, first.Lock, ttl, 10*time.Millisecond)
	<-hb.Context().Done()
	fmt.Println("worker-1's work cancelled, lock lost:", errors.Is(hb.Lost(), store.ErrLockLost))
	_, err = s.Finish(ctx, hb.Stop(), store.Succeeded(nil))
	fmt.Println("worker-1's Finish refused:", errors.Is(err, store.ErrLockLost))

	// worker-2 works under its heartbeat's context, then finishes with
	// the lock as last extended.
	hb2, _ := s.KeepAlive(ctx, second.Lock, ttl, 0)
	select {
	case <-hb2.Context().Done():
		fmt.Println("lost the lock; stop without finishing")
		return
	default: // ... the work, checking hb2.Context() ...
	}
	job, err := s.Finish(ctx, hb2.Stop(), store.Succeeded(nil))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("worker-2 finished:", job.Status, "on attempt", job.Attempt)
	// Output:
	// requeued: 1 - worker-2's token is larger: true
	// worker-1's work cancelled, lock lost: true
	// worker-1's Finish refused: true
	// worker-2 finished: SUCCEEDED on attempt 2
}

// Reserve the idempotency key in the transaction that does the work, and
// Complete it there with the response: a retry of the same request replays
// the stored response byte for byte, and the same key with a different
// request is refused.
func ExampleIdempotencyStore_Reserve() {
	ctx := context.Background()
	s := memory.New()
	handle := func(body string) {
		sum := sha256.Sum256([]byte(body))
		err := s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
			rec, created, err := tx.Idempotency.Reserve(ctx, store.IdempotencyReservation{
				Scope: "alice", Key: "req-1", RequestHash: hex.EncodeToString(sum[:]), TTL: 24 * time.Hour})
			if err != nil {
				return err
			}
			if !created {
				fmt.Printf("replayed: %d %s\n", *rec.ResponseStatusCode, rec.ResponseBody)
				return nil
			}
			// ... do the work through tx ...
			resp := json.RawMessage(`{"cluster_id": "clu_1",  "status": "PENDING"}`)
			if _, err := tx.Idempotency.Complete(ctx, "alice", "req-1", 201, resp); err != nil {
				return err
			}
			fmt.Printf("created: 201 %s\n", resp)
			return nil
		})
		if errors.Is(err, store.ErrIdempotencyMismatch) {
			fmt.Println("refused: the key was used for a different request")
		}
	}
	handle(`{"name": "demo"}`)
	handle(`{"name": "demo"}`)
	handle(`{"name": "other"}`)
	// Output:
	// created: 201 {"cluster_id": "clu_1",  "status": "PENDING"}
	// replayed: 201 {"cluster_id": "clu_1",  "status": "PENDING"}
	// refused: the key was used for a different request
}

// ListAfter pages in keyset order: pass each page's Next to get the
// following one, until Next is empty. Its cost does not grow with depth.
func ExampleClusterStore_ListAfter() {
	ctx := context.Background()
	s := memory.New()
	for _, name := range []string{"delta", "alpha", "echo", "charlie", "bravo"} {
		if err := s.Clusters.Create(ctx, newCluster(name)); err != nil {
			fmt.Println(err)
			return
		}
	}
	f := store.ClusterFilters{Sort: store.ClusterByName, Limit: 2}
	for cursor := ""; ; {
		page, err := s.Clusters.ListAfter(ctx, f, cursor)
		if err != nil {
			fmt.Println(err)
			return
		}
		var names []string
		for _, c := range page.Items {
			names = append(names, c.Name)
		}
		fmt.Println(names)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	// Output:
	// [alpha bravo]
	// [charlie delta]
	// [echo]
}
