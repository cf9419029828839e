package memory_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// TestTokensOnlyGrow: every new grant of a cluster's lock gets a larger
// token, across release, DeleteExpired and takeover; renewals keep it.
func TestTokensOnlyGrow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.cluster(t, ready)
	j1, j2 := f.job(t, c.ID, store.JobPostConfigure), f.job(t, c.ID, store.JobConfigureEFS)
	var last int64
	grant := func(jobID, worker string) *store.JobLock {
		t.Helper()
		l := get(f.s.JobLocks.Acquire(f.ctx, c.ID, jobID, worker, time.Minute))(t)
		if l.Token <= last {
			t.Fatalf("token %d after %d", l.Token, last)
		}
		last = l.Token
		return l
	}
	l := grant(j1.ID, "w1")
	renewed := get(f.s2.JobLocks.Acquire(f.ctx, c.ID, j1.ID, "w1", time.Hour))(t)
	if renewed.Token != l.Token || !renewed.ExpiresAt.Equal(f.clock.Now().Add(time.Hour)) {
		t.Fatalf("renewal = %+v, want token %d and a new expiry", renewed, l.Token)
	}
	_, err := f.s2.JobLocks.Acquire(f.ctx, c.ID, j1.ID, "w2", time.Minute)
	wantErr(t, err, store.ErrLockHeld, "same job, other worker, live")
	_, err = f.s2.JobLocks.Acquire(f.ctx, c.ID, j2.ID, "w1", time.Minute)
	wantErr(t, err, store.ErrLockHeld, "other job, same worker, live")

	must(t, f.s.JobLocks.Release(f.ctx, renewed))
	wantErr(t, f.s.JobLocks.Release(f.ctx, renewed), store.ErrLockLost, "second release")
	l = grant(j1.ID, "w1") // after release: a new grant, not a renewal
	f.clock.Advance(time.Minute)
	if n := get(f.s.JobLocks.ReleaseExpired(f.ctx))(t); n != 1 {
		t.Fatalf("DeleteExpired = %d", n)
	}
	_, err = f.s.JobLocks.Extend(f.ctx, l, time.Minute)
	wantErr(t, err, store.ErrLockLost, "extend after DeleteExpired")
	l = grant(j2.ID, "w2")
	f.clock.Advance(time.Minute)
	grant(j1.ID, "w3") // takeover of an expired row
	_, err = f.s.JobLocks.Extend(f.ctx, l, time.Minute)
	wantErr(t, err, store.ErrLockLost, "extend after takeover")
}

// TestExpiryAndFencing: an expired lock nobody took over can still be
// extended; once taken over, the old holder's fenced writes fail and change
// nothing, while the new holder's succeed.
func TestExpiryAndFencing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.cluster(t, ready)
	j := f.job(t, c.ID, store.JobPostConfigure)
	old := get(f.s.JobLocks.Acquire(f.ctx, c.ID, j.ID, "w1", time.Minute))(t)
	get(f.s.Jobs.MarkStarted(f.ctx, j.ID))(t)

	f.clock.Advance(2 * time.Minute)
	if !old.Expired(f.clock.Now()) {
		t.Fatal("lock not expired")
	}
	ext := get(f.s.JobLocks.Extend(f.ctx, old, time.Minute))(t)
	if ext.Token != old.Token || !ext.ExpiresAt.Equal(f.clock.Now().Add(time.Minute)) {
		t.Fatalf("extend after expiry = %+v", ext)
	}
	_, err := f.s2.JobLocks.Acquire(f.ctx, c.ID, j.ID, "w2", time.Minute)
	wantErr(t, err, store.ErrLockHeld, "acquire while extended")

	f.clock.Advance(time.Minute) // expires_at == now: expired
	taken := get(f.s2.JobLocks.Acquire(f.ctx, c.ID, j.ID, "w2", time.Minute))(t)
	if taken.Token <= old.Token || taken.LockedBy != "w2" {
		t.Fatalf("takeover = %+v", taken)
	}
	before := get(f.s.Jobs.GetByID(f.ctx, j.ID))(t)
	_, err = f.s.Jobs.MarkSucceeded(f.ctx, old, map[string]string{"k": "v"})
	wantErr(t, err, store.ErrLockLost, "stale MarkSucceeded")
	_, err = f.s.Jobs.MarkFailed(f.ctx, old, "E", "m")
	wantErr(t, err, store.ErrLockLost, "stale MarkFailed")
	_, err = f.s.Jobs.MarkRetry(f.ctx, old, "E", "m", time.Second)
	wantErr(t, err, store.ErrLockLost, "stale MarkRetry")
	wantErr(t, f.s.JobLocks.Release(f.ctx, old), store.ErrLockLost, "stale Release")
	if after := get(f.s.Jobs.GetByID(f.ctx, j.ID))(t); after.UpdatedAt != before.UpdatedAt || after.Status != store.JobRunning {
		t.Fatalf("stale writes changed the job: %+v", after)
	}
	done := get(f.s2.Jobs.MarkSucceeded(f.ctx, taken, map[string]string{"k": "v"}))(t)
	if done.Status != store.JobSucceeded || done.EndedAt == nil || done.Metadata["k"] != "v" {
		t.Fatalf("fenced write of the holder = %+v", done)
	}
	_, err = f.s2.Jobs.MarkFailed(f.ctx, taken, "E", "m")
	wantErr(t, err, store.ErrLockLost, "fenced write on a finished job")

	_, err = f.s.JobLocks.Acquire(f.ctx, c.ID, "job_missing", "w", time.Minute)
	wantErr(t, err, store.ErrNotFound, "acquire for a missing job")
	other := f.cluster(t)
	_, err = f.s.JobLocks.Acquire(f.ctx, other.ID, j.ID, "w", time.Minute)
	wantErr(t, err, store.ErrNotFound, "acquire for a job of another cluster")
}

// TestAcquireRace: of many concurrent acquirers on two handles exactly one
// wins.
func TestAcquireRace(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.cluster(t, ready)
	const n = 32
	jobs := make([]*store.Job, n)
	for i := range jobs {
		jobs[i] = f.job(t, c.ID, store.JobPostConfigure)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		s := f.handle(i)
		wg.Go(func() { _, errs[i] = s.JobLocks.Acquire(f.ctx, c.ID, jobs[i].ID, "w", time.Minute) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrLockHeld):
			t.Fatalf("loser error %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d winners", won)
	}
}

// TestReserveConcurrently: concurrent reservations of one key, each in its
// own transaction, create it exactly once; the others see that record.
func TestReserveConcurrently(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n = 16
	created := make([]bool, n)
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		s := f.handle(i)
		wg.Go(func() {
			err := s.WithTx(f.ctx, func(ctx context.Context, tx *store.Store) error {
				k, c, err := tx.Idempotency.Reserve(ctx, store.IdempotencyReservation{Scope: "sc", Key: "k", RequestHash: "h", TTL: time.Hour})
				if err != nil {
					return err
				}
				created[i], ids[i] = c, k.ID
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	n1 := 0
	for i := range n {
		if created[i] {
			n1++
		}
		if ids[i] != ids[0] {
			t.Fatalf("reservations returned records %s and %s", ids[0], ids[i])
		}
	}
	if n1 != 1 {
		t.Fatalf("%d reservations created the key", n1)
	}
	_, _, err := f.s.Idempotency.Reserve(f.ctx, store.IdempotencyReservation{Scope: "sc", Key: "k", RequestHash: "other", TTL: time.Hour})
	wantErr(t, err, store.ErrIdempotencyMismatch, "different hash")
	k, c, err := f.s.Idempotency.Reserve(f.ctx, store.IdempotencyReservation{Scope: "sc2", Key: "k", RequestHash: "other", TTL: time.Hour})
	if err != nil || !c || k.ID == ids[0] {
		t.Fatalf("same key in another scope: %v %v %v", k, c, err)
	}
	f.clock.Advance(time.Hour)
	k, c, err = f.s.Idempotency.Reserve(f.ctx, store.IdempotencyReservation{Scope: "sc", Key: "k", RequestHash: "other", TTL: time.Hour})
	if err != nil || !c || k.ID == ids[0] || !k.CreatedAt.Equal(f.clock.Now()) {
		t.Fatalf("reserve over an expired key: %+v %v %v", k, c, err)
	}
}
