package postgres_test

import (
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestDatabaseClock checks that without an injected clock every time comes
// from the database: Acquire's LockedAt is the server's now() and its
// ExpiresAt is exactly LockedAt + ttl, computed in SQL.
func TestDatabaseClock(t *testing.T) {
	t.Parallel()
	pool := postgrestest.New(t).Pool(t)
	s := postgres.New(pool)
	ctx := t.Context()
	c := &store.Cluster{Name: "clock", Platform: store.PlatformAWS, Version: "4.18", Profile: "p", Region: "r",
		Owner: "o", Team: "t", CostCenter: "cc", RequestedBy: "rb", TTLHours: 1}
	if err := s.Clusters.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	j := &store.Job{ClusterID: c.ID, JobType: store.JobCreate}
	if err := s.Jobs.Create(ctx, j); err != nil {
		t.Fatal(err)
	}
	const ttl = 90*time.Second + 123456*time.Microsecond
	lock, err := s.JobLocks.Acquire(ctx, c.ID, j.ID, "w1", ttl)
	if err != nil {
		t.Fatal(err)
	}
	var dbNow time.Time
	if err := pool.QueryRow(ctx, "SELECT now()").Scan(&dbNow); err != nil {
		t.Fatal(err)
	}
	if d := dbNow.Sub(lock.LockedAt); d < 0 || d > time.Minute {
		t.Errorf("LockedAt %s is %s before the database's now() %s, want within a minute", lock.LockedAt, d, dbNow)
	}
	if got := lock.ExpiresAt.Sub(lock.LockedAt); got != ttl {
		t.Errorf("ExpiresAt - LockedAt = %s, want the ttl %s", got, ttl)
	}
	for name, ts := range map[string]time.Time{"LockedAt": lock.LockedAt, "ExpiresAt": lock.ExpiresAt,
		"cluster CreatedAt": c.CreatedAt, "job CreatedAt": j.CreatedAt} {
		if ts.Location() != time.UTC || ts.Truncate(time.Microsecond) != ts {
			t.Errorf("%s %s is not UTC with microsecond precision", name, ts)
		}
	}
	// A live lock is live on the database clock: another holder is refused.
	if _, err := s.JobLocks.Acquire(ctx, c.ID, j.ID, "w2", ttl); err == nil {
		t.Error("a second worker acquired a live lock")
	}
}
