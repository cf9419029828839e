package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// Riding out an unavailable database. The store reports the failures that
// pass by themselves (a killed connection, a server restarting or failing
// over) as store.ErrUnavailable. The workers, the janitor, the seeder and
// the verifier pause and try again, and the report counts every such error.
// A write whose error also matches store.ErrCommitUnknown may have been
// applied: it is never simply repeated, but resolved by reading back what
// the store holds (worker.finish, seedCluster).

// retryPause is the pause before trying again after store.ErrUnavailable.
const retryPause = 20 * time.Millisecond

// unavailable reports whether err is store.ErrUnavailable, counting it.
func (c *counters) unavailable(err error) bool {
	if !errors.Is(err, store.ErrUnavailable) {
		return false
	}
	c.rodeOut.Add(1)
	if errors.Is(err, store.ErrCommitUnknown) {
		c.unknownOutcomes.Add(1)
	}
	return true
}

// retry runs fn until it returns anything but store.ErrUnavailable, pausing
// between tries, or until ctx ends. fn must be safe to run again after that
// error: a read, or a write the error says was not applied. An error that
// also matches store.ErrCommitUnknown is returned for the caller to
// resolve.
func retry(ctx context.Context, c *counters, fn func() error) error {
	for {
		err := fn()
		if !c.unavailable(err) || errors.Is(err, store.ErrCommitUnknown) {
			return err
		}
		if cerr := sleepCtx(ctx, retryPause); cerr != nil {
			return fmt.Errorf("%w (gave up: %w)", err, cerr)
		}
	}
}
