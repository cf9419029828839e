package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
)

// QueueReport is store.QueueReport, kept under this name for callers of
// QueueStats.
type QueueReport = store.QueueReport

// JobQueue is store.JobQueue.
type JobQueue = store.JobQueue

// QueueCount is store.QueueCount.
type QueueCount = store.QueueCount

// queueStatsSQL counts unfinished jobs by type and category in one
// statement, with one "now" for every comparison. It reads the jobs of the
// partial indexes on unfinished jobs only, plus each running job's lock row
// (job_locks' primary key). $1 job types, $2 the injected clock's now or
// NULL.
var queueStatsSQL = `
WITH now AS (SELECT COALESCE($2::timestamptz, statement_timestamp()) AS at),
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
// the database's clock. Store.QueueStats is the same read through a Store,
// on either backend.
func QueueStats(ctx context.Context, pool *pgxpool.Pool) (*QueueReport, error) {
	return executor{conn{q: pooled{pool}}}.JobsQueueStats(ctx)
}

// JobsQueueStats implements store.QueueStatsExecutor in one statement.
func (e executor) JobsQueueStats(ctx context.Context) (*store.QueueReport, error) {
	rows, err := e.q.Query(ctx, queueStatsSQL, allJobTypes, e.now())
	if err != nil {
		return nil, mapError(ctx, err, "queue stats")
	}
	defer rows.Close()
	report := &store.QueueReport{}
	for rows.Next() {
		var q store.JobQueue
		var since [4]*time.Time
		err := rows.Scan(&report.At, &q.JobType, &q.Runnable.Count, &since[0], &q.Retrying.Count, &since[1],
			&q.Running.Count, &since[2], &q.Stuck.Count, &since[3])
		if err != nil {
			return nil, mapError(ctx, err, "queue stats")
		}
		for i, c := range []*store.QueueCount{&q.Runnable, &q.Retrying, &q.Running, &q.Stuck} {
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
