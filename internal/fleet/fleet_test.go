package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestFleetOnOneServer runs the fleet (a producer, a janitor and three
// worker processes) on one PostgreSQL database of its own and terminates
// every connection to it three times while it runs (pg_terminate_backend,
// on this test's database only), so that calls fail mid-flight with
// outcomes unknown. Then it checks the logs against the database: the
// guarantees must hold exactly, as on a synchronous replicated cluster.
// This is the part of the failover test that runs with every go test.
func TestFleetOnOneServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the fleet with the go command")
	}
	t.Parallel()
	db := postgrestest.New(t)
	ctx := t.Context()
	bin := buildFleet(t)
	f := startFleet(t, bin, db.URL, fleetShape{workerProcs: 3, workersPerProc: 2, ttl: 5 * time.Second,
		workMin: 5 * time.Millisecond, workMax: 40 * time.Millisecond, clusters: 10, backlog: 20})
	pool := db.Pool(t)
	p := probe{postgres.New(pool)}
	admin, err := pgx.Connect(ctx, db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.WithoutCancel(ctx))

	wait, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	claims := 0
	for range 3 {
		if claims, err = p.waitStarts(wait, claims+40); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := admin.QueryRow(wait, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		t.Logf("after %d claims: terminated %d connections", claims, n)
	}
	if _, err := p.waitStarts(wait, claims+40); err != nil {
		t.Fatal(err)
	}
	hung := drain(wait, t, f, p, 2*time.Minute)
	for _, c := range append(f.crashed(), hung...) {
		t.Errorf("crashed or hung: %s", c)
	}
	r, _ := checkFleet(wait, t, f, p.s)
	t.Logf("fleet: %v", r)
	if r.Violations() != 0 {
		t.Errorf("%d violations (see the problems above)", r.Violations())
	}
	if r.Grants == 0 || r.Finishes == 0 || r.Jobs == 0 {
		t.Errorf("the fleet did nothing: %v", r)
	}
}
