package postgres_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// An idle fleet's claim is one round trip: after a claim found the queue
// empty, the next one asks whether any job is runnable, in one statement
// that locks nothing, before it opens a transaction; a claim that finds a
// job turns that off, so a busy queue pays for the probe only after a
// claim that found nothing.
func TestEmptyClaimIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	rec := &sqlRecorder{}
	s, _ := tracedStore(t, rec)
	ctx := t.Context()
	p := store.ClaimParams{WorkerID: "w", LockTTL: time.Minute}
	claim := func(want error) []sentSQL {
		t.Helper()
		return rec.record(t, func() error {
			if _, err := s.Claim(ctx, p); !errors.Is(err, want) {
				t.Fatalf("Claim: %v, want %v", err, want)
			}
			return nil
		})
	}
	probe := func(st sentSQL) bool { return strings.HasPrefix(st.sql, "SELECT EXISTS (SELECT 1 FROM jobs j WHERE") }

	// Nothing known yet: the transaction, which finds nothing.
	if sent := claim(store.ErrNoJob); len(sent) != 3 || probe(sent[0]) {
		t.Fatalf("first claim on an empty queue sent %d statements %v, want BEGIN, the claim query, COMMIT", len(sent), sent)
	}
	// Seen empty: the probe alone, every time.
	for range 3 {
		if sent := claim(store.ErrNoJob); len(sent) != 1 || !probe(sent[0]) {
			t.Fatalf("claim on a queue seen empty sent %d statements %v, want the probe alone", len(sent), sent)
		}
	}
	// A job arrives: the probe says so and the claim gets it.
	seedJob(t, s, store.ClusterReady, store.JobPostConfigure)
	if sent := claim(nil); len(sent) < 2 || !probe(sent[0]) || probe(sent[1]) {
		t.Fatalf("claim after a job arrived sent %v, want the probe and then the transaction", sent)
	}
	// Found a job: the next claim goes straight to the transaction.
	if sent := claim(store.ErrNoJob); len(sent) != 3 || probe(sent[0]) {
		t.Fatalf("claim after a claim that found a job sent %v, want the transaction without the probe", sent)
	}
	// A pending job whose cluster's lock another holder has (a manual
	// Acquire) is not runnable: the probe alone, until the lock is gone.
	c, j := seedJob(t, s, store.ClusterReady, store.JobPostConfigure)
	held, err := s.JobLocks.Acquire(ctx, c.ID, j.ID, "manual", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if sent := claim(store.ErrNoJob); len(sent) != 1 || !probe(sent[0]) {
			t.Fatalf("claim while the only pending job's cluster is locked sent %v, want the probe alone", sent)
		}
	}
	if err := s.JobLocks.Release(ctx, held); err != nil {
		t.Fatal(err)
	}
	got, err := s.Claim(ctx, p)
	if err != nil || got.Job.ID != j.ID {
		t.Fatalf("claim after the lock was released: %v, %v; want job %s", got, err, j.ID)
	}
}
