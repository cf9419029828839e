package fleet

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// Class is how a fleet process treats a failed store call.
type Class string

const (
	// ClassUnavailable: the call did not take effect and the database is
	// going away, restarting or not the primary: pause, then try again.
	ClassUnavailable Class = "unavailable"
	// ClassUnknown: the call may or may not have taken effect (the
	// connection broke after a write may have reached the server):
	// reconcile from the database before writing again.
	ClassUnknown Class = "unknown"
	// ClassUnexpected: anything else. The fleet logs it, pauses and goes
	// on, and the checker counts it: in a healthy run there are none.
	ClassUnexpected Class = "unexpected"
)

// Classify sorts a store error into a Class. store.ErrCommitUnknown is
// checked first: the store also marks such an error store.ErrUnavailable
// when the database went away, but what matters to the caller is that the
// write may have happened.
func Classify(err error) Class {
	switch {
	case errors.Is(err, store.ErrCommitUnknown):
		return ClassUnknown
	case errors.Is(err, store.ErrUnavailable):
		return ClassUnavailable
	}
	return ClassUnexpected
}

// backoff is the pause before retrying after a failure: exponential from
// 50 ms to 400 ms with full jitter, so a fleet retries often enough to
// find the new leader within a fraction of a second of its promotion
// without flooding the nodes that refuse it meanwhile.
func backoff(attempt int) time.Duration {
	d := 50 * time.Millisecond << min(attempt, 3)
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends; it reports whether the whole d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
