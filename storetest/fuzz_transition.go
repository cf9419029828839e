package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// FuzzClusterTransition fuzzes the cluster state machine: a cluster is
// created in status from, then moved by UpdateStatus to to and on along
// path (each byte picks a status, or an unknown one). Every move must do
// exactly what store.CanTransition says: succeed, setting the status,
// UpdatedAt and, into DESTROYED, DestroyedAt; or fail with a
// *store.TransitionError naming the cluster, its current status and to,
// changing nothing. An unknown status is ErrInvalidArgument.
func FuzzClusterTransition(f *testing.F, newStore FuzzFactory) {
	statuses := append([]store.ClusterStatus{""}, store.ClusterStatuses()...)
	statuses = append(statuses, "BOGUS", "ready")
	for _, from := range statuses {
		for _, to := range statuses {
			f.Add(string(from), string(to), []byte(nil))
		}
	}
	f.Add("READY", "DESTROYING", []byte{7, 9, 12, 11, 10, 0, 1, 2})
	f.Add("PENDING", "CREATING", []byte{2, 3, 4, 5, 2, 6, 7, 9, 8, 6})
	clock := store.NewManualClock(epoch)
	s := newStore(f, clock)
	f.Fuzz(func(t *testing.T, from, to string, path []byte) {
		ctx := t.Context()
		c := validCluster(withStatus(store.ClusterStatus(from)), func(c *store.Cluster) { c.BaseDomain = ptr(uniq("d")) })
		err := s.Clusters.Create(ctx, c)
		if from != "" && !store.ClusterStatus(from).Valid() {
			requireOutcome(t, false, err, "create in status "+from)
			return
		}
		requireNoErr(t, err, "create in status "+from)
		moves := []store.ClusterStatus{store.ClusterStatus(to)}
		for _, b := range path[:min(len(path), 16)] {
			moves = append(moves, statuses[1:][int(b)%(len(statuses)-1)])
		}
		cur, err := s.Clusters.GetByID(ctx, c.ID)
		requireNoErr(t, err, "get")
		for _, next := range moves {
			clock.Advance(time.Second)
			got, moveErr := s.Clusters.UpdateStatus(ctx, c.ID, next)
			switch {
			case !next.Valid():
				requireOutcome(t, false, moveErr, "update to unknown status "+string(next))
			case store.CanTransition(cur.Status, next):
				requireNoErr(t, moveErr, string(cur.Status)+" -> "+string(next))
				want := *cur
				want.Status, want.UpdatedAt = next, clock.Now()
				if next == store.ClusterDestroyed {
					want.DestroyedAt = ptr(clock.Now())
				}
				requireEqual(t, &want, got, "cluster after "+string(cur.Status)+" -> "+string(next))
			default:
				var te *store.TransitionError
				if !errors.As(moveErr, &te) || !errors.Is(moveErr, store.ErrInvalidStateTransition) ||
					*te != (store.TransitionError{Entity: "cluster", ID: c.ID, From: string(cur.Status), To: string(next)}) {
					t.Fatalf("%s -> %s: got %v, want the TransitionError", cur.Status, next, moveErr)
				}
			}
			after, err := s.Clusters.GetByID(ctx, c.ID)
			requireNoErr(t, err, "get")
			if moveErr == nil {
				requireEqual(t, got, after, "cluster read back after the move")
			} else {
				requireEqual(t, cur, after, "cluster after the refused move")
			}
			cur = after
		}
	})
}
