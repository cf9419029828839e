package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestJobs: a cluster's HIBERNATE job that failed and is retrying (the
// cluster stays HIBERNATING meanwhile), then a RESUME job waiting behind
// it, listed oldest first; jobs of another cluster are not.
func TestJobs(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	pool := db.Pool(t)
	clock := store.NewManualClock(dbNow(t, pool))
	s := postgres.New(pool, postgres.WithClock(clock))
	cluster, hibernate := newCluster(t, s, store.ClusterReady, store.JobHibernate)
	c := claim(t, s, store.JobHibernate, hibernate, time.Minute)
	clock.Advance(time.Second)
	if _, err := s.Finish(t.Context(), c.Lock, store.Retry("CLOUD_API", "throttled", time.Hour)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	resume := newJob(t, s, cluster.ID, store.JobResume)
	newCluster(t, s, store.ClusterPending, store.JobCreate) // another cluster's

	var h history
	ocpstore(t, "", "jobs", cluster.ID, "-json", "-database-url", db.URL).decode(t, &h)
	if h.ClusterID != cluster.ID || h.ClusterName != cluster.Name || h.ClusterStatus != "HIBERNATING" || h.More || len(h.Jobs) != 2 {
		t.Fatalf("jobs -json: %+v", h)
	}
	first, second := h.Jobs[0], h.Jobs[1]
	if first.ID != hibernate.ID || first.JobType != "HIBERNATE" || first.Status != "RETRYING" || first.Attempt != 1 ||
		first.MaxAttempts != store.DefaultMaxAttempts || first.ErrorCode == nil || *first.ErrorCode != "CLOUD_API" ||
		first.ErrorMessage == nil || *first.ErrorMessage != "throttled" || first.StartedAt == nil || first.RetryAt == nil {
		t.Errorf("first job: %+v", first)
	}
	if second.ID != resume.ID || second.Status != "PENDING" || second.StartedAt != nil || !second.CreatedAt.Equal(resume.CreatedAt) {
		t.Errorf("second job: %+v, want %+v", second, resume)
	}

	out := ocpstore(t, db.URL, "jobs", cluster.ID).ok(t)
	table := strings.Split(strings.TrimSpace(out), "\n")
	if table[0] != "cluster "+cluster.ID+" ("+cluster.Name+") is HIBERNATING" || len(table) != 5 {
		t.Fatalf("jobs table:\n%s", out)
	}
	// CREATED and STARTED are two fields each: a date and a time.
	if f := strings.Fields(table[3]); f[2] != hibernate.ID || f[3] != "HIBERNATE" || f[4] != "RETRYING" || f[5] != "1/3" ||
		!strings.HasSuffix(table[3], "  CLOUD_API: throttled") {
		t.Errorf("hibernate row %q", table[3])
	}
	if f := strings.Fields(table[4]); f[2] != resume.ID || f[4] != "PENDING" || f[6] != "-" || f[len(f)-1] != "-" {
		t.Errorf("resume row %q", table[4])
	}

	ocpstore(t, db.URL, "jobs", "-limit", "1", "-json", cluster.ID).decode(t, &h)
	if !h.More || len(h.Jobs) != 1 || h.Jobs[0].ID != hibernate.ID {
		t.Errorf("jobs -limit 1: %+v, want the oldest job and more", h)
	}
	if out := ocpstore(t, db.URL, "jobs", "-limit", "1", cluster.ID).ok(t); !strings.Contains(out, "(the oldest 1 shown; raise -limit for more)") {
		t.Errorf("jobs -limit 1:\n%s", out)
	}

	r := ocpstore(t, db.URL, "jobs", "clu_nonexistent")
	if r.code != exitError || !strings.Contains(r.stderr, `no cluster "clu_nonexistent"`) {
		t.Errorf("jobs of a missing cluster: exit %d, stderr %q", r.code, r.stderr)
	}
}
