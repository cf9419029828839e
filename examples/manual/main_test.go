package main

import (
	"strings"
	"testing"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// check runs the walkthrough on s and checks what it left in the store.
func check(t *testing.T, s *store.Store) {
	var out strings.Builder
	if err := run(t.Context(), s, &out); err != nil {
		t.Fatalf("%v\noutput:\n%s", err, out.String())
	}
	t.Logf("\n%s", out.String())
	for _, want := range []string{"worker-1: 6. committed", "worker-2: refused", "job SUCCEEDED, cluster READY, lock released: true",
		"audit trail: cluster.create by alice, job.start by worker-1 (token ", "job.succeed by worker-1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "worker-2: 6.") {
		t.Error("worker-2 committed a start")
	}
	cs, _, err := s.Clusters.List(t.Context(), store.ClusterFilters{})
	if err != nil || len(cs) != 1 || cs[0].Status != store.ClusterReady {
		t.Fatalf("clusters %v, %v; want one READY", cs, err)
	}
	jobs, _, err := s.Jobs.List(t.Context(), store.JobFilters{})
	if err != nil || len(jobs) != 1 || jobs[0].Status != store.JobSucceeded || jobs[0].Attempt != 1 {
		t.Fatalf("jobs %v, %v; want one SUCCEEDED after one attempt", jobs, err)
	}
}

func TestManualMemory(t *testing.T) {
	t.Parallel()
	check(t, memory.New())
}

func TestManualPostgres(t *testing.T) {
	t.Parallel()
	check(t, postgres.New(postgrestest.New(t).Pool(t)))
}

// TestCommandLine runs the command as a user would: -help, the memory
// backend, and twice on an empty PostgreSQL database (migrated by the first
// run; the second finds its own cluster name free).
func TestCommandLine(t *testing.T) {
	t.Parallel()
	noEnv := func(string) string { return "" }
	var stdout, stderr strings.Builder
	if code := cli(t.Context(), []string{"-help"}, noEnv, &stdout, &stderr); code != 0 || stderr.Len() != 0 ||
		!strings.Contains(stdout.String(), "Backend: in memory by default; PostgreSQL with -database-url") ||
		!strings.Contains(stdout.String(), "-database-url string") {
		t.Errorf("-help: exit %d, stdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	if code := cli(t.Context(), []string{"extra"}, noEnv, &stdout, &stderr); code != 2 {
		t.Errorf("an unexpected argument: exit %d, want 2", code)
	}
	if code := cli(t.Context(), nil, noEnv, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "job.succeed by worker-1") {
		t.Errorf("in memory: exit %d, stdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}

	db := postgrestest.NewEmpty(t)
	for i, args := range [][]string{{"-database-url", db.URL}, nil} {
		stdout.Reset()
		stderr.Reset()
		env := func(name string) string { // the second run takes the URL from DATABASE_URL
			if name == "DATABASE_URL" {
				return db.URL
			}
			return ""
		}
		if code := cli(t.Context(), args, env, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "job.succeed by worker-1") {
			t.Fatalf("run %d on PostgreSQL: exit %d, stdout:\n%s\nstderr:\n%s", i+1, code, stdout.String(), stderr.String())
		}
	}
	pool := db.Pool(t)
	var clusters int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM clusters WHERE status = 'READY'").Scan(&clusters); err != nil || clusters != 2 {
		t.Errorf("after two runs: %d READY clusters (err %v), want 2", clusters, err)
	}
}

// TestHelpHidesDatabaseURL: -help and a usage error print the flags'
// defaults; DATABASE_URL, which may hold a password, is not one of them.
func TestHelpHidesDatabaseURL(t *testing.T) {
	t.Parallel()
	const pw = "s3cr3t-pw-0xdeadbeef"
	env := func(name string) string {
		if name == "DATABASE_URL" {
			return "postgres://app:" + pw + "@db.example.com/ocpstore?sslmode=verify-full"
		}
		return ""
	}
	for _, args := range [][]string{{"-help"}, {"-no-such-flag"}} {
		var stdout, stderr strings.Builder
		cli(t.Context(), args, env, &stdout, &stderr)
		if out := stdout.String() + stderr.String(); strings.Contains(out, pw) || !strings.Contains(out, "-database-url") {
			t.Errorf("%v printed the password, or no flags:\n%s", args, out)
		}
	}
}
