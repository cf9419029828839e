package postgres_test

import (
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestTokenAboveReleasedGrant is the regression test of a bug the torture
// test found: an Acquire that drew its token from the sequence and then
// waited for the lock row could insert a token lower than one granted and
// released (the row deleted) while it waited. Lock rows are now never
// deleted, so every grant after the first locks the row before choosing
// its token.
func TestTokenAboveReleasedGrant(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	poolA, poolB := db.Pool(t), db.Pool(t)
	a, b := postgres.New(poolA), postgres.New(poolB)
	ctx := t.Context()
	c := &store.Cluster{Name: "c1", Platform: store.PlatformAWS, Version: "4.18.1", Profile: "p", Region: "r",
		Owner: "o", Team: "t", CostCenter: "cc", RequestedBy: "rb", TTLHours: 1, Status: store.ClusterReady}
	if err := a.Clusters.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	j1 := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
	j2 := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
	if err := a.Jobs.Create(ctx, j1); err != nil {
		t.Fatal(err)
	}
	if err := a.Jobs.Create(ctx, j2); err != nil {
		t.Fatal(err)
	}
	l0, err := a.JobLocks.Acquire(ctx, c.ID, j1.ID, "wA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A releases inside a transaction: the row stays locked until commit.
	tx, err := a.BeginTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := tx.JobLocks.Release(ctx, l0); err != nil {
		t.Fatal(err)
	}
	// B's Acquire takes nextval, then waits for A's row lock.
	type res struct {
		l   *store.JobLock
		err error
	}
	done := make(chan res)
	go func() {
		l, err := b.JobLocks.Acquire(ctx, c.ID, j2.ID, "wB", time.Hour)
		done <- res{l, err}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatal("B's Acquire never waited for the lock row")
		}
		var n int
		if err := poolA.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A grants again (a larger token, as nextval now is) and releases, then commits.
	l1, err := tx.JobLocks.Acquire(ctx, c.ID, j1.ID, "wA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.JobLocks.Release(ctx, l1); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("grants in order: token %d (A), token %d (A, released), then token %d (B)", l0.Token, l1.Token, r.l.Token)
	if r.l.Token <= l1.Token {
		t.Errorf("B's grant got token %d, not above the token %d granted (and released) before it", r.l.Token, l1.Token)
	}
}
