package memory_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
)

// epoch is where every test clock starts; the microseconds show precision loss.
var epoch = time.Date(2030, time.January, 2, 3, 4, 5, 678901000, time.UTC)

// fixture is two handles on one fresh backend and the clock they share.
type fixture struct {
	s, s2 *store.Store
	clock *store.ManualClock
	ctx   context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := store.NewManualClock(epoch)
	b := memory.NewBackend(memory.WithClock(clock))
	return &fixture{s: store.New(b), s2: store.New(b), clock: clock, ctx: t.Context()}
}

var seq atomic.Int64

func ptr[T any](v T) *T { return &v }

// handle returns the primary handle for even i, the secondary for odd i.
func (f *fixture) handle(i int) *store.Store {
	if i%2 == 0 {
		return f.s
	}
	return f.s2
}

func newCluster(mods ...func(*store.Cluster)) *store.Cluster {
	c := &store.Cluster{Name: fmt.Sprintf("c-%d", seq.Add(1)), Platform: store.PlatformAWS, Version: "4.18",
		Profile: "p", Region: "r", BaseDomain: ptr("example.com"), Owner: "o@example.com", Team: "team-a",
		CostCenter: "cc", RequestedBy: "r@example.com", TTLHours: 24}
	for _, m := range mods {
		m(c)
	}
	return c
}

func (f *fixture) cluster(t *testing.T, mods ...func(*store.Cluster)) *store.Cluster {
	t.Helper()
	c := newCluster(mods...)
	must(t, f.s.Clusters.Create(f.ctx, c))
	return c
}

func ready(c *store.Cluster) { c.Status = store.ClusterReady }

func (f *fixture) job(t *testing.T, clusterID string, jt store.JobType) *store.Job {
	t.Helper()
	j := &store.Job{ClusterID: clusterID, JobType: jt}
	must(t, f.s.Jobs.Create(f.ctx, j))
	return j
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// get returns a call's value, failing the test on its error:
// get(s.Clusters.GetByID(ctx, id))(t).
func get[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		must(t, err)
		return v
	}
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}
