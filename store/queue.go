package store

import (
	"context"
	"fmt"
	"time"
)

// QueueReport is the state of the job queue at one moment, by job type:
// what an operator checks first (`ocpstore queue`) and what a metrics
// exporter turns into gauges (queue depth, age of the oldest runnable job).
type QueueReport struct {
	// At is the backend's "now" when the report was read (the database's
	// clock, or the injected Clock): the "now" of every category below, and
	// what ages are measured from.
	At time.Time
	// ByType has one entry per JobTypes(), in that order, with zero counts
	// included, so a gauge per type never disappears.
	ByType []JobQueue
}

// JobQueue is the queue of one job type. Every unfinished job (PENDING,
// RETRYING, RUNNING) is in exactly one of its four categories.
type JobQueue struct {
	JobType JobType
	// Runnable: PENDING, or RETRYING whose retry time has passed; Since is
	// when the longest-waiting one became runnable (its creation, or its
	// retry time). Claim takes these, oldest first, except while their
	// cluster is locked or an older job of their cluster is unfinished.
	Runnable QueueCount
	// Retrying: RETRYING, waiting for a retry time still ahead; Since is
	// when the longest-waiting one was set to retry (its last update).
	Retrying QueueCount
	// Running: RUNNING with a live lock of its own; Since is the start of
	// the longest-running attempt.
	Running QueueCount
	// Stuck: RUNNING without a live lock of its own (its worker stopped
	// heartbeating); Since is the start of the oldest such attempt. These
	// are what Store.RecoverStuck requeues or fails.
	Stuck QueueCount
}

// QueueCount is how many jobs are in one category and since when the
// longest-waiting of them has been.
type QueueCount struct {
	Count int
	// Since is the moment the category's longest-waiting job entered it (see
	// each JobQueue field); zero when Count is 0.
	Since time.Time
}

// Age is how long the category's longest-waiting job has been in it at time
// at (a QueueReport's At); 0 when the category is empty.
func (c QueueCount) Age(at time.Time) time.Duration {
	if c.Count == 0 {
		return 0
	}
	return at.Sub(c.Since)
}

// QueueStatsExecutor is an optional capability of an Executor: reading the
// queue's state in one consistent snapshot. Both backends of this module
// implement it; Store.QueueStats reports ErrInvalidArgument for a backend
// that does not. An Executor that wraps another (by embedding it, say) must
// pass the method through, or the capability is hidden.
type QueueStatsExecutor interface {
	// JobsQueueStats returns the queue by type, every job type included.
	JobsQueueStats(ctx context.Context) (*QueueReport, error)
}

// QueueStats reads the job queue's state by job type (counts and the
// oldest entry of each category), for dashboards and gauges. On
// PostgreSQL it is one statement; on a transaction-bound Store it reads
// in the transaction.
func (s *Store) QueueStats(ctx context.Context) (*QueueReport, error) {
	return call(s, ctx, "Store.QueueStats", func(ctx context.Context, x Executor) (*QueueReport, error) {
		q, ok := x.(QueueStatsExecutor)
		if !ok {
			return nil, invalid("store", "the %s backend does not report queue statistics", s.config.backend)
		}
		r, err := q.JobsQueueStats(ctx)
		if err != nil {
			return nil, fmt.Errorf("queue stats: %w", err)
		}
		return r, nil
	})
}
