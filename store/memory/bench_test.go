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
// 100 teams.
func benchClusters(b *testing.B, s *store.Store, n int) []*store.Cluster {
	b.Helper()
	statuses := store.ClusterStatuses()
	out := make([]*store.Cluster, n)
	for i := range n {
		c := newCluster(func(c *store.Cluster) {
			c.Status = statuses[i%10] // the first ten: all but FAILED
			c.Team = fmt.Sprintf("team-%d", i%100)
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
