package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// testStateMachine holds Clusters.UpdateStatus to store.Transitions: every
// edge of every job type works, every pair CanTransition refuses is
// ErrInvalidStateTransition and changes nothing, and concurrent changes
// from one status have exactly one winner.
func testStateMachine(t *testing.T, setup setupFunc) {
	t.Run("EveryJobTypesEdges", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, tr := range store.Transitions() {
			t.Run(string(tr.JobType), func(t *testing.T) {
				// Every start status, through the steps, to success.
				for _, from := range tr.From {
					walk(t, b, from, append(tr.InProgress(), tr.Success))
				}
				// To failure from every in-progress status.
				for i := range tr.InProgress() {
					walk(t, b, tr.From[0], append(tr.InProgress()[:i+1:i+1], tr.Failure))
				}
			})
		}
	})

	t.Run("EveryPairOfStatuses", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		type pair struct{ from, to store.ClusterStatus }
		clusters := map[pair]*store.Cluster{}
		for _, from := range store.ClusterStatuses() {
			for _, to := range store.ClusterStatuses() {
				clusters[pair{from, to}] = b.cluster(t, withStatus(from))
			}
		}
		b.clock.Advance(time.Minute)
		allowed := 0
		for p, c := range clusters {
			what := fmt.Sprintf("%s -> %s", p.from, p.to)
			got, err := b.handle(allowed).Clusters.UpdateStatus(b.ctx, c.ID, p.to)
			if !store.CanTransition(p.from, p.to) {
				requireTransition(t, err, "cluster", c.ID, string(p.from), string(p.to))
				requireEqual(t, c, b.getCluster(t, c.ID), "cluster after the refused "+what)
				continue
			}
			allowed++
			requireNoErr(t, err, what)
			want := *c
			want.Status, want.UpdatedAt = p.to, b.clock.Now()
			if p.to == store.ClusterDestroyed {
				want.DestroyedAt = ptr(b.clock.Now())
			}
			requireEqual(t, &want, got, "cluster returned by "+what)
			requireEqual(t, &want, b.getCluster(t, c.ID), "cluster read after "+what)
		}
		if allowed == 0 || allowed == len(clusters) {
			t.Fatalf("%d of %d pairs allowed: the state machine table is degenerate", allowed, len(clusters))
		}
	})

	t.Run("ConcurrentChangesHaveOneWinner", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		targets := [][2]store.ClusterStatus{
			{store.ClusterHibernating, store.ClusterDestroying},
			{store.ClusterDestroying, store.ClusterDestroying},
		}
		for round := range 20 {
			c := b.readyCluster(t)
			to := targets[round%len(targets)]
			results := make([]*store.Cluster, 2)
			errs := race(2, func(i int) error {
				var err error
				results[i], err = b.handle(i).Clusters.UpdateStatus(b.ctx, c.ID, to[i])
				return err
			})
			winner := -1
			for i, err := range errs {
				if err == nil {
					if winner >= 0 {
						t.Fatalf("round %d: READY -> %s and READY -> %s both won", round, to[0], to[1])
					}
					winner = i
				}
			}
			if winner < 0 {
				t.Fatalf("round %d: no change won: %v", round, errors.Join(errs...))
			}
			loser := 1 - winner
			requireTransition(t, errs[loser], "cluster", c.ID, string(to[winner]), string(to[loser]))
			if got := b.getCluster(t, c.ID); got.Status != to[winner] {
				t.Fatalf("round %d: status %q, want the winner's %q", round, got.Status, to[winner])
			}
		}
	})
}

// walk creates a cluster in status from and moves it through path with
// UpdateStatus, checking each step.
func walk(t *testing.T, b *bundle, from store.ClusterStatus, path []store.ClusterStatus) {
	t.Helper()
	c := b.cluster(t, withStatus(from))
	cur := from
	for _, to := range path {
		if to == cur {
			continue // day-2 jobs keep their status
		}
		got, err := b.s.Clusters.UpdateStatus(b.ctx, c.ID, to)
		requireNoErr(t, err, fmt.Sprintf("%s -> %s (path %v from %s)", cur, to, path, from))
		if got.Status != to {
			t.Fatalf("UpdateStatus %s -> %s returned status %q", cur, to, got.Status)
		}
		cur = to
	}
	if got := b.getCluster(t, c.ID); got.Status != cur {
		t.Fatalf("cluster status %q after the path %v, want %q", got.Status, path, cur)
	}
}
