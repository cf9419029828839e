package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
)

// benchClusters fills a store with n clusters spread over 10 statuses and
// 100 teams, each team in a region of its own (so a region filter selects
// what a team filter does, without an index).
func benchClusters(b *testing.B, s *store.Store, n int) []*store.Cluster {
	b.Helper()
	statuses := store.ClusterStatuses()
	out := make([]*store.Cluster, n)
	for i := range n {
		c := newCluster(func(c *store.Cluster) {
			c.Status = statuses[i%10] // the first ten: all but FAILED
			c.Team = fmt.Sprintf("team-%d", i%100)
			c.Region = fmt.Sprintf("region-%d", i%100)
		})
		if err := s.Clusters.Create(context.Background(), c); err != nil {
			b.Fatal(err)
		}
		out[i] = c
	}
	return out
}

func BenchmarkGetByID(b *testing.B) {
	s := memory.New()
	cs := benchClusters(b, s, 1000)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Clusters.GetByID(ctx, cs[i%len(cs)].ID); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkCreate(b *testing.B) {
	s := memory.New()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Clusters.Create(ctx, newCluster()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList lists a page of 50 of 100,000 clusters, filtered by status
// (10,000 matches), by team (1,000 matches), by both (100 matches), and by
// status with a keyset cursor on the 100th page.
func BenchmarkList(b *testing.B) {
	s := memory.New()
	benchClusters(b, s, 100_000)
	ctx := context.Background()
	ready, team := store.ClusterReady, "team-42"
	for _, bc := range []struct {
		name string
		f    store.ClusterFilters
	}{
		{"Status", store.ClusterFilters{Status: &ready, Limit: 50}},
		{"Team", store.ClusterFilters{Team: &team, Limit: 50}},
		{"StatusAndTeam", store.ClusterFilters{Status: &ready, Team: &team, Limit: 50}},
		{"StatusByNameDesc", store.ClusterFilters{Status: &ready, Sort: store.ClusterByName, Desc: true, Limit: 50}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.Clusters.List(ctx, bc.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("StatusAfterCursorPage100", func(b *testing.B) {
		f := store.ClusterFilters{Status: &ready, Limit: 50}
		cursor := ""
		for range 99 {
			p, err := s.Clusters.ListAfter(ctx, f, cursor)
			if err != nil {
				b.Fatal(err)
			}
			cursor = p.Next
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Clusters.ListAfter(ctx, f, cursor); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAcquireRelease(b *testing.B) {
	s := memory.New()
	ctx := context.Background()
	c := benchClusters(b, s, 1)[0]
	j := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
	if err := s.Jobs.Create(ctx, j); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		l, err := s.JobLocks.Acquire(ctx, c.ID, j.ID, "w", time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.JobLocks.Release(ctx, l); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClaimFinish claims and finishes one job per iteration, with
// 1,000 READY clusters each holding a queue of open jobs.
func BenchmarkClaimFinish(b *testing.B) {
	s := memory.New()
	ctx := context.Background()
	cs := benchClusters(b, s, 1000)
	var ready []*store.Cluster
	for _, c := range cs {
		if c.Status == store.ClusterReady {
			ready = append(ready, c)
		}
	}
	enqueue := func(i int) {
		j := &store.Job{ClusterID: ready[i%len(ready)].ID, JobType: store.JobPostConfigure}
		if err := s.Jobs.Create(ctx, j); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 10 * len(ready) {
		enqueue(i)
	}
	p := store.ClaimParams{WorkerID: "w", LockTTL: time.Minute}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		enqueue(i) // keep the queue's length
		i++
		c, err := s.Claim(ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Finish(ctx, c.Lock, store.Succeeded(nil)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListIndexedVsScan lists the same page of 100,000 clusters twice:
// filtered by team, which the team index serves (1,000 rows visited), and
// filtered by region, which no index serves (every row visited); both
// filters select the same 1,000 clusters. It reports each filter's time
// per call and their ratio, measured alternately in the same run: the
// ratio shows that a selective filter on an indexed column does not scan
// the table.
func BenchmarkListIndexedVsScan(b *testing.B) {
	s := memory.New()
	benchClusters(b, s, 100_000)
	ctx := context.Background()
	team, region := "team-42", "region-42"
	for _, bc := range []struct {
		name              string
		indexed, unindexd store.ClusterFilters
	}{
		{"ByCreatedAt", store.ClusterFilters{Team: &team}, store.ClusterFilters{Region: &region}},
		{"ByName", store.ClusterFilters{Team: &team, Sort: store.ClusterByName},
			store.ClusterFilters{Region: &region, Sort: store.ClusterByName}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var indexed, scanned time.Duration
			for b.Loop() {
				for _, f := range []struct {
					f   store.ClusterFilters
					sum *time.Duration
				}{{bc.indexed, &indexed}, {bc.unindexd, &scanned}} {
					start := time.Now()
					items, total, err := s.Clusters.List(ctx, f.f)
					*f.sum += time.Since(start)
					if err != nil || total != 1000 || len(items) != store.DefaultLimit {
						b.Fatalf("List = %d items of %d, %v", len(items), total, err)
					}
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(indexed.Nanoseconds())/n, "ns/indexed")
			b.ReportMetric(float64(scanned.Nanoseconds())/n, "ns/scan")
			b.ReportMetric(float64(scanned)/float64(indexed), "scan/indexed")
		})
	}
}

// BenchmarkListAfterDeep takes the keyset page after the 50,000th of
// 100,000 clusters, in creation and in name order, unfiltered and by
// status; compare with the first page's (Page1) to see that depth costs
// nothing.
func BenchmarkListAfterDeep(b *testing.B) {
	s := memory.New()
	benchClusters(b, s, 100_000)
	ctx := context.Background()
	ready := store.ClusterReady
	for _, bc := range []struct {
		name  string
		f     store.ClusterFilters
		depth int // items before the page
	}{
		{"ByCreatedAt", store.ClusterFilters{Limit: 1000}, 50_000},
		{"ByName", store.ClusterFilters{Sort: store.ClusterByName, Limit: 1000}, 50_000},
		{"StatusByCreatedAt", store.ClusterFilters{Status: &ready, Limit: 1000}, 5_000},
		{"StatusByName", store.ClusterFilters{Status: &ready, Sort: store.ClusterByName, Limit: 1000}, 5_000},
	} {
		cursor := ""
		for range bc.depth / bc.f.Limit {
			p, err := s.Clusters.ListAfter(ctx, bc.f, cursor)
			if err != nil {
				b.Fatal(err)
			}
			cursor = p.Next
		}
		f := bc.f
		f.Limit = store.DefaultLimit
		for _, page := range []struct{ name, cursor string }{{"Page1", ""}, {"Deep", cursor}} {
			b.Run(bc.name+"/"+page.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Clusters.ListAfter(ctx, f, page.cursor); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkClaimManyFinishMany drains jobs in batches: ClaimMany then
// FinishMany of the batch, with 1,000 READY clusters holding a queue of
// open jobs. ns/op is per batch; ns/job per job, to compare with
// BenchmarkClaimFinish.
func BenchmarkClaimManyFinishMany(b *testing.B) {
	for _, batch := range []int{10, 100} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			s := memory.New()
			ctx := context.Background()
			var ready []*store.Cluster
			for _, c := range benchClusters(b, s, 1000) {
				if c.Status == store.ClusterReady {
					ready = append(ready, c)
				}
			}
			next := 0
			enqueue := func(n int) {
				for range n {
					j := &store.Job{ClusterID: ready[next%len(ready)].ID, JobType: store.JobPostConfigure}
					next++
					if err := s.Jobs.Create(ctx, j); err != nil {
						b.Fatal(err)
					}
				}
			}
			enqueue(10 * len(ready))
			p := store.ClaimParams{WorkerID: "w", LockTTL: time.Minute}
			jobs := 0
			b.ReportAllocs()
			for b.Loop() {
				cs, err := s.ClaimMany(ctx, p, batch)
				if err != nil {
					b.Fatal(err)
				}
				items := make([]store.Completion, len(cs))
				for i, c := range cs {
					items[i] = store.Completion{Lock: c.Lock, Outcome: store.Succeeded(nil)}
				}
				if _, _, err := s.FinishMany(ctx, items); err != nil {
					b.Fatal(err)
				}
				jobs += len(cs)
				enqueue(len(cs)) // keep the queue's length
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(jobs), "ns/job")
		})
	}
}
