package storetest

import (
	"sync/atomic"
	"time"
)

// tortureClock is the clock a torture run moves: a *store.ManualClock in
// one process, a sharedClock across the processes of RunTortureProcesses.
type tortureClock interface {
	Now() time.Time
	Advance(d time.Duration) time.Time
}

// sharedClock is a store.Clock (and a tortureClock) whose reading is a
// count of microseconds after base kept in an atomic.Int64, which may live
// in memory several processes share: every process reads and moves the
// same clock, as the goroutines of one process share a ManualClock. Like
// ManualClock it reads in whole microseconds.
type sharedClock struct {
	base   time.Time // UTC, whole microseconds
	micros *atomic.Int64
}

// Now returns the clock's reading.
func (c sharedClock) Now() time.Time {
	return c.base.Add(time.Duration(c.micros.Load()) * time.Microsecond)
}

// Advance moves the clock forward by d (whole microseconds of it) and
// returns the new reading.
func (c sharedClock) Advance(d time.Duration) time.Time {
	return c.base.Add(time.Duration(c.micros.Add(d.Microseconds())) * time.Microsecond)
}
