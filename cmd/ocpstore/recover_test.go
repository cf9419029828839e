package main

import (
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestRecover: a job whose one-minute lock expired an hour ago is taken
// back, runnable again, with an audit event by the actor; a second pass
// finds nothing.
func TestRecover(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	pool := db.Pool(t)
	clock := store.NewManualClock(dbNow(t, pool).Add(-time.Hour))
	s := postgres.New(pool, postgres.WithClock(clock))
	cluster, job := newCluster(t, s, store.ClusterPending, store.JobCreate)
	claim(t, s, store.JobCreate, job, time.Minute)

	if out := ocpstore(t, db.URL, "recover", "-actor", "oncall@example.com").ok(t); out != "took back 1 stuck job\n" {
		t.Errorf("recover: %q", out)
	}
	got, err := s.Jobs.GetByID(t.Context(), job.ID)
	if err != nil || got.Status != store.JobRetrying {
		t.Fatalf("job after recover: %+v, %v; want RETRYING", got, err)
	}
	events, _, err := s.Audit.List(t.Context(), store.AuditFilters{ClusterID: &cluster.ID, Action: ptr(store.ActionJobRequeue)})
	if err != nil || len(events) != 1 || events[0].Actor != "oncall@example.com" {
		t.Errorf("requeue audit events: %+v, %v; want one by the actor", events, err)
	}
	var doc struct{ Recovered int }
	ocpstore(t, db.URL, "recover", "-json").decode(t, &doc)
	if doc.Recovered != 0 {
		t.Errorf("second recover: %d jobs, want 0", doc.Recovered)
	}
	if out := ocpstore(t, db.URL, "recover").ok(t); out != "took back 0 stuck jobs\n" {
		t.Errorf("third recover: %q", out)
	}
}

func ptr[T any](v T) *T { return &v }
