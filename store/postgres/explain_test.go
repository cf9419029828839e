package postgres_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
)

// The store's hot queries must stay index lookups as the tables grow: the
// claim must probe the runnable jobs' partial index, not walk the jobs, and
// a filtered cluster listing must read its filter's index, not the table.
// This test checks the plans, not timings: on 20,000 clusters, 40,000
// finished jobs and a queue of 1,000, enough that the planner prefers an
// index whenever one serves, it EXPLAINs the statements the store actually sends (recorded
// with a tracer), both as the plan for their arguments (the custom plan,
// which a prepared statement's first five executions use) and as the
// generic plan a pooled connection may switch to afterwards. It fails on
// any sequential scan of clusters or jobs, on a claim that does not use the
// runnable jobs' index, and on a custom plan of a filtered listing that
// does not use its filter's index.

// planNode is a node of EXPLAIN (FORMAT JSON); Rows and Removed only with
// ANALYZE.
type planNode struct {
	NodeType string     `json:"Node Type"`
	Relation string     `json:"Relation Name"`
	Index    string     `json:"Index Name"`
	Rows     float64    `json:"Actual Rows"`
	Removed  float64    `json:"Rows Removed by Filter"`
	Plans    []planNode `json:"Plans"`
}

// walk calls fn on n and every node below it.
func (n planNode) walk(fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}

// explainPlan returns the plan of st: its custom plan, or with generic its
// generic plan (prepared and executed under plan_cache_mode
// force_generic_plan). It runs in a transaction rolled back afterwards.
func explainPlan(t *testing.T, pool *pgxpool.Pool, st sentSQL, generic bool) planNode {
	t.Helper()
	ctx := t.Context()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only use
	query := "EXPLAIN (FORMAT JSON) " + st.sql
	if generic {
		if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "PREPARE explained AS "+st.sql); err != nil {
			t.Fatal(err)
		}
		marks := make([]string, len(st.args))
		for i := range marks {
			marks[i] = "$" + strconv.Itoa(i+1)
		}
		query = "EXPLAIN (FORMAT JSON) EXECUTE explained(" + strings.Join(marks, ", ") + ")"
	}
	// The simple protocol sends the arguments as literals (EXECUTE needs
	// them so); slices of string kinds go as []string, which it can quote.
	args := []any{pgx.QueryExecModeSimpleProtocol}
	for _, a := range st.args {
		if v := reflect.ValueOf(a); v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String {
			s := make([]string, v.Len())
			for i := range s {
				s[i] = v.Index(i).String()
			}
			a = s
		}
		args = append(args, a)
	}
	var raw string
	if err := tx.QueryRow(ctx, query, args...).Scan(&raw); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if generic { // prepared statements outlive transactions
		if _, err := tx.Exec(ctx, "DEALLOCATE explained"); err != nil {
			t.Fatal(err)
		}
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(raw), &plans); err != nil || len(plans) != 1 {
		t.Fatalf("plan JSON %q: %v", raw, err)
	}
	return plans[0].Plan
}

// checkIndexed fails t if plan scans clusters or jobs sequentially, or
// uses none of the indexes in want (any of them will do).
func checkIndexed(t *testing.T, what string, plan planNode, want ...string) {
	t.Helper()
	var used []string
	plan.walk(func(n planNode) {
		if n.NodeType == "Seq Scan" && (n.Relation == "clusters" || n.Relation == "jobs") {
			t.Errorf("%s: sequential scan of %s", what, n.Relation)
		}
		if n.Index != "" {
			used = append(used, n.Index)
		}
	})
	if !slices.ContainsFunc(want, func(ix string) bool { return slices.Contains(used, ix) }) {
		t.Errorf("%s uses indexes %v, want one of %v", what, used, want)
	}
}

func TestHotQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	rec := &sqlRecorder{}
	s, db := tracedStore(t, rec)
	pool := db.Pool(t)
	ctx := t.Context()
	// 20,000 clusters over 100 teams and in several statuses, most of them
	// DESTROYED (a fleet's history), 1,000 READY; two finished jobs each;
	// a queue of 1,000 pending jobs, one on each READY cluster.
	for _, q := range []string{
		`INSERT INTO clusters (id, name, platform, version, profile, region, owner, team, cost_center, status,
			requested_by, ttl_hours, created_at, updated_at)
		 SELECT 'clu_' || lpad(g::text, 26, '0'), 'c-' || g, 'aws', '4.16', 'p', 'r', 'o' || g % 500 || '@example.com',
			'team-' || g % 100, 'cc', CASE g % 20 WHEN 0 THEN 'READY' WHEN 1 THEN 'HIBERNATED' WHEN 2 THEN 'FAILED'
			WHEN 3 THEN 'DESTROY_FAILED' WHEN 4 THEN 'CREATING' ELSE 'DESTROYED' END, 'o', 1,
			now() - (20001 - g) * interval '1 minute', now()
		 FROM generate_series(1, 20000) AS g`,
		`INSERT INTO jobs (id, cluster_id, job_type, status, attempt, max_attempts, started_at, ended_at, created_at, updated_at)
		 SELECT 'job_' || lpad((g * 2 + k)::text, 26, '0'), 'clu_' || lpad(g::text, 26, '0'), 'POST_CONFIGURE',
			'SUCCEEDED', 1, 3, t, t, t, t
		 FROM generate_series(1, 20000) AS g, generate_series(0, 1) AS k,
			LATERAL (SELECT now() - (20001 - g) * interval '1 minute' + k * interval '1 second' AS t) AS ts`,
		`INSERT INTO jobs (id, cluster_id, job_type, status, created_at, updated_at)
		 SELECT 'job_p' || lpad(g::text, 25, '0'), 'clu_' || lpad(g::text, 26, '0'), 'POST_CONFIGURE', 'PENDING',
			now() + g * interval '1 microsecond', now()
		 FROM generate_series(20, 20000, 20) AS g`,
		`ANALYZE clusters, jobs, job_locks`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	claimed := rec.record(t, func() error {
		_, err := s.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Minute})
		return err
	})
	team, ready := "team-42", store.ClusterReady
	listed := rec.record(t, func() error {
		_, _, err := s.Clusters.List(ctx, store.ClusterFilters{Team: &team})
		return err
	})
	var cursor string
	rec.record(t, func() error {
		p, err := s.Clusters.ListAfter(ctx, store.ClusterFilters{Status: &ready}, "")
		cursor = p.Next
		return err
	})
	paged := rec.record(t, func() error {
		_, err := s.Clusters.ListAfter(ctx, store.ClusterFilters{Status: &ready}, cursor)
		return err
	})

	claim := slices.IndexFunc(claimed, func(st sentSQL) bool { return strings.Contains(st.sql, "SKIP LOCKED") })
	if claim < 0 || len(listed) != 1 || len(paged) != 1 {
		t.Fatalf("recorded %d claim, %d list and %d keyset statements; want the claim query and one of each",
			len(claimed), len(listed), len(paged))
	}
	for _, generic := range []bool{false, true} {
		kind := "custom plan"
		if generic {
			kind = "generic plan"
		}
		checkIndexed(t, "claim query, "+kind, explainPlan(t, pool, claimed[claim], generic), "jobs_runnable_idx")
		// A generic plan cannot know the filter's value, so the planner may
		// walk the creation-order index and filter instead: an index scan
		// still, but not necessarily the filter's own index.
		listIndexes := []string{"clusters_team_created_idx"}
		pageIndexes := []string{"clusters_status_created_idx"}
		if generic {
			listIndexes = append(listIndexes, "clusters_created_idx")
			pageIndexes = append(pageIndexes, "clusters_created_idx")
		}
		checkIndexed(t, "Clusters.List by team, "+kind, explainPlan(t, pool, listed[0], generic), listIndexes...)
		checkIndexed(t, "Clusters.ListAfter by status, "+kind, explainPlan(t, pool, paged[0], generic), pageIndexes...)
	}
}
