package memory_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
)

// exampleCluster is a valid cluster request.
func exampleCluster() *store.Cluster {
	return &store.Cluster{Name: "demo", Platform: store.PlatformAWS, Version: "4.18", Profile: "aws-small",
		Region: "us-east-1", Owner: "dev@example.com", Team: "team-a", CostCenter: "cc-1",
		RequestedBy: "dev@example.com", TTLHours: 24}
}

// New is a *store.Store with the PostgreSQL backend's semantics and no
// setup: the backend for tests of code that uses the store.
func ExampleNew() {
	ctx := context.Background()
	s := memory.New()

	c := exampleCluster()
	if err := s.Clusters.Create(ctx, c); err != nil {
		fmt.Println(err)
		return
	}
	if err := s.Jobs.Create(ctx, &store.Job{ClusterID: c.ID, JobType: store.JobCreate}); err != nil {
		fmt.Println(err)
		return
	}
	claimed, err := s.Claim(ctx, store.ClaimParams{WorkerID: "worker-1", LockTTL: time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(claimed.Job.JobType, claimed.Job.Status, claimed.Cluster.Status)

	// The same constraints as the database: a duplicate active name is refused.
	err = s.Clusters.Create(ctx, exampleCluster())
	fmt.Println("duplicate name:", errors.Is(err, store.ErrConflict))
	// Output:
	// CREATE RUNNING CREATING
	// duplicate name: true
}

// WithClock puts the backend on a clock the test moves, so lock expiry is
// tested without sleeping. Two Stores on one Backend stand for two worker
// processes.
func ExampleWithClock() {
	ctx := context.Background()
	clock := store.NewManualClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	b := memory.NewBackend(memory.WithClock(clock))
	worker1, worker2 := store.New(b), store.New(b)

	c := exampleCluster()
	if err := worker1.Clusters.Create(ctx, c); err != nil {
		fmt.Println(err)
		return
	}
	job := &store.Job{ClusterID: c.ID, JobType: store.JobCreate}
	if err := worker1.Jobs.Create(ctx, job); err != nil {
		fmt.Println(err)
		return
	}
	first, err := worker1.JobLocks.Acquire(ctx, c.ID, job.ID, "worker-1", time.Minute)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = worker2.JobLocks.Acquire(ctx, c.ID, job.ID, "worker-2", time.Minute)
	fmt.Println("while live:", errors.Is(err, store.ErrLockHeld))

	clock.Advance(time.Minute) // worker-1 stopped heartbeating
	second, err := worker2.JobLocks.Acquire(ctx, c.ID, job.ID, "worker-2", time.Minute)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("after expiry:", second.LockedBy, "token grew:", second.Token > first.Token)
	_, err = worker1.JobLocks.Extend(ctx, first, time.Minute)
	fmt.Println("stale heartbeat:", errors.Is(err, store.ErrLockLost))
	// Output:
	// while live: true
	// after expiry: worker-2 token grew: true
	// stale heartbeat: true
}
