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
