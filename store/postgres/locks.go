package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ocpctl/ocpstore/store"
)

// lockColumns is the column list of job_locks, in lockRow.dests order.
var lockColumns = []string{"cluster_id", "job_id", "locked_by", "token", "locked_at", "expires_at"}

// lockRow receives a job_locks row.
type lockRow struct{ l store.JobLock }

func (r *lockRow) dests() []any {
	l := &r.l
	return []any{&l.ClusterID, &l.JobID, &l.LockedBy, &l.Token, &l.LockedAt, &l.ExpiresAt}
}

func (r *lockRow) value() *store.JobLock {
	l := &r.l
	l.LockedAt, l.ExpiresAt = l.LockedAt.UTC(), l.ExpiresAt.UTC()
	return l
}

var locks = table[*store.JobLock]{name: "job_locks", columns: lockColumns,
	newRow: func() row[*store.JobLock] { return new(lockRow) }}

// sameHolder is true in lockAcquireSQL's conflict arm when the lock row
// is held (not released) by the proposed holder (job and worker).
const sameHolder = "l.job_id = EXCLUDED.job_id AND l.locked_by = EXCLUDED.locked_by AND l.released_at IS NULL"

// heldSQL selects lock rows that are held: not released. A released row
// stays (see the migration) only to remember the cluster's highest token.
// Statements that find the row by its key (cluster_id) say it through
// checkOnly (see jobs.go), so the partial index of held locks is not the
// way to the row; the sweeps (ReleaseExpired, and ListStuck's and
// QueueStats' lock checks per job) use it plainly.
const heldSQL = "released_at IS NULL"

// lockConflictSQL is the conflict arm of the lock grants (lockAcquireSQL,
// and the batch start of batch.go), for the job_locks AS l upserts.
const lockConflictSQL = "ON CONFLICT (cluster_id) DO UPDATE SET" +
	" token = CASE WHEN " + sameHolder + " THEN l.token ELSE GREATEST(EXCLUDED.token, l.token + 1) END," +
	" locked_at = CASE WHEN " + sameHolder + " THEN l.locked_at ELSE EXCLUDED.locked_at END," +
	" job_id = EXCLUDED.job_id, locked_by = EXCLUDED.locked_by, expires_at = EXCLUDED.expires_at, released_at = NULL" +
	" WHERE l.released_at IS NOT NULL OR l.expires_at <= EXCLUDED.locked_at OR (" + sameHolder + ")"

// The fixed lock statements.
var (
	// lockAcquireSQL grants a cluster's lock in one statement:
	//
	//   - The proposed row is selected from jobs, so a job that does not
	//     exist or belongs to another cluster proposes nothing (Acquire
	//     then tells ErrNotFound from ErrLockHeld).
	//   - No row yet (the cluster's first grant): it is inserted with a
	//     token from the job_lock_tokens sequence. Rows are never deleted
	//     (Release and ReleaseExpired set released_at), so every later grant
	//     takes the conflict arm below, which locks the row first: its
	//     token is GREATEST(nextval, old token + 1), larger than every
	//     token the cluster ever had, however long the statement waited.
	//   - A row exists: ON CONFLICT locks it and the WHERE decides on its
	//     latest version. The same holder (job and worker) renews: the
	//     expiry moves, the token and LockedAt stay, even if it had expired.
	//     A released row, or an expired row of another holder, is taken
	//     over with the token GREATEST(nextval, old token + 1). A live row
	//     of another holder is left alone and nothing is returned:
	//     ErrLockHeld.
	lockAcquireSQL = named("INSERT INTO job_locks AS l (" + joinColumns(lockColumns) + ")" +
		" SELECT j.cluster_id, j.id, @worker::text, nextval('job_lock_tokens'), " + nowSQL + ", " + nowSQL + " + @ttl::interval" +
		" FROM jobs j WHERE j.id = @job AND j.cluster_id = @cluster " + lockConflictSQL +
		" RETURNING " + joinColumns(qualify("l", lockColumns)))
	// lockJobExistsSQL: does the cluster exist, and the job, of that cluster?
	lockJobExistsSQL = named("SELECT EXISTS (SELECT 1 FROM clusters WHERE id = @cluster)," +
		" EXISTS (SELECT 1 FROM jobs WHERE cluster_id = @cluster AND id = @job)")
	// lockExtendSQL: only the current token extends, expired or not.
	lockExtendSQL = named("UPDATE job_locks SET expires_at = " + nowSQL + " + @ttl::interval" +
		" WHERE cluster_id = @cluster AND job_id = @job AND token = @token AND " + checkOnly(heldSQL) +
		" RETURNING " + joinColumns(lockColumns))
	lockReleaseSQL = named("UPDATE job_locks SET released_at = " + nowSQL +
		" WHERE cluster_id = @cluster AND job_id = @job AND token = @token AND " + checkOnly(heldSQL))
	lockGetSQL = named("SELECT " + joinColumns(lockColumns) + " FROM job_locks WHERE cluster_id = @cluster AND " + checkOnly(heldSQL))
	// lockReleaseExpiredSQL: the expired held rows, locked in cluster order
	// before any is updated (see "Lock order" in the package documentation),
	// then released. The outer conditions re-check each row's latest
	// version.
	lockReleaseExpiredSQL = named("UPDATE job_locks SET released_at = " + nowSQL +
		" WHERE cluster_id IN (SELECT cluster_id FROM job_locks WHERE " + heldSQL + " AND expires_at <= " + nowSQL +
		" ORDER BY cluster_id FOR NO KEY UPDATE) AND " + heldSQL + " AND expires_at <= " + nowSQL)
)

// Acquire grants the cluster's lock to (job, worker); see lockAcquireSQL.
func (s executor) JobLockAcquire(ctx context.Context, p store.JobLockAcquireParams) (*store.JobLock, error) {
	clusterID, jobID := p.ClusterID, p.JobID
	l, err := locks.one(ctx, s.q, lockAcquireSQL,
		pgx.NamedArgs{"worker": p.WorkerID, "now": s.now(), "ttl": p.TTL, "job": jobID, "cluster": clusterID})
	if err == nil {
		return l, nil
	}
	if !isNoRows(err) {
		return nil, mapError(ctx, err, fmt.Sprintf("acquire lock of cluster %s for job %s", clusterID, jobID))
	}
	var clusterExists, jobExists bool
	if err := s.q.QueryRow(ctx, lockJobExistsSQL.sql, lockJobExistsSQL.args(pgx.NamedArgs{"cluster": clusterID, "job": jobID})...).Scan(&clusterExists, &jobExists); err != nil {
		return nil, mapError(ctx, err, "acquire lock of cluster "+clusterID)
	}
	switch {
	case !clusterExists:
		return nil, fmt.Errorf("acquire lock: cluster %s: %w", clusterID, store.ErrNotFound)
	case !jobExists:
		return nil, fmt.Errorf("acquire lock of cluster %s: job %s of that cluster: %w", clusterID, jobID, store.ErrNotFound)
	}
	return nil, fmt.Errorf("acquire lock of cluster %s for job %s: %w", clusterID, jobID, store.ErrLockHeld)
}

// Extend moves the expiry to now+ttl if lock's token is current.
func (s executor) JobLockExtend(ctx context.Context, lock *store.JobLock, ttl time.Duration) (*store.JobLock, error) {
	l, err := locks.one(ctx, s.q, lockExtendSQL, pgx.NamedArgs{"now": s.now(), "ttl": ttl, "cluster": lock.ClusterID,
		"job": lock.JobID, "token": lock.Token})
	switch {
	case err == nil:
		return l, nil
	case isNoRows(err):
		return nil, lockLost(lock)
	}
	return nil, mapError(ctx, err, "extend lock of cluster "+lock.ClusterID)
}

// Release frees the lock (sets released_at) if lock's token is current.
func (s executor) JobLockRelease(ctx context.Context, lock *store.JobLock) error {
	tag, err := s.q.Exec(ctx, lockReleaseSQL.sql, lockReleaseSQL.args(pgx.NamedArgs{"now": s.now(),
		"cluster": lock.ClusterID, "job": lock.JobID, "token": lock.Token})...)
	if err != nil {
		return mapError(ctx, err, "release lock of cluster "+lock.ClusterID)
	}
	if tag.RowsAffected() == 0 {
		return lockLost(lock)
	}
	return nil
}

// Get returns the cluster's lock row, live or expired.
func (s executor) JobLockGet(ctx context.Context, clusterID string) (*store.JobLock, error) {
	l, err := locks.one(ctx, s.q, lockGetSQL, pgx.NamedArgs{"cluster": clusterID})
	return l, mapError(ctx, err, "lock of cluster "+clusterID)
}

// JobLockReleaseExpired frees the held locks whose expiry has passed; their rows
// stay, released, to keep the clusters' highest tokens.
func (s executor) JobLockReleaseExpired(ctx context.Context) (int64, error) {
	tag, err := s.q.Exec(ctx, lockReleaseExpiredSQL.sql, lockReleaseExpiredSQL.args(pgx.NamedArgs{"now": s.now()})...)
	if err != nil {
		return 0, mapError(ctx, err, "delete expired locks")
	}
	return tag.RowsAffected(), nil
}

// lockLost is the error of a write fenced by a token that is not current.
func lockLost(lock *store.JobLock) error {
	return fmt.Errorf("cluster %s job %s token %d: %w", lock.ClusterID, lock.JobID, lock.Token, store.ErrLockLost)
}
