package postgres_test

import (
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// queueCluster creates a cluster in status with one job of type jt.
func queueCluster(t *testing.T, s *store.Store, status store.ClusterStatus, jt store.JobType) *store.Job {
	t.Helper()
	c := &store.Cluster{Name: store.NewID("q"), Platform: store.PlatformAWS, Version: "4.18", Profile: "aws-small",
		Region: "us-east-1", Owner: "o@example.com", Team: "t", CostCenter: "cc", RequestedBy: "o@example.com",
		TTLHours: 1, Status: status}
	if err := s.Clusters.Create(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	j := &store.Job{ClusterID: c.ID, JobType: jt}
	if err := s.Jobs.Create(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	return j
}

// claim claims the one runnable job of type jt, which must be want.
func claim(t *testing.T, s *store.Store, jt store.JobType, want *store.Job, ttl time.Duration) *store.Claimed {
	t.Helper()
	c, err := s.Claim(t.Context(), store.ClaimParams{WorkerID: "w", LockTTL: ttl, JobTypes: []store.JobType{jt}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Job.ID != want.ID {
		t.Fatalf("claimed %s, want %s", c.Job.ID, want.ID)
	}
	return c
}

// TestQueueStats puts jobs of two types in every category, with times set
// by a manual clock an hour behind the database's, and checks each count
// and each Since exactly.
func TestQueueStats(t *testing.T) {
	t.Parallel()
	pool := postgrestest.New(t).Pool(t)
	var dbNow time.Time
	if err := pool.QueryRow(t.Context(), "SELECT statement_timestamp()").Scan(&dbNow); err != nil {
		t.Fatal(err)
	}
	base := dbNow.Add(-time.Hour)
	clock := store.NewManualClock(base)
	base = clock.Now()
	s := postgres.New(pool, postgres.WithClock(clock))

	// Finished jobs count nowhere.
	done := queueCluster(t, s, store.ClusterPending, store.JobCreate)
	if _, err := s.Finish(t.Context(), claim(t, s, store.JobCreate, done, time.Minute).Lock, store.Succeeded(nil)); err != nil {
		t.Fatal(err)
	}
	// Stuck since base: its 10-minute lock expired 50 minutes ago.
	claim(t, s, store.JobCreate, queueCluster(t, s, store.ClusterPending, store.JobCreate), 10*time.Minute)
	// Retrying since base+1m, due in 9 hours.
	clock.Advance(time.Minute)
	waiting := queueCluster(t, s, store.ClusterPending, store.JobCreate)
	if _, err := s.Finish(t.Context(), claim(t, s, store.JobCreate, waiting, time.Minute).Lock,
		store.Retry("E", "again later", 10*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Runnable since base+3m: its retry time has passed.
	clock.Advance(time.Minute)
	due := queueCluster(t, s, store.ClusterPending, store.JobCreate)
	if _, err := s.Finish(t.Context(), claim(t, s, store.JobCreate, due, time.Minute).Lock,
		store.Retry("E", "again soon", time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Runnable since its creation at base+4m.
	clock.Advance(2 * time.Minute)
	queueCluster(t, s, store.ClusterPending, store.JobCreate)
	// Running since base+2h, with a lock that outlives the database's now.
	clock.Advance(2*time.Hour - 4*time.Minute)
	claim(t, s, store.JobHibernate, queueCluster(t, s, store.ClusterReady, store.JobHibernate), 2*time.Hour)

	report, err := postgres.QueueStats(t.Context(), pool)
	if err != nil {
		t.Fatal(err)
	}
	if report.At.Before(dbNow) {
		t.Errorf("At %v is before the database's time read earlier, %v", report.At, dbNow)
	}
	if len(report.ByType) != len(store.JobTypes()) {
		t.Fatalf("%d job types in the report, want %d", len(report.ByType), len(store.JobTypes()))
	}
	want := map[store.JobType]postgres.JobQueue{
		store.JobCreate: {
			Runnable: postgres.QueueCount{Count: 2, Since: base.Add(3 * time.Minute)},
			Retrying: postgres.QueueCount{Count: 1, Since: base.Add(time.Minute)},
			Stuck:    postgres.QueueCount{Count: 1, Since: base},
		},
		store.JobHibernate: {Running: postgres.QueueCount{Count: 1, Since: base.Add(2 * time.Hour)}},
	}
	for i, q := range report.ByType {
		if q.JobType != store.JobTypes()[i] {
			t.Errorf("entry %d is %s, want %s (store.JobTypes order)", i, q.JobType, store.JobTypes()[i])
		}
		w := want[q.JobType]
		w.JobType = q.JobType
		if !sameQueue(q, w) {
			t.Errorf("%s: got %+v, want %+v", q.JobType, q, w)
		}
	}
	if got := report.ByType[0].Stuck.Age(report.At); got != report.At.Sub(base) {
		t.Errorf("stuck age %v, want At - base = %v", got, report.At.Sub(base))
	}
	if got := report.ByType[0].Running.Age(report.At); got != 0 {
		t.Errorf("age of an empty category = %v, want 0", got)
	}
}

// sameQueue compares two JobQueues, their times by instant.
func sameQueue(a, b postgres.JobQueue) bool {
	same := func(x, y postgres.QueueCount) bool { return x.Count == y.Count && x.Since.Equal(y.Since) }
	return a.JobType == b.JobType && same(a.Runnable, b.Runnable) && same(a.Retrying, b.Retrying) &&
		same(a.Running, b.Running) && same(a.Stuck, b.Stuck)
}
