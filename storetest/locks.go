package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// testLocks covers JobLockStore: one holder per cluster under contention,
// renewal, expiry takeover, fencing tokens, Extend, Release, Get and
// DeleteExpired, and expiry on the backend's own clock.
func testLocks(t *testing.T, setup, realClock setupFunc) {
	t.Run("RaceHasOneWinner", func(t *testing.T) { t.Parallel(); testLockRace(t, setup(t)) })

	t.Run("AcquireGetAndRenew", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		j, other := b.job(t, c.ID, store.JobPostConfigure), b.job(t, c.ID, store.JobConfigureEFS)
		lock, err := b.s.JobLocks.Acquire(b.ctx, c.ID, j.ID, "w1", time.Minute)
		requireNoErr(t, err, "acquire")
		want := &store.JobLock{ClusterID: c.ID, JobID: j.ID, LockedBy: "w1", Token: lock.Token,
			LockedAt: b.clock.Now(), ExpiresAt: b.clock.Now().Add(time.Minute)}
		requireEqual(t, want, lock, "granted lock")
		checkTimes(t, lock, "granted lock")
		if lock.Token <= 0 {
			t.Fatalf("token %d, want positive", lock.Token)
		}
		got, err := b.s2.JobLocks.Get(b.ctx, c.ID)
		requireNoErr(t, err, "get")
		requireEqual(t, lock, got, "lock read through the other handle")

		// The same job and worker renew: same token, later expiry.
		b.clock.Advance(30 * time.Second)
		renewed, err := b.s2.JobLocks.Acquire(b.ctx, c.ID, j.ID, "w1", time.Minute)
		requireNoErr(t, err, "renew")
		if renewed.Token != lock.Token || renewed.JobID != j.ID || renewed.LockedBy != "w1" {
			t.Fatalf("renewed lock %+v, want the token %d of %+v", renewed, lock.Token, lock)
		}
		requireTime(t, b.clock.Now().Add(time.Minute), renewed.ExpiresAt, "renewed ExpiresAt")

		// Anyone else is refused while it is live, and nothing changes.
		held, err := b.s.JobLocks.Get(b.ctx, c.ID)
		requireNoErr(t, err, "get renewed")
		for _, try := range []struct{ job, worker string }{{j.ID, "w2"}, {other.ID, "w1"}, {other.ID, "w2"}} {
			_, err := b.s2.JobLocks.Acquire(b.ctx, c.ID, try.job, try.worker, time.Hour)
			requireErrIs(t, err, store.ErrLockHeld, fmt.Sprintf("acquire by job %s worker %s", try.job, try.worker))
		}
		got, err = b.s.JobLocks.Get(b.ctx, c.ID)
		requireNoErr(t, err, "get after refusals")
		requireEqual(t, held, got, "lock after refused acquisitions")

		// Re-acquiring after expiry, while the row is still theirs, renews too.
		b.clock.Advance(time.Hour)
		again, err := b.s.JobLocks.Acquire(b.ctx, c.ID, j.ID, "w1", time.Minute)
		requireNoErr(t, err, "renew after expiry")
		if again.Token != lock.Token {
			t.Fatalf("renewal after expiry changed the token from %d to %d", lock.Token, again.Token)
		}
	})

	t.Run("ExpiryTakeover", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		j1, j2 := b.job(t, c.ID, store.JobPostConfigure), b.job(t, c.ID, store.JobConfigureEFS)
		old, err := b.s.JobLocks.Acquire(b.ctx, c.ID, j1.ID, "w1", time.Minute)
		requireNoErr(t, err, "acquire")

		b.clock.Advance(time.Minute - time.Microsecond)
		_, err = b.s2.JobLocks.Acquire(b.ctx, c.ID, j2.ID, "w2", time.Minute)
		requireErrIs(t, err, store.ErrLockHeld, "acquire 1µs before expiry")

		b.clock.Advance(time.Microsecond) // now == ExpiresAt: expired
		taken, err := b.s2.JobLocks.Acquire(b.ctx, c.ID, j2.ID, "w2", time.Minute)
		requireNoErr(t, err, "take over at expiry")
		want := &store.JobLock{ClusterID: c.ID, JobID: j2.ID, LockedBy: "w2", Token: taken.Token,
			LockedAt: b.clock.Now(), ExpiresAt: b.clock.Now().Add(time.Minute)}
		requireEqual(t, want, taken, "taken-over lock")
		if taken.Token <= old.Token {
			t.Fatalf("takeover token %d, want more than %d", taken.Token, old.Token)
		}

		_, err = b.s.JobLocks.Extend(b.ctx, old, time.Hour)
		requireErrIs(t, err, store.ErrLockLost, "stale holder's Extend")
		requireErrIs(t, b.s.JobLocks.Release(b.ctx, old), store.ErrLockLost, "stale holder's Release")
		got, err := b.s.JobLocks.Get(b.ctx, c.ID)
		requireNoErr(t, err, "get")
		requireEqual(t, taken, got, "lock after the stale holder's attempts")

		// The same job with another worker takes over an expired lock too.
		b.clock.Advance(time.Minute)
		again, err := b.s.JobLocks.Acquire(b.ctx, c.ID, j2.ID, "w3", time.Minute)
		requireNoErr(t, err, "take over by another worker of the same job")
		if again.Token <= taken.Token || again.LockedBy != "w3" {
			t.Fatalf("takeover by w3: %+v, want a token above %d", again, taken.Token)
		}
	})

	t.Run("StaleHolderFencedWritesChangeNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		j, old := b.startedJob(t, "w1", time.Minute)
		b.clock.Advance(2 * time.Minute)
		taken, err := b.s2.JobLocks.Acquire(b.ctx, j.ClusterID, j.ID, "w2", time.Minute)
		requireNoErr(t, err, "take over the job's expired lock")
		before := b.getJob(t, j.ID)
		_, err = b.s.Jobs.MarkSucceeded(b.ctx, old, map[string]string{"by": "w1"})
		requireErrIs(t, err, store.ErrLockLost, "stale MarkSucceeded")
		_, err = b.s.Jobs.MarkFailed(b.ctx, old, "STALE", "w1")
		requireErrIs(t, err, store.ErrLockLost, "stale MarkFailed")
		_, err = b.s.Jobs.MarkRetry(b.ctx, old, "STALE", "w1", time.Minute)
		requireErrIs(t, err, store.ErrLockLost, "stale MarkRetry")
		_, err = b.s.Finish(b.ctx, old, store.Succeeded(nil))
		requireErrIs(t, err, store.ErrLockLost, "stale Finish")
		requireEqual(t, before, b.getJob(t, j.ID), "job after the stale holder's writes")

		done, err := b.s2.Jobs.MarkSucceeded(b.ctx, taken, map[string]string{"by": "w2"})
		requireNoErr(t, err, "new holder's MarkSucceeded")
		if done.Status != store.JobSucceeded || done.Metadata["by"] != "w2" {
			t.Fatalf("new holder's write: %+v", done)
		}
	})

	t.Run("TokensOnlyGrow", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		j1, j2 := b.job(t, c.ID, store.JobPostConfigure), b.job(t, c.ID, store.JobConfigureEFS)
		var tokens []int64
		grant := func(s *store.Store, j *store.Job, worker string) *store.JobLock {
			t.Helper()
			l, err := s.JobLocks.Acquire(b.ctx, c.ID, j.ID, worker, time.Minute)
			requireNoErr(t, err, "grant to "+worker)
			if n := len(tokens); n > 0 && l.Token <= tokens[n-1] {
				t.Fatalf("grant %d got token %d after token %d: tokens %v", n+1, l.Token, tokens[n-1], tokens)
			}
			tokens = append(tokens, l.Token)
			return l
		}
		l := grant(b.s, j1, "w1")
		requireNoErr(t, b.s.JobLocks.Release(b.ctx, l), "release")
		l = grant(b.s2, j1, "w1") // same holder, but a new grant after release
		requireNoErr(t, b.s2.JobLocks.Release(b.ctx, l), "release")
		grant(b.s, j2, "w2")
		b.clock.Advance(time.Minute)
		n, err := b.s2.JobLocks.ReleaseExpired(b.ctx)
		requireNoErr(t, err, "delete expired")
		if n != 1 {
			t.Fatalf("DeleteExpired deleted %d locks, want 1", n)
		}
		grant(b.s2, j1, "w3")
		b.clock.Advance(time.Minute)
		grant(b.s, j2, "w4") // takeover of an expired row
		b.clock.Advance(time.Minute)
		renewed, err := b.s2.JobLocks.Acquire(b.ctx, c.ID, j2.ID, "w4", time.Minute)
		requireNoErr(t, err, "renew an expired lock that is still w4's")
		if renewed.Token != tokens[len(tokens)-1] {
			t.Fatalf("renewal got token %d, want the holder's %d", renewed.Token, tokens[len(tokens)-1])
		}
	})

	t.Run("ExtendAfterExpiryWithoutTakeover", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		j, other := b.job(t, c.ID, store.JobPostConfigure), b.job(t, c.ID, store.JobConfigureEFS)
		lock, err := b.s.JobLocks.Acquire(b.ctx, c.ID, j.ID, "w1", time.Minute)
		requireNoErr(t, err, "acquire")

		b.clock.Advance(20 * time.Second)
		ext, err := b.s2.JobLocks.Extend(b.ctx, lock, 5*time.Minute)
		requireNoErr(t, err, "extend a live lock")
		want := *lock
		want.ExpiresAt = b.clock.Now().Add(5 * time.Minute)
		requireEqual(t, &want, ext, "extended lock")

		b.clock.Advance(time.Hour)
		ext, err = b.s.JobLocks.Extend(b.ctx, ext, 10*time.Minute)
		requireNoErr(t, err, "extend an expired lock nobody took over")
		if ext.Token != lock.Token {
			t.Fatalf("extend changed the token from %d to %d", lock.Token, ext.Token)
		}
		requireTime(t, b.clock.Now().Add(10*time.Minute), ext.ExpiresAt, "ExpiresAt after extending")
		_, err = b.s2.JobLocks.Acquire(b.ctx, c.ID, other.ID, "w2", time.Minute)
		requireErrIs(t, err, store.ErrLockHeld, "acquire a lock extended after its expiry")
	})

	t.Run("ReleaseAndGet", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		j, other := b.job(t, c.ID, store.JobPostConfigure), b.job(t, c.ID, store.JobConfigureEFS)
		_, err := b.s.JobLocks.Get(b.ctx, c.ID)
		requireErrIs(t, err, store.ErrNotFound, "get a free cluster's lock")
		lock, err := b.s.JobLocks.Acquire(b.ctx, c.ID, j.ID, "w1", time.Hour)
		requireNoErr(t, err, "acquire")
		requireNoErr(t, b.s2.JobLocks.Release(b.ctx, lock), "release")
		_, err = b.s.JobLocks.Get(b.ctx, c.ID)
		requireErrIs(t, err, store.ErrNotFound, "get a released lock")
		requireErrIs(t, b.s.JobLocks.Release(b.ctx, lock), store.ErrLockLost, "release twice")
		_, err = b.s.JobLocks.Extend(b.ctx, lock, time.Hour)
		requireErrIs(t, err, store.ErrLockLost, "extend a released lock")
		next, err := b.s2.JobLocks.Acquire(b.ctx, c.ID, other.ID, "w2", time.Hour)
		requireNoErr(t, err, "acquire a released lock at once")
		if next.Token <= lock.Token {
			t.Fatalf("token after release %d, want more than %d", next.Token, lock.Token)
		}
	})

	t.Run("AcquireNeedsTheClustersJob", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c1, c2 := b.readyCluster(t), b.readyCluster(t)
		j2 := b.job(t, c2.ID, store.JobPostConfigure)
		for _, try := range []struct{ name, cluster, job string }{
			{"a job of another cluster", c1.ID, j2.ID},
			{"a missing job", c1.ID, "job_missing"},
			{"a missing cluster", "clu_missing", j2.ID},
		} {
			_, err := b.s.JobLocks.Acquire(b.ctx, try.cluster, try.job, "w1", time.Hour)
			requireErrIs(t, err, store.ErrNotFound, "acquire for "+try.name)
			_, err = b.s.JobLocks.Get(b.ctx, try.cluster)
			requireErrIs(t, err, store.ErrNotFound, "lock after acquire for "+try.name)
		}
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		short, _ := b.startedJob(t, "w1", time.Minute)
		exact, exactLock := b.startedJob(t, "w2", 2*time.Minute)
		live, liveLock := b.startedJob(t, "w3", time.Hour)
		b.clock.Advance(2 * time.Minute) // exact's lock expires now
		n, err := b.s.JobLocks.ReleaseExpired(b.ctx)
		requireNoErr(t, err, "delete expired")
		if n != 2 {
			t.Fatalf("DeleteExpired deleted %d locks, want 2", n)
		}
		for _, j := range []*store.Job{short, exact} {
			_, err = b.s2.JobLocks.Get(b.ctx, j.ClusterID)
			requireErrIs(t, err, store.ErrNotFound, "get a deleted expired lock")
		}
		got, err := b.s2.JobLocks.Get(b.ctx, live.ClusterID)
		requireNoErr(t, err, "get the live lock")
		requireEqual(t, liveLock, got, "live lock after DeleteExpired")
		_, err = b.s.JobLocks.Extend(b.ctx, exactLock, time.Hour)
		requireErrIs(t, err, store.ErrLockLost, "extend a deleted lock")
		n, err = b.s2.JobLocks.ReleaseExpired(b.ctx)
		requireNoErr(t, err, "delete expired again")
		if n != 0 {
			t.Fatalf("second DeleteExpired deleted %d locks, want 0", n)
		}
	})

	t.Run("BackendClock", func(t *testing.T) {
		t.Parallel()
		b := realClock(t)
		c := b.readyCluster(t)
		j, other := b.job(t, c.ID, store.JobPostConfigure), b.job(t, c.ID, store.JobConfigureEFS)
		lock, err := b.s.JobLocks.Acquire(b.ctx, c.ID, j.ID, "w1", time.Hour)
		requireNoErr(t, err, "acquire")
		checkTimes(t, lock, "lock")
		if d := lock.ExpiresAt.Sub(lock.LockedAt); d != time.Hour {
			t.Fatalf("ExpiresAt - LockedAt = %v, want 1h", d)
		}
		if d := time.Since(lock.LockedAt); d < -time.Minute || d > time.Minute {
			t.Fatalf("LockedAt %v is %v away from time.Now()", lock.LockedAt, d)
		}
		if !c.CreatedAt.Before(lock.ExpiresAt) || c.CreatedAt.Sub(lock.LockedAt).Abs() > time.Minute {
			t.Fatalf("cluster CreatedAt %v far from LockedAt %v", c.CreatedAt, lock.LockedAt)
		}
		_, err = b.s2.JobLocks.Acquire(b.ctx, c.ID, other.ID, "w2", time.Hour)
		requireErrIs(t, err, store.ErrLockHeld, "acquire a live lock")
		ext, err := b.s2.JobLocks.Extend(b.ctx, lock, 2*time.Hour)
		requireNoErr(t, err, "extend")
		if ext.ExpiresAt.Before(lock.LockedAt.Add(2*time.Hour)) || ext.Token != lock.Token {
			t.Fatalf("extended lock %+v, want expiry at least 2h after %v", ext, lock.LockedAt)
		}
		n, err := b.s.JobLocks.ReleaseExpired(b.ctx)
		requireNoErr(t, err, "delete expired")
		if n != 0 {
			t.Fatalf("DeleteExpired deleted %d live locks", n)
		}
	})
}

// race runs fn(0..n-1) in n goroutines released together and returns
// their errors by index.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// testLockRace races 50 holders (distinct jobs and workers, split over both
// handles) for one cluster's lock, twice: on a free lock and on an expired
// one. Each time exactly one wins and the others get ErrLockHeld.
func testLockRace(t *testing.T, b *bundle) {
	const n = 50
	c := b.readyCluster(t)
	jobs := make([]*store.Job, n)
	for i := range jobs {
		jobs[i] = b.job(t, c.ID, store.JobPostConfigure)
	}
	var prev int64
	for round := range 2 {
		locks := make([]*store.JobLock, n)
		errs := race(n, func(i int) error {
			l, err := b.handle(i).JobLocks.Acquire(b.ctx, c.ID, jobs[i].ID, fmt.Sprintf("r%d-w%d", round, i), time.Minute)
			locks[i] = l
			return err
		})
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: both holder %d and holder %d acquired the lock", round, winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, store.ErrLockHeld):
				t.Fatalf("round %d: holder %d: got %v, want ErrLockHeld", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: nobody acquired the lock", round)
		}
		got, err := b.s.JobLocks.Get(b.ctx, c.ID)
		requireNoErr(t, err, "get")
		requireEqual(t, locks[winner], got, "the winner's lock")
		if got.Token <= prev {
			t.Fatalf("round %d: token %d, want more than %d", round, got.Token, prev)
		}
		prev = got.Token
		b.clock.Advance(2 * time.Minute)
	}
}
