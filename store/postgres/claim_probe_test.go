package postgres_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// An idle fleet's claim is one round trip: after a claim found the queue
// empty, the next one asks whether any job is runnable, in one statement
// that locks nothing, before it opens a transaction; a claim that finds a
// job turns that off, so a busy queue never pays for the probe.
func TestEmptyClaimIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	rec := &sqlRecorder{}
	s, _ := tracedStore(t, rec)
	ctx := t.Context()
	p := store.ClaimParams{WorkerID: "w", LockTTL: time.Minute}
	claim := func(want error) []sentSQL {
		t.Helper()
		return rec.record(t, func() error {
			if _, err := s.Claim(ctx, p); !errors.Is(err, want) {
				t.Fatalf("Claim: %v, want %v", err, want)
			}
			return nil
		})
	}
	probe := func(st sentSQL) bool { return strings.HasPrefix(st.sql, "SELECT EXISTS (SELECT 1 FROM jobs j WHERE") }

	// Nothing known yet: the transaction, which finds nothing.
	if sent := claim(store.ErrNoJob); len(sent) != 3 || probe(sent[0]) {
		t.Fatalf("first claim on an empty queue sent %d statements %v, want BEGIN, the claim query, COMMIT", len(sent), sent)
	}
	// Seen empty: the probe alone, every time.
	for range 3 {
		if sent := claim(store.ErrNoJob); len(sent) != 1 || !probe(sent[0]) {
			t.Fatalf("claim on a queue seen empty sent %d statements %v, want the probe alone", len(sent), sent)
		}
	}
	// A job arrives: the probe says so and the claim gets it.
	seedJob(t, s, store.ClusterReady, store.JobPostConfigure)
	sent := claim(nil)
	if len(sent) < 2 || !probe(sent[0]) || strings.ToLower(sent[1].sql) != "begin isolation level read committed read write" {
		t.Fatalf("claim after a job arrived sent %v, want the probe and then the transaction", sent)
	}
	// Found a job: the next claim goes straight to the transaction.
	if sent := claim(store.ErrNoJob); len(sent) != 3 || probe(sent[0]) {
		t.Fatalf("claim after a claim that found a job sent %v, want the transaction without the probe", sent)
	}
	// A job runnable only once its cluster's lock is gone is not found by
	// the probe while the lock is live.
	c, _ := seedJob(t, s, store.ClusterReady, store.JobPostConfigure)
	other := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
	if err := s.Jobs.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	got, err := s.Claim(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	claim(store.ErrNoJob) // the transaction again, which sees the queue empty
	if sent := claim(store.ErrNoJob); len(sent) != 1 || !probe(sent[0]) {
		t.Fatalf("claim while the only pending job waits behind a running one sent %v, want the probe alone", sent)
	}
	if _, err := s.Finish(ctx, got.Lock, store.Succeeded(nil)); err != nil {
		t.Fatal(err)
	}
	next, err := s.Claim(ctx, p)
	if err != nil || next.Job.ID != other.ID {
		t.Fatalf("claim after the running job finished: %v, %v; want job %s", next, err, other.ID)
	}
}

// The claim query of a one-job claim carries its limit as a literal, so
// PostgreSQL keeps a generic plan for it after five calls instead of
// planning it again on every call (a fifth of the server's CPU per job
// when it did: see literalClaimLimits).
func TestClaimQueryKeepsAGenericPlan(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	cfg, err := postgres.DefaultConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.PoolConfig.MaxConns = 1 // one connection, so one statement cache to read
	pool, err := postgres.NewPool(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, ctx := postgres.New(pool), t.Context()
	// A queue of 5,000: with fewer, a generic plan for a LIMIT parameter
	// (costed as a tenth of the queue) is cheap enough to be kept anyway.
	for _, q := range []string{
		`INSERT INTO clusters (id, name, platform, version, profile, region, owner, team, cost_center, status,
			requested_by, ttl_hours, created_at, updated_at)
		 SELECT 'clu_' || lpad(g::text, 26, '0'), 'c-' || g, 'aws', '4.16', 'p', 'r', 'o@example.com', 't', 'cc',
			'READY', 'o', 1, now(), now()
		 FROM generate_series(1, 5000) AS g`,
		`INSERT INTO jobs (id, cluster_id, job_type, status, created_at, updated_at)
		 SELECT 'job_' || lpad(g::text, 26, '0'), 'clu_' || lpad(g::text, 26, '0'), 'POST_CONFIGURE', 'PENDING',
			now() + g * interval '1 microsecond', now()
		 FROM generate_series(1, 5000) AS g`,
		`ANALYZE clusters, jobs, job_locks`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		c, err := s.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Finish(ctx, c.Lock, store.Succeeded(nil)); err != nil {
			t.Fatal(err)
		}
	}
	var generic, custom int64
	if err := pool.QueryRow(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements
		WHERE statement LIKE '%SKIP LOCKED%' AND statement NOT LIKE '%pg_prepared_statements%'`).Scan(&generic, &custom); err != nil {
		t.Fatal(err)
	}
	if generic < 5 {
		t.Fatalf("the claim query ran %d times with a generic plan and %d with a custom one; want the generic plan from the sixth call on", generic, custom)
	}
}
