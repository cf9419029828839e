package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestLocks: a lock granted two hours ago (by the manual clock) for one
// minute is expired but not released; one granted now for an hour is held;
// a released one is not listed.
func TestLocks(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	pool := db.Pool(t)
	clock := store.NewManualClock(dbNow(t, pool).Add(-2 * time.Hour))
	past := postgres.New(pool, postgres.WithClock(clock))
	live := postgres.New(pool) // the database's clock

	_, done := newCluster(t, past, store.ClusterPending, store.JobCreate)
	if _, err := past.Finish(t.Context(), claim(t, past, store.JobCreate, done, time.Minute).Lock, store.Succeeded(nil)); err != nil {
		t.Fatal(err)
	}
	expiredCluster, expiredJob := newCluster(t, past, store.ClusterPending, store.JobCreate)
	expired := claim(t, past, store.JobCreate, expiredJob, time.Minute).Lock
	heldCluster, heldJob := newCluster(t, live, store.ClusterReady, store.JobHibernate)
	held := claim(t, live, store.JobHibernate, heldJob, time.Hour).Lock

	var r locksReport
	ocpstore(t, db.URL, "locks", "-json").decode(t, &r)
	if r.Held != 1 || r.Expired != 1 || len(r.Locks) != 2 {
		t.Fatalf("locks -json: %+v, want 1 held, 1 expired, 2 listed", r)
	}
	// Oldest grant first.
	e, h := r.Locks[0], r.Locks[1]
	if e.State != "expired" || e.ClusterID != expiredCluster.ID || e.ClusterName != expiredCluster.Name ||
		e.JobID != expiredJob.ID || e.JobType != store.JobCreate || e.JobStatus != "RUNNING" ||
		e.LockedBy != "worker-1" || e.Token != expired.Token || !e.LockedAt.Equal(expired.LockedAt) ||
		!e.ExpiresAt.Equal(expired.ExpiresAt) {
		t.Errorf("first lock %+v, want the expired one %+v", e, expired)
	}
	if h.State != "held" || h.ClusterID != heldCluster.ID || h.JobType != store.JobHibernate || h.Token != held.Token ||
		!h.ExpiresAt.Equal(held.ExpiresAt) {
		t.Errorf("second lock %+v, want the held one %+v", h, held)
	}

	rows := lines(ocpstore(t, db.URL, "locks").ok(t))
	if len(rows) != 5 || rows[0][0] != "STATE" || rows[1][0] != "expired" || rows[1][1] != expiredCluster.ID ||
		rows[2][0] != "held" || rows[2][1] != heldCluster.ID {
		t.Fatalf("locks table: %q", rows)
	}
	if exp := rows[1][len(rows[1])-2:]; exp[1] != "ago" {
		t.Errorf("the expired lock's EXPIRES is %q, want a time ago", exp)
	}
	if exp := rows[2][len(rows[2])-2:]; exp[0] != "in" {
		t.Errorf("the held lock's EXPIRES is %q, want a time ahead", exp)
	}
	if got := strings.Join(rows[4], " "); got != "1 held, 1 expired but not released" {
		t.Errorf("summary %q", got)
	}

	out := ocpstore(t, db.URL, "locks", "-limit", "1").ok(t)
	if !strings.Contains(out, "1 held, 1 expired but not released (1 shown; raise -limit for more)") || strings.Contains(out, heldCluster.ID) {
		t.Errorf("locks -limit 1:\n%s", out)
	}
}

func TestLocksNone(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	if out := ocpstore(t, db.URL, "locks").ok(t); out != "no cluster locks held\n" {
		t.Errorf("locks on an empty database: %q", out)
	}
	var r locksReport
	ocpstore(t, db.URL, "locks", "-json").decode(t, &r)
	if r.At.IsZero() || r.Held != 0 || r.Expired != 0 || r.Locks == nil || len(r.Locks) != 0 {
		t.Errorf("locks -json on an empty database: %+v", r)
	}
}
