package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// eventTimeout bounds how long a test waits for a heartbeat to act. It is
// a timeout for an event, never a delay for time to pass.
const eventTimeout = 10 * time.Second

// testKeepAlive covers Store.KeepAlive: the heartbeat keeps the lock live
// past its first expiry, and cancels its Context with ErrLockLost when the
// lock is taken over.
func testKeepAlive(t *testing.T, setup setupFunc) {
	t.Run("ExtendsTheLock", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		b.job(t, c.ID, store.JobPostConfigure)
		other := b.job(t, c.ID, store.JobConfigureEFS)
		cl, err := b.s.Claim(b.ctx, store.ClaimParams{WorkerID: "w1", LockTTL: time.Minute})
		requireNoErr(t, err, "claim")
		lock := cl.Lock
		hb, err := b.s.KeepAlive(b.ctx, lock, time.Minute, time.Millisecond)
		requireNoErr(t, err, "keep alive")
		defer hb.Stop()

		b.clock.Advance(30 * time.Second)
		waitFor(t, "the heartbeat to extend the lock from the advanced clock", func() bool {
			return hb.Lock().ExpiresAt.After(lock.ExpiresAt)
		})
		b.clock.Advance(31 * time.Second) // past the lock's first expiry
		_, err = b.s2.JobLocks.Acquire(b.ctx, c.ID, other.ID, "w2", time.Minute)
		requireErrIs(t, err, store.ErrLockHeld, "acquire a lock kept alive past its first expiry")

		last := hb.Stop()
		if hb.Lost() != nil || hb.Context().Err() == nil {
			t.Fatalf("after Stop: Lost %v, Context err %v; want nil and cancelled", hb.Lost(), hb.Context().Err())
		}
		if last.Token != lock.Token || !last.ExpiresAt.After(lock.ExpiresAt) {
			t.Fatalf("Stop returned %+v, want token %d extended past %v", last, lock.Token, lock.ExpiresAt)
		}
		_, err = b.s.Finish(b.ctx, last, store.Succeeded(nil))
		requireNoErr(t, err, "finish with the heartbeat's lock")
	})

	t.Run("CancelsWhenTheLockIsTakenOver", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		b.job(t, c.ID, store.JobPostConfigure)
		other := b.job(t, c.ID, store.JobConfigureEFS)
		cl := b.claim(t, "w1")
		hb, err := b.s.KeepAlive(b.ctx, cl.Lock, time.Hour, 20*time.Millisecond)
		requireNoErr(t, err, "keep alive")
		defer hb.Stop()

		// Expire the lock and take it over; a heartbeat landing between the
		// two steps makes the takeover fail, so try again.
		var taken *store.JobLock
		for range 100 {
			b.clock.Advance(2 * time.Hour)
			taken, err = b.s2.JobLocks.Acquire(b.ctx, c.ID, other.ID, "thief", time.Hour)
			if err == nil {
				break
			}
			requireErrIs(t, err, store.ErrLockHeld, "take over")
		}
		if taken == nil {
			t.Fatal("could not take the lock over between heartbeats")
		}
		select {
		case <-hb.Context().Done():
		case <-time.After(eventTimeout):
			t.Fatalf("heartbeat context not cancelled within %v of the takeover", eventTimeout)
		}
		if cause := context.Cause(hb.Context()); !errors.Is(cause, store.ErrLockLost) {
			t.Fatalf("heartbeat context cause %v, want ErrLockLost", cause)
		}
		requireErrIs(t, hb.Lost(), store.ErrLockLost, "Lost")
		_, err = b.s.Finish(b.ctx, hb.Stop(), store.Succeeded(nil))
		requireErrIs(t, err, store.ErrLockLost, "finish after losing the lock")
		if got := b.getJob(t, cl.Job.ID); got.Status != store.JobRunning {
			t.Fatalf("job after a refused Finish: %q, want RUNNING", got.Status)
		}
	})
}

// waitFor polls cond until it holds, failing after eventTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(eventTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", eventTimeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}
