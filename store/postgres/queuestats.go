package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
)

// QueueReport is the state of the job queue at one moment, by job type: what
// an operator checks first (`ocpstore queue`) and what a metrics exporter
// turns into gauges (queue depth, age of the oldest runnable job).
type QueueReport struct {
	// At is the database's statement_timestamp() when the report was read:
	// the "now" of every category below, and what ages are measured from.
	At time.Time
	// ByType has one entry per store.JobTypes(), in that order, with zero
	// counts included, so a gauge per type never disappears.
	ByType []JobQueue
}

// JobQueue is the queue of one job type. Every unfinished job (PENDING,
// RETRYING, RUNNING) is in exactly one of its four categories.
type JobQueue struct {
	JobType store.JobType
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

// queueStatsSQL counts unfinished jobs by type and category in one
// statement, with one "now" for every comparison. It reads the jobs of the
// partial indexes on unfinished jobs only, plus each running job's lock row
// (job_locks' primary key). $1 job types.
var queueStatsSQL = `
WITH now AS (SELECT statement_timestamp() AS at),
unfinished AS (
    SELECT j.job_type, j.status, j.created_at, j.retry_at, j.updated_at, j.started_at,
           j.status = ` + literals(store.JobPending) + ` OR
               (j.status = ` + literals(store.JobRetrying) + ` AND j.retry_at <= now.at) AS runnable,
           j.status = ` + runningSQL + ` AND EXISTS (
               SELECT 1 FROM job_locks l WHERE l.cluster_id = j.cluster_id AND l.job_id = j.id
                 AND l.` + heldSQL + ` AND l.expires_at > now.at) AS live
    FROM jobs j, now
    WHERE j.status IN (` + activeSQL + `)
)
SELECT now.at, t.job_type,
       count(u.*) FILTER (WHERE u.runnable),
       min(CASE WHEN u.status = ` + literals(store.JobPending) + ` THEN u.created_at ELSE u.retry_at END)
           FILTER (WHERE u.runnable),
       count(u.*) FILTER (WHERE u.status = ` + literals(store.JobRetrying) + ` AND NOT u.runnable),
       min(u.updated_at) FILTER (WHERE u.status = ` + literals(store.JobRetrying) + ` AND NOT u.runnable),
       count(u.*) FILTER (WHERE u.live),
       min(u.started_at) FILTER (WHERE u.live),
       count(u.*) FILTER (WHERE u.status = ` + runningSQL + ` AND NOT u.live),
       min(u.started_at) FILTER (WHERE u.status = ` + runningSQL + ` AND NOT u.live)
FROM now
CROSS JOIN unnest($1::text[]) WITH ORDINALITY AS t(job_type, ord)
LEFT JOIN unfinished u ON u.job_type = t.job_type
GROUP BY now.at, t.job_type, t.ord
ORDER BY t.ord`

// QueueStats reads the job queue's state through pool in one statement, on
// the database's clock. It is a read of the PostgreSQL backend only, not of
// the store contract: the memory backend's queue is in its process.
func QueueStats(ctx context.Context, pool *pgxpool.Pool) (*QueueReport, error) {
	rows, err := pool.Query(ctx, queueStatsSQL, allJobTypes)
	if err != nil {
		return nil, mapError(ctx, err, "queue stats")
	}
	defer rows.Close()
	report := &QueueReport{}
	for rows.Next() {
		var q JobQueue
		var since [4]*time.Time
		err := rows.Scan(&report.At, &q.JobType, &q.Runnable.Count, &since[0], &q.Retrying.Count, &since[1],
			&q.Running.Count, &since[2], &q.Stuck.Count, &since[3])
		if err != nil {
			return nil, mapError(ctx, err, "queue stats")
		}
		for i, c := range []*QueueCount{&q.Runnable, &q.Retrying, &q.Running, &q.Stuck} {
			if since[i] != nil {
				c.Since = *since[i]
			}
		}
		report.ByType = append(report.ByType, q)
	}
	if err := rows.Err(); err != nil {
		return nil, mapError(ctx, err, "queue stats")
	}
	return report, nil
}
