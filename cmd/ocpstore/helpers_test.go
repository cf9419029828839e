package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
)

// result is what one run of the command left.
type result struct {
	stdout, stderr string
	code           int
}

// ocpstore runs the command with args and DATABASE_URL set to databaseURL
// ("" for unset), as main would.
func ocpstore(t *testing.T, databaseURL string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(name string) string {
		if name == "DATABASE_URL" {
			return databaseURL
		}
		return ""
	}
	code := run(t.Context(), args, getenv, &stdout, &stderr)
	return result{stdout.String(), stderr.String(), code}
}

// ok fails t unless r succeeded, and returns its standard output.
func (r result) ok(t *testing.T) string {
	t.Helper()
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("exit %d, stderr:\n%s\nstdout:\n%s", r.code, r.stderr, r.stdout)
	}
	return r.stdout
}

// decode parses the JSON document of r's standard output into v.
func (r result) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.ok(t)), v); err != nil {
		t.Fatalf("output is not the JSON expected: %v\n%s", err, r.stdout)
	}
}

// lines splits a table into its rows' fields, header included.
func lines(out string) [][]string {
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		rows = append(rows, strings.Fields(l))
	}
	return rows
}

// dbNow reads the database's clock.
func dbNow(t *testing.T, pool *pgxpool.Pool) time.Time {
	t.Helper()
	var now time.Time
	if err := pool.QueryRow(t.Context(), "SELECT statement_timestamp()").Scan(&now); err != nil {
		t.Fatal(err)
	}
	return now
}

// newCluster creates a cluster in status with one job of type jt.
func newCluster(t *testing.T, s *store.Store, status store.ClusterStatus, jt store.JobType) (*store.Cluster, *store.Job) {
	t.Helper()
	c := &store.Cluster{Name: store.NewID("cli"), Platform: store.PlatformAWS, Version: "4.18", Profile: "aws-small",
		Region: "us-east-1", Owner: "o@example.com", Team: "t", CostCenter: "cc", RequestedBy: "o@example.com",
		TTLHours: 1, Status: status}
	if err := s.Clusters.Create(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return c, newJob(t, s, c.ID, jt)
}

// newJob creates a job of type jt on cluster clusterID.
func newJob(t *testing.T, s *store.Store, clusterID string, jt store.JobType) *store.Job {
	t.Helper()
	j := &store.Job{ClusterID: clusterID, JobType: jt}
	if err := s.Jobs.Create(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	return j
}

// claim claims the one runnable job of type jt, which must be want.
func claim(t *testing.T, s *store.Store, jt store.JobType, want *store.Job, ttl time.Duration) *store.Claimed {
	t.Helper()
	c, err := s.Claim(t.Context(), store.ClaimParams{WorkerID: "worker-1", LockTTL: ttl, JobTypes: []store.JobType{jt}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Job.ID != want.ID {
		t.Fatalf("claimed %s, want %s", c.Job.ID, want.ID)
	}
	return c
}
