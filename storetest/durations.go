package storetest

import (
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// The store keeps time to the microsecond (store.TimeResolution): a
// duration of exactly one microsecond must be kept. (That every duration
// argument refuses less, before the backend, is package store's test,
// store/durations_test.go.)

// testDurations checks that exactly one microsecond is kept.
func testDurations(t *testing.T, setup setupFunc) {
	t.Run("OneMicrosecondIsKept", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		j := b.job(t, c.ID, store.JobPostConfigure)
		l, err := b.s.JobLocks.Acquire(b.ctx, c.ID, j.ID, "w1", store.TimeResolution)
		requireNoErr(t, err, "acquire for one microsecond")
		if got := l.ExpiresAt.Sub(l.LockedAt); got != store.TimeResolution {
			t.Fatalf("lock for %v expires %v after it was taken", store.TimeResolution, got)
		}
		other := b.job(t, c.ID, store.JobPostConfigure)
		_, err = b.s2.JobLocks.Acquire(b.ctx, c.ID, other.ID, "w2", time.Minute)
		requireErrIs(t, err, store.ErrLockHeld, "acquire a lock that is live for one more microsecond")
	})
}
