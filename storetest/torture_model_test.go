package storetest

import (
	"errors"
	"testing"

	"github.com/anishathalye/porcupine"

	"github.com/ocpctl/ocpstore/store"
)

// tortureHistory builds one cluster's history for the model tests: ops are
// given in call order with explicit logical call and return times.
type tortureHistory []porcupine.Operation

func (h *tortureHistory) add(call, ret int64, in tortureInput, out tortureOutput) {
	*h = append(*h, porcupine.Operation{ClientId: in.worker, Input: in, Call: call, Output: out, Return: ret})
}

// pendingState is a cluster with no lock and two PENDING jobs.
func torturePendingState() tortureState {
	s := tortureState{ready: true}
	s.jobs[0] = tortureJob{status: store.JobPending}
	s.jobs[1] = tortureJob{status: store.JobPending}
	return s
}

// grant is the output of a granted lock.
func tortureGrant(job, worker int, token, now, ttl int64) tortureOutput {
	return tortureOutput{res: trOK, lock: tortureLock{job: job, worker: worker, token: token, lockedAt: now, expires: now + ttl}}
}

func tortureAcquireIn(job, worker int, ttl, lo, hi int64) tortureInput {
	return tortureInput{kind: tkAcquire, job: job, worker: worker, ttl: ttl, lo: lo, hi: hi}
}

func tortureLockIn(kind tortureKind, job, worker int, token, lo, hi int64) tortureInput {
	return tortureInput{kind: kind, job: job, worker: worker, token: token, ttl: 100, lo: lo, hi: hi}
}

// TestTortureModel checks that the model accepts the behaviours the
// contract allows, including those only PostgreSQL shows, and refuses the
// ones it forbids.
func TestTortureModel(t *testing.T) {
	t.Parallel()
	init := tortureInput{kind: tkInit, init: torturePendingState()}
	lost := tortureOutput{res: trLost}
	tests := []struct {
		name  string
		legal bool
		build func(h *tortureHistory)
	}{
		{"GrantRenewTakeover", true, func(h *tortureHistory) {
			h.add(1, 2, tortureAcquireIn(0, 0, 100, 0, 0), tortureGrant(0, 0, 5, 0, 100))
			h.add(3, 4, tortureAcquireIn(1, 1, 100, 50, 50), tortureOutput{res: trHeld})
			// Renewal after expiry keeps token and LockedAt.
			h.add(5, 6, tortureAcquireIn(0, 0, 100, 150, 150), tortureOutput{res: trOK, lock: tortureLock{token: 5, lockedAt: 0, expires: 250}})
			h.add(7, 8, tortureAcquireIn(1, 1, 100, 250, 250), tortureGrant(1, 1, 9, 250, 100))
			h.add(9, 10, tortureLockIn(tkExtend, 0, 0, 5, 260, 260), lost)
		}},
		{"ExtendAfterExpiryWithoutTakeover", true, func(h *tortureHistory) {
			h.add(1, 2, tortureAcquireIn(0, 0, 100, 0, 0), tortureGrant(0, 0, 5, 0, 100))
			h.add(3, 4, tortureLockIn(tkExtend, 0, 0, 5, 500, 500), tortureOutput{res: trOK, lock: tortureLock{token: 5, expires: 600}})
		}},
		{"ConcurrentOpsUseClockReadingsOutOfOrder", true, func(h *tortureHistory) {
			// PostgreSQL reads the clock before the statement waits for the
			// row: the renewal read 310 yet took effect after the grant,
			// which read 320 (no single advancing "now" explains this).
			h.add(1, 2, tortureAcquireIn(0, 0, 100, 0, 0), tortureGrant(0, 0, 5, 0, 100))
			h.add(3, 8, tortureAcquireIn(1, 1, 100, 300, 320), tortureGrant(1, 1, 7, 320, 100))
			h.add(4, 9, tortureAcquireIn(1, 1, 100, 300, 320), tortureOutput{res: trOK, lock: tortureLock{job: 1, worker: 1, token: 7, lockedAt: 320, expires: 410}})
		}},
		{"DeleteExpiredMayOrMayNotDelete", true, func(h *tortureHistory) {
			h.add(1, 2, tortureAcquireIn(0, 0, 100, 0, 0), tortureGrant(0, 0, 5, 0, 100))
			h.add(3, 4, tortureInput{kind: tkDeleteExpired, lo: 50, hi: 150}, tortureOutput{res: trOK, n: 1})
			h.add(5, 6, tortureLockIn(tkExtend, 0, 0, 5, 150, 150), lost)
		}},
		{"StartAndFencedWrite", true, func(h *tortureHistory) {
			h.add(1, 2, tortureAcquireIn(0, 0, 100, 0, 0), tortureGrant(0, 0, 5, 0, 100))
			h.add(3, 4, tortureInput{kind: tkStart, job: 0, lo: 10, hi: 10},
				tortureOutput{res: trOK, job: tortureJob{status: store.JobRunning, attempts: 1, at: 10}})
			h.add(5, 6, tortureLockIn(tkFenced, 0, 0, 5, 20, 20),
				tortureOutput{res: trOK, job: tortureJob{status: store.JobRetrying, attempts: 1, at: 20}})
			h.add(7, 8, tortureLockIn(tkFenced, 0, 0, 5, 30, 30), lost) // not RUNNING any more
		}},
		{"TokenBelowAReleasedGrant", false, func(h *tortureHistory) {
			// The grant of token 7 and its release both finish before
			// token 6 is granted: 6 is not above every token the lock had.
			h.add(1, 2, tortureAcquireIn(0, 0, 100, 0, 0), tortureGrant(0, 0, 7, 0, 100))
			h.add(3, 4, tortureLockIn(tkRelease, 0, 0, 7, 0, 0), tortureOutput{res: trOK})
			h.add(5, 6, tortureAcquireIn(1, 1, 100, 0, 0), tortureGrant(1, 1, 6, 0, 100))
		}},
		{"GrantOverLiveLock", false, func(h *tortureHistory) {
			h.add(1, 2, tortureAcquireIn(0, 0, 100, 0, 0), tortureGrant(0, 0, 5, 0, 100))
			h.add(3, 4, tortureAcquireIn(1, 1, 100, 99, 99), tortureGrant(1, 1, 6, 99, 100))
		}},
		{"HeldOnAnExpiredLock", false, func(h *tortureHistory) {
			h.add(1, 2, tortureAcquireIn(0, 0, 100, 0, 0), tortureGrant(0, 0, 5, 0, 100))
			h.add(3, 4, tortureAcquireIn(1, 1, 100, 100, 120), tortureOutput{res: trHeld})
		}},
		{"StaleRelease", false, func(h *tortureHistory) {
			h.add(1, 2, tortureAcquireIn(0, 0, 100, 0, 0), tortureGrant(0, 0, 5, 0, 100))
			h.add(3, 4, tortureAcquireIn(1, 1, 100, 100, 100), tortureGrant(1, 1, 6, 100, 100))
			h.add(5, 6, tortureLockIn(tkRelease, 0, 0, 5, 100, 100), tortureOutput{res: trOK})
		}},
		{"StaleFencedWrite", false, func(h *tortureHistory) {
			h.add(1, 2, tortureAcquireIn(0, 0, 100, 0, 0), tortureGrant(0, 0, 5, 0, 100))
			h.add(3, 4, tortureInput{kind: tkStart, job: 0, lo: 10, hi: 10},
				tortureOutput{res: trOK, job: tortureJob{status: store.JobRunning, attempts: 1, at: 10}})
			h.add(5, 6, tortureAcquireIn(0, 1, 100, 100, 100), tortureGrant(0, 1, 6, 100, 100))
			h.add(7, 8, tortureLockIn(tkFenced, 0, 0, 5, 110, 110),
				tortureOutput{res: trOK, job: tortureJob{status: store.JobRetrying, attempts: 1, at: 110}})
		}},
		{"RenewalChangesToken", false, func(h *tortureHistory) {
			h.add(1, 2, tortureAcquireIn(0, 0, 100, 0, 0), tortureGrant(0, 0, 5, 0, 100))
			h.add(3, 4, tortureAcquireIn(0, 0, 100, 150, 150), tortureGrant(0, 0, 6, 150, 100))
		}},
		{"ExpiryFromAClockReadingOutsideTheCall", false, func(h *tortureHistory) {
			h.add(1, 2, tortureAcquireIn(0, 0, 100, 10, 20), tortureGrant(0, 0, 5, 0, 100))
		}},
		{"ReleasedLockStillRead", false, func(h *tortureHistory) {
			h.add(1, 2, tortureAcquireIn(0, 0, 100, 0, 0), tortureGrant(0, 0, 5, 0, 100))
			h.add(3, 4, tortureLockIn(tkRelease, 0, 0, 5, 0, 0), tortureOutput{res: trOK})
			h.add(5, 6, tortureInput{kind: tkGetLock}, tortureGrant(0, 0, 5, 0, 100))
		}},
	}
	model := tortureModel(1)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := tortureHistory{}
			h.add(0, 0, init, tortureOutput{})
			tc.build(&h)
			res, _ := porcupine.CheckOperationsVerbose(model, h, 0)
			if (res == porcupine.Ok) != tc.legal {
				t.Fatalf("porcupine says %v, want legal=%v", res, tc.legal)
			}
		})
	}
}

// TestTortureOverlapCheck checks the overlap check on its own: a proof of
// a smaller token called after a proof of a larger one returned is a
// violation, within a round and across rounds; proofs in token order are
// not.
func TestTortureOverlapCheck(t *testing.T) {
	t.Parallel()
	newRun := func() *tortureRun {
		return &tortureRun{clusters: make([]tortureCluster, 1), evidence: make([]tortureEvidence, 1)}
	}
	ordered := tortureHistory{}
	ordered.add(1, 3, tortureAcquireIn(0, 0, 100, 0, 0), tortureGrant(0, 0, 5, 0, 100))
	ordered.add(2, 6, tortureLockIn(tkExtend, 0, 0, 5, 0, 0), tortureOutput{res: trOK, lock: tortureLock{token: 5, expires: 100}})
	ordered.add(4, 8, tortureAcquireIn(1, 1, 100, 0, 0), tortureGrant(1, 1, 6, 0, 100)) // concurrent with the Extend: fine
	if err := newRun().checkOverlap(ordered); err != nil {
		t.Fatalf("ordered proofs: %v", err)
	}

	overlap := append(tortureHistory{}, ordered...)
	overlap.add(9, 10, tortureLockIn(tkRelease, 0, 0, 5, 0, 0), tortureOutput{res: trOK})
	if err := newRun().checkOverlap(overlap); !errors.Is(err, ErrTortureViolation) {
		t.Fatalf("token 5 released after token 6 was granted: got %v, want a violation", err)
	}

	r := newRun()
	if err := r.checkOverlap(ordered); err != nil {
		t.Fatal(err)
	}
	later := tortureHistory{}
	later.add(20, 21, tortureLockIn(tkFenced, 0, 0, 5, 0, 0), tortureOutput{res: trOK})
	if err := r.checkOverlap(later); !errors.Is(err, ErrTortureViolation) {
		t.Fatalf("token 5 current in a round after token 6 was: got %v, want a violation", err)
	}

	twoHolders := tortureHistory{}
	twoHolders.add(1, 2, tortureAcquireIn(0, 0, 100, 0, 0), tortureGrant(0, 0, 5, 0, 100))
	twoHolders.add(3, 4, tortureInput{kind: tkGetLock}, tortureGrant(1, 1, 5, 0, 100))
	if err := newRun().checkOverlap(twoHolders); !errors.Is(err, ErrTortureViolation) {
		t.Fatalf("one token, two holders: got %v, want a violation", err)
	}
}
