package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Heartbeat keeps a job lock alive; see Store.KeepAlive.
type Heartbeat struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	mu   sync.Mutex
	lock *JobLock
}

// KeepAlive starts a heartbeat that extends lock by ttl every interval
// (ttl/3 when interval is 0) until Stop is called or ctx ends. ttl must be
// at least TimeResolution, and interval 0 or at least TimeResolution and
// shorter than ttl. The returned Heartbeat's Context is derived from ctx
// and is cancelled, with cause ErrLockLost, as soon as an Extend reports
// the lock lost, or when Extend has failed for other reasons (the database
// unreachable, say) for longer than the lock could still be live: past
// that point another worker may hold the cluster, so the job must stop.
// Run the job's work under Heartbeat.Context.
func (s *Store) KeepAlive(ctx context.Context, lock *JobLock, ttl, interval time.Duration) (*Heartbeat, error) {
	return call(s, ctx, "Store.KeepAlive", func(ctx context.Context, _ Executor) (*Heartbeat, error) {
		if s.InTx() {
			return nil, invalid("store", "KeepAlive needs the Store, not a transaction-bound one: the heartbeat must commit on its own")
		}
		if err := validateLock("lock", lock); err != nil {
			return nil, err
		}
		var k checker
		k.ttl("ttl", ttl)
		k.delay("interval", interval)
		if k.err == nil && interval >= ttl {
			k.fail("interval", "must be shorter than ttl")
		}
		if k.err != nil {
			return nil, k.err
		}
		if interval == 0 {
			interval = ttl / 3 // at least 333 ns, since ttl is at least TimeResolution
		}
		hctx, cancel := context.WithCancelCause(ctx)
		h := &Heartbeat{ctx: hctx, cancel: cancel, stop: make(chan struct{}), done: make(chan struct{}), lock: lock}
		go h.run(s, ttl, interval)
		return h, nil
	})
}

// run is the heartbeat loop. The deadline after which the lock must be
// presumed lost is kept on the local monotonic clock, from the time each
// successful Extend was sent: conservative, since the database computed the
// expiry later than that.
func (h *Heartbeat) run(s *Store, ttl, interval time.Duration) {
	defer close(h.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	presumedLost := time.Now().Add(ttl)
	for {
		select {
		case <-h.stop:
			return
		case <-h.ctx.Done():
			return
		case <-t.C:
		}
		sent := time.Now()
		l, err := s.JobLocks.Extend(h.ctx, h.Lock(), ttl)
		lost := err != nil && (errors.Is(err, ErrLockLost) || time.Now().After(presumedLost))
		if o := s.config.beatObs; err != nil && o != nil && h.ctx.Err() == nil {
			o.HeartbeatFailed(h.ctx, HeartbeatFailure{Lock: h.Lock(), Err: err, Lost: lost})
		}
		switch {
		case err == nil:
			h.mu.Lock()
			h.lock = l
			h.mu.Unlock()
			presumedLost = sent.Add(ttl)
		case errors.Is(err, ErrLockLost):
			h.cancel(fmt.Errorf("heartbeat: %w", err))
			return
		case lost: // no successful extend within the ttl
			h.cancel(fmt.Errorf("heartbeat: %w: no successful extend within the ttl: %w", ErrLockLost, err))
			return
		}
	}
}

// Context is cancelled when the lock is lost (context.Cause is then an
// error matching ErrLockLost), when Stop is called, or when the parent ends.
func (h *Heartbeat) Context() context.Context { return h.ctx }

// Lock returns the lock as last extended.
func (h *Heartbeat) Lock() *JobLock {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lock
}

// Lost returns the error that ended the heartbeat because the lock was
// lost, or nil.
func (h *Heartbeat) Lost() error {
	if err := context.Cause(h.ctx); errors.Is(err, ErrLockLost) {
		return err
	}
	return nil
}

// Stop ends the heartbeat, waits for it, cancels Context and returns the
// lock as last extended. It is safe to call more than once.
func (h *Heartbeat) Stop() *JobLock {
	h.once.Do(func() { close(h.stop) })
	<-h.done
	h.cancel(context.Canceled)
	return h.Lock()
}
