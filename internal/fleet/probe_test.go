package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/internal/fleet"
	"github.com/ocpctl/ocpstore/store"
)

// probe reads a running fleet's progress from the database.
type probe struct{ s *store.Store }

// starts is the number of job.start audit events: claims committed.
func (p probe) starts(ctx context.Context) (int, error) {
	action := store.ActionJobStart
	_, n, err := p.s.Audit.List(ctx, store.AuditFilters{Action: &action, Limit: 1})
	return n, err
}

// open is the number of jobs not yet in a terminal state.
func (p probe) open(ctx context.Context) (int, error) {
	total := 0
	for _, st := range []store.JobStatus{store.JobPending, store.JobRetrying, store.JobRunning} {
		_, n, err := p.s.Jobs.List(ctx, store.JobFilters{Status: &st, Limit: 1})
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// waitStarts waits until more than n claims have committed (and returns
// how many have); failures to read (during a failover) are retried.
func (p probe) waitStarts(ctx context.Context, n int) (int, error) {
	got := 0
	err := waitFor(ctx, "claims", func() bool {
		c, err := p.starts(ctx)
		if err == nil {
			got = c
		}
		return err == nil && c > n
	})
	return got, err
}

// drain stops the producer, waits until every job is terminal, then stops
// the workers and the janitor. It returns the processes that hung.
func drain(ctx context.Context, t *testing.T, f *runningFleet, p probe, within time.Duration) []string {
	t.Helper()
	hung := f.stop(30*time.Second, "producer")
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if err := waitFor(ctx, "every job terminal", func() bool {
		n, err := p.open(ctx)
		return err == nil && n == 0
	}); err != nil {
		t.Errorf("drain: %v", err)
	}
	return append(hung, f.stop(30*time.Second, "worker", "janitor")...)
}

// checkFleet reads the fleet's logs and the database and checks them.
func checkFleet(ctx context.Context, t *testing.T, f *runningFleet, s *store.Store) (*fleet.Report, []fleet.Event) {
	t.Helper()
	events, err := fleet.ReadEvents(f.logs()...)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := fleet.ReadSnapshot(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	r := fleet.Check(events, snap)
	for _, p := range r.Problems {
		t.Log("problem:", p)
	}
	return r, events
}
