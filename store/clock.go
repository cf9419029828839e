package store

import (
	"sync"
	"time"
)

// Clock is the time source a backend uses for every timestamp it writes and
// every expiry it checks. Without one (nil), a backend uses its own clock:
// PostgreSQL's statement_timestamp(), the memory backend's time.Now. Tests
// pass a *ManualClock so they move time instead of sleeping.
type Clock interface {
	Now() time.Time
}

// ManualClock is a Clock that moves only when told. It is safe for
// concurrent use. Its readings are truncated to microseconds, the precision
// PostgreSQL stores.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock that reads start (truncated to microseconds, in UTC).
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start.UTC().Truncate(time.Microsecond)}
}

// Now returns the clock's current reading.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and returns the new reading.
func (c *ManualClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d).Truncate(time.Microsecond)
	return c.now
}
