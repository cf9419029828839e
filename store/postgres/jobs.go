package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ocpctl/ocpstore/store"
)

// jobColumns is the column list of jobs, in jobRow.dests order.
var jobColumns = []string{"id", "cluster_id", "job_type", "status", "attempt", "max_attempts", "error_code",
	"error_message", "retry_at", "started_at", "ended_at", "created_at", "updated_at", "metadata"}

// jobRow receives a jobs row.
type jobRow struct{ j store.Job }

func (r *jobRow) dests() []any {
	j := &r.j
	return []any{&j.ID, &j.ClusterID, &j.JobType, &j.Status, &j.Attempt, &j.MaxAttempts, &j.ErrorCode,
		&j.ErrorMessage, &j.RetryAt, &j.StartedAt, &j.EndedAt, &j.CreatedAt, &j.UpdatedAt, &j.Metadata}
}

func (r *jobRow) value() *store.Job {
	j := &r.j
	inUTC(j.RetryAt)
	inUTC(j.StartedAt)
	inUTC(j.EndedAt)
	j.CreatedAt, j.UpdatedAt = j.CreatedAt.UTC(), j.UpdatedAt.UTC()
	return j
}

var jobs = table[*store.Job]{name: "jobs", columns: jobColumns,
	newRow: func() row[*store.Job] { return new(jobRow) }}

// runnableRow receives a job joined with its cluster (LockRunnable).
type runnableRow struct {
	j jobRow
	c clusterRow
}

func (r *runnableRow) dests() []any { return append(r.j.dests(), r.c.dests()...) }

func (r *runnableRow) value() store.Runnable {
	return store.Runnable{Job: r.j.value(), Cluster: r.c.value()}
}

var runnables = table[store.Runnable]{name: "jobs j JOIN clusters c ON c.id = j.cluster_id",
	columns: append(qualify("j", jobColumns), qualify("c", clusterColumns)...),
	newRow:  func() row[store.Runnable] { return new(runnableRow) }}

// allJobTypes is store.JobTypes(), for a claim of every type.
var allJobTypes = store.JobTypes()

// claimTypes is the @types argument of a claim of types: all when empty.
func claimTypes(types []store.JobType) []store.JobType {
	if len(types) == 0 {
		return allJobTypes
	}
	return types
}

// Status lists as SQL literals, from the Go constants, so the statements
// repeat the predicates of the partial indexes they are meant to use.
var (
	startableSQL = literals(store.JobPending, store.JobRetrying)                   // jobs_runnable_idx
	activeSQL    = literals(store.JobPending, store.JobRunning, store.JobRetrying) // jobs_cluster_active_idx
	runningSQL   = literals(store.JobRunning)                                      // jobs_running_idx
)

// runnableSQL is the WHERE clause of the runnable jobs j of @types at
// @now. A job qualifies when it is PENDING, or RETRYING with retry_at
// passed; not marked waiting behind its cluster's head (see queue.go: the
// mark only spares the walk, the checks below decide); of one of the
// types; no older (created_at, id) job of its
// cluster is unfinished (FIFO per cluster, which also means at most one
// job per cluster qualifies); and its cluster has no live lock, looked up
// by the cluster's key for each candidate (a join would let the planner
// materialize every held lock instead, and compare each candidate with
// each: 490,000 comparisons for 700 candidates after a burst of claims).
var runnableSQL = " WHERE j.status IN (" + startableSQL + ") AND NOT j.waiting AND (j.status = " + literals(store.JobPending) +
	" OR j.retry_at <= " + nowSQL + ") AND j.job_type = ANY(@types::text[])" +
	" AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.cluster_id = j.cluster_id AND o.status IN (" + activeSQL + ")" +
	" AND (o.created_at, o.id) < (j.created_at, j.id))" +
	" AND NOT COALESCE((SELECT l." + heldSQL + " AND l.expires_at > " + nowSQL +
	" FROM job_locks l WHERE l.cluster_id = j.cluster_id), false)"

// checkOnly returns the condition cond as "(cond) IS TRUE": the same
// truth in a WHERE clause, but no index can serve it and no partial index
// is proven usable by it. Statements that find a row by its primary key
// use it for the conditions that only check that row. Written plainly,
// "status = 'RUNNING'" lets the planner reach the job through the status
// index or the partial index of running jobs, and "released_at IS NULL"
// reach the lock through the partial index of held locks; it does so
// whenever its statistics say few rows qualify, as they do after a burst
// of claims until autovacuum's next ANALYZE, and then every row walks all
// the entries of that kind and their dead versions (measured in a
// FinishMany of 100 after a burst: the batch end read 193-196 buffers per
// job, 36 with its rows found by key).
func checkOnly(cond string) string { return "(" + cond + ") IS TRUE" }

// fenced renders a fenced job write: the SET list set applied only while
// the job is RUNNING and the lock row with the caller's token exists. The
// CTE locks that lock row FOR NO KEY UPDATE in the same statement, before
// the job row (see "Lock order" in the package documentation): a
// concurrent takeover (Acquire's ON CONFLICT … DO UPDATE) either committed
// first, and then the locking read re-checks the row's latest version,
// finds a new token and yields nothing; or it waits for this transaction
// to end. A plain EXISTS on job_locks would not be safe under READ
// COMMITTED (its snapshot is not re-checked when the UPDATE waits for the
// job row). Not FOR SHARE: two writers of one lock (a Finish and a retried
// fenced write) would both get it, each then wait for the other (the job
// row, then the release of the lock row) and deadlock; with the stronger
// lock the second waits at the lock row and then finds it released.
// Parameters: @cluster, @job, @token, and set's.
func fenced(set string) statement {
	return named("WITH l AS (SELECT 1 FROM job_locks WHERE cluster_id = @cluster AND job_id = @job AND token = @token" +
		" AND " + checkOnly(heldSQL) + " FOR NO KEY UPDATE), w AS (UPDATE jobs SET " + set +
		" WHERE id = @job AND cluster_id = @cluster AND " + checkOnly("status = "+runningSQL) + " AND EXISTS (SELECT 1 FROM l)" +
		" RETURNING " + joinColumns(jobColumns) + "), " + unmarkOldest("u", "w") +
		" SELECT " + joinColumns(jobColumns) + " FROM w")
}

// The fixed job statements.
var (
	jobCreateSQL = named("INSERT INTO jobs (" + joinColumns(jobColumns) + ")" +
		" VALUES (" + params(jobColumns[:11]...) + ", " + nowSQL + ", " + nowSQL + ", @metadata)" +
		" RETURNING created_at, updated_at")
	jobGetSQL         = named("SELECT " + joinColumns(jobColumns) + " FROM jobs WHERE id = @id")
	jobMarkStartedSQL = named("UPDATE jobs SET status = " + literals(store.JobRunning) + ", attempt = attempt + 1," +
		" started_at = " + nowSQL + ", retry_at = NULL, ended_at = NULL, updated_at = " + nowSQL +
		" WHERE id = @id AND status IN (" + startableSQL + ") RETURNING " + joinColumns(jobColumns))
	// jobCancelSQL: a cancelled queued job loses its waiting mark too.
	jobCancelSQL = named("WITH w AS (UPDATE jobs SET status = " + literals(store.JobFailed) + ", waiting = false, error_code = @code," +
		" error_message = @message, ended_at = " + nowSQL + ", updated_at = " + nowSQL +
		" WHERE id = @id AND status IN (" + startableSQL + ") RETURNING " + joinColumns(jobColumns) + "), " +
		unmarkOldest("u", "w") + " SELECT " + joinColumns(jobColumns) + " FROM w")
	// jobMarkSucceededSQL merges @metadata into the job's (its keys
	// overwrite); NULL leaves it alone.
	jobMarkSucceededSQL = fenced("status = " + literals(store.JobSucceeded) + ", ended_at = " + nowSQL +
		", updated_at = " + nowSQL + ", metadata = CASE WHEN @metadata::jsonb IS NULL THEN metadata" +
		" ELSE COALESCE(metadata, '{}'::jsonb) || @metadata::jsonb END")
	jobMarkFailedSQL = fenced("status = " + literals(store.JobFailed) + ", error_code = @code," +
		" error_message = @message, ended_at = " + nowSQL + ", updated_at = " + nowSQL)
	jobMarkRetrySQL = fenced("status = " + literals(store.JobRetrying) + ", error_code = @code," +
		" error_message = @message, retry_at = " + nowSQL + " + @after::interval, ended_at = NULL," +
		" updated_at = " + nowSQL)
	// lockRunnableSQL is the claim query (see runnableSQL). Oldest first;
	// rows locked by another claimer are skipped, and skipped rows do not
	// count toward the limit (LockRows sits below Limit).
	lockRunnableSQL = named("SELECT " + joinColumns(runnables.columns) + " FROM " + runnables.name + runnableSQL +
		" ORDER BY j.created_at, j.id LIMIT @limit FOR NO KEY UPDATE OF j, c SKIP LOCKED")
	// anyRunnableSQL: is any job runnable (see runnableSQL)? It locks
	// nothing. When no job is PENDING or RETRYING it is one probe of
	// jobs_runnable_idx; otherwise it checks each such job, oldest first,
	// as the claim query does, until one qualifies.
	anyRunnableSQL = named("SELECT EXISTS (SELECT 1 FROM jobs j" + runnableSQL + ")")
	// jobListStuckSQL: RUNNING jobs without a live lock of their own.
	jobListStuckSQL = named("SELECT " + joinColumns(qualify("j", jobColumns)) + " FROM jobs j" +
		" WHERE j.status = " + runningSQL + " AND NOT EXISTS (SELECT 1 FROM job_locks l" +
		" WHERE l.cluster_id = j.cluster_id AND l.job_id = j.id AND l." + heldSQL + " AND l.expires_at > " + nowSQL + ")" +
		" ORDER BY j.started_at, j.id LIMIT @limit")
	// jobClusterSQL: the job's cluster, its row locked first (see "Lock
	// order" in the package documentation).
	jobClusterSQL = named("SELECT c.id FROM jobs j JOIN clusters c ON c.id = j.cluster_id WHERE j.id = @id FOR NO KEY UPDATE OF c")
	// jobLockLiveSQL: is the job's own lock live? It locks the row.
	jobLockLiveSQL = named("SELECT expires_at > " + nowSQL + " FROM job_locks" +
		" WHERE cluster_id = @cluster AND job_id = @job AND " + checkOnly(heldSQL) + " FOR NO KEY UPDATE")
	// jobRequeueSQL: RETRYING and runnable now while attempts are left,
	// else FAILED as abandoned.
	jobRequeueSQL = named("WITH w AS (UPDATE jobs SET status = CASE WHEN attempt < max_attempts THEN " + literals(store.JobRetrying) +
		" ELSE " + literals(store.JobFailed) + " END," +
		" retry_at = CASE WHEN attempt < max_attempts THEN " + nowSQL + " END," +
		" error_code = CASE WHEN attempt < max_attempts THEN error_code ELSE @code::text END," +
		" error_message = CASE WHEN attempt < max_attempts THEN error_message ELSE @message::text END," +
		" ended_at = CASE WHEN attempt < max_attempts THEN NULL ELSE " + nowSQL + " END, updated_at = " + nowSQL +
		" WHERE id = @id AND status = " + runningSQL + " RETURNING " + joinColumns(jobColumns) + "), " +
		unmarkOldest("u", "w") + " SELECT " + joinColumns(jobColumns) + " FROM w")
	// jobReleaseLockSQL releases the job's held lock.
	jobReleaseLockSQL = named("UPDATE job_locks SET released_at = " + nowSQL +
		" WHERE cluster_id = @cluster AND job_id = @job AND " + checkOnly(heldSQL))
)

// abandonedMessage is the error message of a job Requeue fails.
const abandonedMessage = "abandoned: the worker stopped heartbeating and no attempts are left"

// JobInsert inserts j and sets its timestamps in place.
func (s executor) JobInsert(ctx context.Context, j *store.Job) error {
	now := s.now()
	// Scanned in place: a failed INSERT returns no row, so an error leaves them.
	err := s.q.QueryRow(ctx, jobCreateSQL.sql, jobCreateSQL.args(pgx.NamedArgs{"id": j.ID, "cluster_id": j.ClusterID,
		"job_type": j.JobType, "status": j.Status, "attempt": j.Attempt, "max_attempts": j.MaxAttempts,
		"error_code": j.ErrorCode, "error_message": j.ErrorMessage, "retry_at": optTime(j.RetryAt),
		"started_at": optTime(j.StartedAt), "ended_at": optTime(j.EndedAt), "now": now,
		"metadata": jsonArg(j.Metadata)})...).Scan(&j.CreatedAt, &j.UpdatedAt)
	if err != nil {
		return mapError(ctx, err, "create job "+j.ID)
	}
	j.CreatedAt, j.UpdatedAt = j.CreatedAt.UTC(), j.UpdatedAt.UTC()
	return nil
}

// GetByID returns the job or ErrNotFound.
func (s executor) JobGetByID(ctx context.Context, id string) (*store.Job, error) {
	j, err := jobs.one(ctx, s.q, jobGetSQL, pgx.NamedArgs{"id": id})
	if err != nil {
		return nil, mapError(ctx, err, "job "+id)
	}
	return j, nil
}

// jobOrder is the order of a job listing.
func jobOrder(f store.JobFilters) order {
	return order{sort: string(store.JobByCreatedAt), desc: f.Desc, keyExpr: "created_at", timeKey: true}
}

// jobFilters returns the conditions of f's set fields.
func jobFilters(f store.JobFilters) filter {
	var w filter
	if f.ClusterID != nil {
		w.add(0, eq, "cluster_id", *f.ClusterID)
	}
	if f.Status != nil {
		w.add(1, eq, "status", *f.Status)
	}
	if f.JobType != nil {
		w.add(2, eq, "job_type", *f.JobType)
	}
	return w
}

// List returns a page and the total from one statement (one snapshot).
func (s executor) JobList(ctx context.Context, f store.JobFilters) ([]*store.Job, int, error) {
	items, total, err := listWithTotal(ctx, s.conn, jobs, jobFilters(f), jobOrder(f), store.EffectiveLimit(f.Limit), f.Offset)
	return items, total, mapError(ctx, err, "list jobs")
}

// ListAfter returns the keyset page after cursor.
func (s executor) JobListAfter(ctx context.Context, f store.JobFilters, cursor string) (store.Page[*store.Job], error) {
	p, err := listAfter(ctx, s.conn, jobs, jobFilters(f), jobOrder(f), cursor, store.EffectiveLimit(f.Limit),
		func(j *store.Job) (string, string) { return store.TimeKey(j.CreatedAt), j.ID })
	return p, mapError(ctx, err, "list jobs")
}

// MarkStarted moves a PENDING or RETRYING job to RUNNING (compare-and-set).
func (s executor) JobMarkStarted(ctx context.Context, id string) (*store.Job, error) {
	j, err := jobs.one(ctx, s.q, jobMarkStartedSQL, pgx.NamedArgs{"now": s.now(), "id": id})
	return s.jobTransitioned(ctx, j, err, id, store.JobRunning)
}

// Cancel moves a PENDING or RETRYING job to FAILED (compare-and-set).
//
// It locks the job's cluster row first, in a statement of its own: every
// statement that ends a job clears the waiting mark of its cluster's next
// job (see queue.go), and two of them ending jobs of one cluster at once
// would each see the other's job unfinished and leave the job after both
// marked. Serialized on the cluster row, the second takes its snapshot
// after the first committed.
func (s executor) JobCancel(ctx context.Context, id, code, message string) (*store.Job, error) {
	var job *store.Job
	err := s.atomically(ctx, func(c conn) error {
		if _, err := c.lockJobCluster(ctx, id); err != nil {
			return err
		}
		j, err := jobs.one(ctx, c.q, jobCancelSQL, pgx.NamedArgs{"code": code, "message": message, "now": s.now(), "id": id})
		job, err = executor{c}.jobTransitioned(ctx, j, err, id, store.JobFailed)
		return err
	})
	return job, err
}

// lockJobCluster locks the row of job id's cluster FOR NO KEY UPDATE (see
// "Lock order" in the package documentation) and returns the cluster's ID;
// a missing job locks nothing and returns "".
func (c conn) lockJobCluster(ctx context.Context, id string) (string, error) {
	var clusterID string
	err := c.q.QueryRow(ctx, jobClusterSQL.sql, jobClusterSQL.args(pgx.NamedArgs{"id": id})...).Scan(&clusterID)
	if err != nil && !isNoRows(err) {
		return "", mapError(ctx, err, "lock the cluster of job "+id)
	}
	return clusterID, nil
}

// transitioned finishes a job compare-and-set: when no row changed, it
// reads the job to tell a missing job from a refused transition.
func (s executor) jobTransitioned(ctx context.Context, j *store.Job, err error, id string, to store.JobStatus) (*store.Job, error) {
	if err == nil {
		return j, nil
	}
	if !isNoRows(err) {
		return nil, mapError(ctx, err, fmt.Sprintf("move job %s to %s", id, to))
	}
	cur, err := s.JobGetByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return nil, &store.TransitionError{Entity: "job", ID: id, From: string(cur.Status), To: string(to)}
}

// MarkSucceeded is the fenced write of a success (see fenced).
func (s executor) JobMarkSucceeded(ctx context.Context, lock *store.JobLock, metadata map[string]string) (*store.Job, error) {
	var md any
	if len(metadata) > 0 {
		md = metadata
	}
	return s.jobFencedWrite(ctx, lock, jobMarkSucceededSQL, pgx.NamedArgs{"now": s.now(), "metadata": md})
}

// MarkFailed is the fenced write of a failure.
func (s executor) JobMarkFailed(ctx context.Context, lock *store.JobLock, code, message string) (*store.Job, error) {
	return s.jobFencedWrite(ctx, lock, jobMarkFailedSQL, pgx.NamedArgs{"code": code, "message": message, "now": s.now()})
}

// MarkRetry is the fenced write of a transient failure.
func (s executor) JobMarkRetry(ctx context.Context, p store.JobMarkRetryParams) (*store.Job, error) {
	return s.jobFencedWrite(ctx, p.Lock, jobMarkRetrySQL,
		pgx.NamedArgs{"code": p.Code, "message": p.Message, "now": s.now(), "after": p.After})
}

// fencedWrite runs a statement made by fenced; no row means the job is not
// RUNNING or the token is not current: ErrLockLost, and nothing changed.
//
// The cluster's row is locked first, in a statement of its own, for the
// reason JobCancel gives.
func (s executor) jobFencedWrite(ctx context.Context, lock *store.JobLock, st statement, set pgx.NamedArgs) (*store.Job, error) {
	set["cluster"], set["job"], set["token"] = lock.ClusterID, lock.JobID, lock.Token
	var job *store.Job
	err := s.atomically(ctx, func(c conn) error {
		if _, err := c.q.Exec(ctx, batchLockClustersSQL.sql, batchLockClustersSQL.args(pgx.NamedArgs{"ids": []string{lock.ClusterID}})...); err != nil {
			return mapError(ctx, err, "lock cluster "+lock.ClusterID)
		}
		j, err := jobs.one(ctx, c.q, st, set)
		switch {
		case err == nil:
			job = j
			return nil
		case isNoRows(err):
			return fmt.Errorf("job %s not running under this lock: %w", lock.JobID, lockLost(lock))
		}
		return mapError(ctx, err, "write job "+lock.JobID)
	})
	return job, err
}

// LockRunnable returns up to q.Limit runnable jobs with their clusters,
// both rows locked FOR NO KEY UPDATE (see lockRunnableSQL, and "Lock
// order" in the package documentation).
func (s executor) JobsLockRunnable(ctx context.Context, q store.RunnableQuery) ([]store.Runnable, error) {
	rs, err := runnables.all(ctx, s.q, lockRunnableSQL, pgx.NamedArgs{"now": s.now(), "types": claimTypes(q.JobTypes), "limit": q.Limit})
	if err != nil {
		return nil, mapError(ctx, err, "lock runnable jobs")
	}
	return rs, nil
}

// ListStuck returns RUNNING jobs without a live lock of their own, oldest
// started first.
func (s executor) JobListStuck(ctx context.Context, limit int) ([]*store.Job, error) {
	js, err := jobs.all(ctx, s.q, jobListStuckSQL, pgx.NamedArgs{"now": s.now(), "limit": limit})
	return js, mapError(ctx, err, "list stuck jobs")
}

// Requeue takes back a stuck RUNNING job in one transaction: it locks the
// job's cluster row and then its own lock row (refusing a live one), moves
// the job to RETRYING or FAILED, and releases that lock (sets released_at)
// so the old holder's token stops being current. Cluster row, lock row,
// job row: the package's lock order.
func (s executor) JobRequeue(ctx context.Context, id string) (*store.Job, error) {
	var job *store.Job
	err := s.atomically(ctx, func(c conn) error {
		q, s := c.q, executor{c}
		clusterID, err := c.lockJobCluster(ctx, id)
		if err != nil {
			return err
		}
		if clusterID == "" {
			return notFound("requeue job " + id)
		}
		var live bool
		err = q.QueryRow(ctx, jobLockLiveSQL.sql, jobLockLiveSQL.args(pgx.NamedArgs{"now": s.now(), "cluster": clusterID, "job": id})...).Scan(&live)
		hasLock := err == nil
		switch {
		case err != nil && !isNoRows(err):
			return mapError(ctx, err, "requeue job "+id)
		case live:
			return fmt.Errorf("requeue job %s: its lock on cluster %s is live: %w", id, clusterID, store.ErrConflict)
		}
		j, err := jobs.one(ctx, q, jobRequeueSQL,
			pgx.NamedArgs{"now": s.now(), "code": store.ErrCodeAbandoned, "message": abandonedMessage, "id": id})
		if isNoRows(err) {
			cur, err := jobs.one(ctx, q, jobGetSQL, pgx.NamedArgs{"id": id})
			if err != nil {
				return mapError(ctx, err, "job "+id)
			}
			return &store.TransitionError{Entity: "job", ID: id, From: string(cur.Status), To: string(store.JobRetrying)}
		}
		if err != nil {
			return mapError(ctx, err, "requeue job "+id)
		}
		if hasLock {
			if _, err := q.Exec(ctx, jobReleaseLockSQL.sql, jobReleaseLockSQL.args(pgx.NamedArgs{"now": s.now(), "cluster": clusterID, "job": id})...); err != nil {
				return mapError(ctx, err, "requeue job "+id)
			}
		}
		job = j
		return nil
	})
	return job, err
}
