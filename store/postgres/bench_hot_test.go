package postgres_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// hotBacklogs are the per-cluster backlogs BenchmarkClaimHotCluster
// compares: a hot cluster's queue of one job against one of 2,000.
var hotBacklogs = [2]int{1, 2000}

// BenchmarkClaimHotCluster measures what one claim reads while a hot
// cluster's head job runs (its lock live) with a backlog queued behind it
// and nothing else runnable: the claim statement the store sends, run
// under EXPLAIN (ANALYZE, BUFFERS) in a transaction that is rolled back,
// once per iteration on each of two databases (backlog 1 and 2,000). It
// reports the shared buffers each claim touched (hit or read) on each, and
// their ratio, "buffers-2000/buffers-1" (issue 11's goal: at most 1.5).
func BenchmarkClaimHotCluster(b *testing.B) {
	type side struct {
		e    *benchEnv
		st   statement
		sum  float64
		runs int
	}
	var sides [2]*side
	for i, backlog := range hotBacklogs {
		e := newBenchEnv(b)
		hot := e.copyClusters(b, 1, func(int) store.ClusterStatus { return store.ClusterReady })
		e.copyJobs(b, hot, backlog+1, store.JobPostConfigure)
		// 1,000 idle READY clusters, each with a finished job: the fleet.
		idle := e.copyClusters(b, 1000, func(int) store.ClusterStatus { return store.ClusterReady })
		e.copyJobs(b, idle, 1, store.JobPostConfigure)
		if _, err := e.pool.Exec(e.ctx, "UPDATE jobs SET status = 'SUCCEEDED', attempt = 1 WHERE cluster_id <> $1", hot[0]); err != nil {
			b.Fatal(err)
		}
		if _, err := e.store.Claim(e.ctx, store.ClaimParams{WorkerID: "head", LockTTL: time.Hour}); err != nil {
			b.Fatal(err) // the head runs: the cluster is locked
		}
		e.vacuum(b)
		stmts := e.record(b, "empty claim", func() error {
			_, err := postgres.New(e.trace).Claim(e.ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Minute})
			if errors.Is(err, store.ErrNoJob) {
				return nil
			}
			return errors.Join(errors.New("want ErrNoJob"), err)
		})
		k := slices.IndexFunc(stmts, func(st statement) bool { return strings.Contains(st.sql, "SKIP LOCKED") })
		if k < 0 {
			b.Fatalf("an empty claim sent no claim query: %q", sqls(stmts))
		}
		sides[i] = &side{e: e, st: stmts[k]}
	}
	buffers := func(s *side) float64 {
		tx, err := s.e.pool.Begin(s.e.ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = tx.Rollback(s.e.ctx) }()
		var out []byte
		if err := tx.QueryRow(s.e.ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+s.st.sql, s.st.args...).Scan(&out); err != nil {
			b.Fatal(err)
		}
		var plans []struct {
			Plan struct {
				Hit  float64 `json:"Shared Hit Blocks"`
				Read float64 `json:"Shared Read Blocks"`
			}
		}
		if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
			b.Fatalf("explain: %v: %s", err, out)
		}
		return plans[0].Plan.Hit + plans[0].Plan.Read
	}
	for range b.N {
		for _, s := range sides {
			s.sum += buffers(s)
			s.runs++
		}
	}
	one, deep := sides[0].sum/float64(sides[0].runs), sides[1].sum/float64(sides[1].runs)
	b.ReportMetric(one, "buffers-1")
	b.ReportMetric(deep, "buffers-2000")
	b.ReportMetric(deep/one, "buffers-2000/buffers-1")
}
