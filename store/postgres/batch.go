package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ocpctl/ocpstore/store"
)

// clusterEdgesSQL is the cluster state machine's edges as a VALUES list of
// (from, to) status pairs, from store.CanTransition: the batch end checks a
// cluster move against it as UpdateStatus's compare-and-set does.
var clusterEdgesSQL = func() string {
	var rows []string
	for _, from := range store.ClusterStatuses() {
		for _, to := range store.ClusterStatuses() {
			if store.CanTransition(from, to) {
				rows = append(rows, "("+literals(from, to)+")")
			}
		}
	}
	return "(VALUES " + strings.Join(rows, ", ") + ")"
}()

// The statements of the worker operations (claim.go): one statement per
// step for the whole batch, each item's values passed as parallel arrays
// and unnested WITH ORDINALITY, so every row of the result names its item.
// Conditions on rows found by key are written through checkOnly (jobs.go).
var (
	// batchStartSQL starts every job of a claim batch in one statement,
	// each as lockAcquireSQL, jobMarkStartedSQL and clusterUpdateStatusSQL
	// would: a: the lock grant (no row for a cluster another holder holds
	// live); s: the job RUNNING, for the granted ones only; m: the cluster
	// in its running status where that differs. The job and cluster rows
	// are locked by LockRunnable in this transaction, so the statuses are
	// the ones startJobs was given; the lock rows are taken in cluster
	// order (see "Lock order" in the package documentation). One row per
	// granted lock: its item, whether the cluster moved, the lock, and the
	// job (NULL columns if it did not start, which the caller reports).
	// f: the jobs queued behind the started ones marked waiting
	// (see queue.go).
	batchStartSQL = named("WITH i AS (SELECT * FROM unnest(@job_ids::text[], @cluster_ids::text[], @to::text[])" +
		" WITH ORDINALITY AS i(job_id, cluster_id, to_status, ord))," +
		" a AS (INSERT INTO job_locks AS l (" + joinColumns(lockColumns) + ")" +
		" SELECT j.cluster_id, j.id, @worker::text, nextval('job_lock_tokens'), " + nowSQL + ", " + nowSQL + " + @ttl::interval" +
		" FROM i JOIN jobs j ON j.id = i.job_id AND j.cluster_id = i.cluster_id ORDER BY j.cluster_id " +
		lockConflictSQL + " RETURNING " + joinColumns(qualify("l", lockColumns)) + ")," +
		" s AS (UPDATE jobs j SET status = " + literals(store.JobRunning) + ", attempt = j.attempt + 1," +
		" started_at = " + nowSQL + ", retry_at = NULL, ended_at = NULL, updated_at = " + nowSQL +
		" FROM a WHERE j.id = a.job_id AND j.cluster_id = a.cluster_id AND j.status IN (" + startableSQL + ")" +
		" RETURNING " + joinColumns(qualify("j", jobColumns)) + ")," +
		" m AS (UPDATE clusters c SET status = i.to_status, updated_at = " + nowSQL +
		" FROM s JOIN i ON i.job_id = s.id WHERE c.id = s.cluster_id AND c.status <> i.to_status RETURNING c.id)," +
		" " + markWaiting("f", "s") +
		" SELECT i.ord, m.id IS NOT NULL AS moved, " + joinColumns(qualify("a", lockColumns)) + ", " +
		joinColumns(qualify("s", jobColumns)) +
		" FROM i JOIN a ON a.job_id = i.job_id LEFT JOIN s ON s.id = a.job_id LEFT JOIN m ON m.id = a.cluster_id" +
		" ORDER BY i.ord")
	// batchGetJobsSQL reads the jobs of a finish batch.
	batchGetJobsSQL = named("SELECT " + joinColumns(jobColumns) + " FROM jobs WHERE id = ANY(@ids::text[])")
	// batchLockClustersSQL locks the clusters of a finish batch, in ID
	// order, before batchEndSQL touches their lock rows (see
	// "Lock order" in the package documentation).
	batchLockClustersSQL = named("SELECT id FROM clusters WHERE id = ANY(@ids::text[]) ORDER BY id FOR NO KEY UPDATE")
	// batchEndSQL ends every job of a batch in one statement, each as
	// Finish's writes would, its clusters already locked
	// (batchLockClustersSQL): l: the lock rows still carrying the item's
	// token, locked in cluster order (the fence, see fenced); w: the job
	// write, only while RUNNING under such a lock; cl: the written jobs'
	// clusters that have an end status, locked, with their latest status;
	// m: the cluster moves the state machine allows (destroyed_at set on
	// DESTROYED), none where the cluster is there already; d: the lock
	// release (released_at set); u: the oldest marked job of each cluster
	// whose job ended unmarked (see queue.go). One row per written job: its item, its
	// cluster's status before the move (NULL without an end status),
	// whether it moved, and the job.
	batchEndSQL = named("WITH i AS (SELECT * FROM unnest(@cluster_ids::text[], @job_ids::text[], @tokens::bigint[]," +
		" @statuses::text[], @codes::text[], @messages::text[], @afters::interval[], @metadata::jsonb[], @end_statuses::text[])" +
		" WITH ORDINALITY AS i(cluster_id, job_id, token, status, code, msg, after, md, end_status, ord))," +
		" l AS (SELECT jl.cluster_id, jl.job_id FROM job_locks jl JOIN i ON jl.cluster_id = i.cluster_id" +
		" AND jl.job_id = i.job_id AND jl.token = i.token AND " + checkOnly("jl."+heldSQL) + " ORDER BY jl.cluster_id FOR NO KEY UPDATE OF jl)," +
		" w AS (UPDATE jobs j SET status = i.status," +
		" error_code = CASE WHEN i.status = " + literals(store.JobSucceeded) + " THEN j.error_code ELSE i.code END," +
		" error_message = CASE WHEN i.status = " + literals(store.JobSucceeded) + " THEN j.error_message ELSE i.msg END," +
		" retry_at = CASE WHEN i.status = " + literals(store.JobRetrying) + " THEN " + nowSQL + " + i.after ELSE j.retry_at END," +
		" ended_at = CASE WHEN i.status = " + literals(store.JobRetrying) + " THEN NULL ELSE " + nowSQL + " END," +
		" updated_at = " + nowSQL + "," +
		" metadata = CASE WHEN i.md IS NULL THEN j.metadata ELSE COALESCE(j.metadata, '{}'::jsonb) || i.md END" +
		" FROM l JOIN i ON i.cluster_id = l.cluster_id AND i.job_id = l.job_id" +
		" WHERE j.id = l.job_id AND j.cluster_id = l.cluster_id AND " + checkOnly("j.status = "+runningSQL) +
		" RETURNING i.ord, i.token, i.end_status, " + joinColumns(qualify("j", jobColumns)) + ")," +
		" cl AS (SELECT c.id, c.status, w.end_status FROM clusters c JOIN w ON c.id = w.cluster_id" +
		" WHERE w.end_status <> '' FOR NO KEY UPDATE OF c)," +
		" m AS (UPDATE clusters c SET status = cl.end_status, updated_at = " + nowSQL + "," +
		" destroyed_at = CASE WHEN cl.end_status = " + literals(store.ClusterDestroyed) + " THEN " + nowSQL +
		" ELSE c.destroyed_at END FROM cl WHERE c.id = cl.id AND cl.status <> cl.end_status" +
		" AND EXISTS (SELECT 1 FROM " + clusterEdgesSQL + " AS e(f, t) WHERE e.f = cl.status AND e.t = cl.end_status)" +
		" RETURNING c.id)," +
		" d AS (UPDATE job_locks dl SET released_at = " + nowSQL + " FROM w WHERE dl.cluster_id = w.cluster_id" +
		" AND dl.job_id = w.id AND dl.token = w.token AND " + checkOnly("dl."+heldSQL) + ")," +
		" " + unmarkOldest("u", "w") +
		" SELECT w.ord, cl.status, m.id IS NOT NULL, " + joinColumns(qualify("w", jobColumns)) +
		" FROM w LEFT JOIN cl ON cl.id = w.cluster_id LEFT JOIN m ON m.id = w.cluster_id ORDER BY w.ord")
	// batchLogSQL appends audit events, all with one CreatedAt.
	batchLogSQL = named("INSERT INTO audit_events (" + joinColumns(auditColumns) + ")" +
		" SELECT id, actor, action, cluster_id, job_id, user_id::uuid, status, md, ip::inet, ua, " + nowSQL +
		" FROM unnest(@ids::text[], @actors::text[], @actions::text[], @cluster_ids::text[], @job_ids::text[], @user_ids::text[]," +
		" @statuses::text[], @metadata::jsonb[], @ips::text[], @user_agents::text[])" +
		" AS e(id, actor, action, cluster_id, job_id, user_id, status, md, ip, ua)" +
		" RETURNING created_at")
)

// jobStart is one job of a claim batch to start: its cluster as
// lockRunnableSQL returned it, and the status it runs the job in.
type jobStart struct {
	job     *store.Job
	cluster *store.Cluster
	to      store.ClusterStatus
}

// startJobs grants the locks, starts the jobs and moves the clusters of a
// claim batch in one statement (batchStartSQL). It returns one Claimed per
// start, nil where another holder got the cluster's lock since
// lockRunnableSQL looked (a manual Acquire does not lock the cluster row).
func (s executor) startJobs(ctx context.Context, worker string, ttl time.Duration, starts []jobStart) ([]*store.Claimed, error) {
	n := len(starts)
	jobIDs, clusterIDs, to := make([]string, n), make([]string, n), make([]string, n)
	for i, st := range starts {
		jobIDs[i], clusterIDs[i], to[i] = st.job.ID, st.cluster.ID, string(st.to)
	}
	rows, err := s.q.Query(ctx, batchStartSQL.sql, batchStartSQL.args(pgx.NamedArgs{"job_ids": jobIDs,
		"cluster_ids": clusterIDs, "to": to, "worker": worker, "now": s.now(), "ttl": ttl})...)
	if err != nil {
		return nil, mapError(ctx, err, "start jobs")
	}
	defer rows.Close()
	out := make([]*store.Claimed, n)
	for rows.Next() {
		var ord int64
		var moved bool
		var lr lockRow
		var jr jobRow
		if rows.RawValues()[2+len(lockColumns)] == nil { // the job's id: it did not start
			return nil, fmt.Errorf("start jobs: a lock was granted for a job that was not startable")
		}
		dests := append(append([]any{&ord, &moved}, lr.dests()...), jr.dests()...)
		if err := rows.Scan(dests...); err != nil {
			return nil, mapError(ctx, err, "start jobs")
		}
		st := starts[ord-1]
		job, lock := jr.value(), lr.value()
		cluster := *st.cluster
		if moved != (st.to != cluster.Status) {
			return nil, fmt.Errorf("start job %s: cluster %s did not move from %s to %s", job.ID, cluster.ID, cluster.Status, st.to)
		}
		if moved {
			// The same statement, hence the same now, as the job's write.
			cluster.Status, cluster.UpdatedAt = st.to, job.UpdatedAt
		}
		out[ord-1] = &store.Claimed{Job: job, Cluster: &cluster, Lock: lock}
	}
	return out, mapError(ctx, rows.Err(), "start jobs")
}

// getJobs reads the jobs in one statement: one per ID, in order, nil for
// an ID no job has.
func (s executor) getJobs(ctx context.Context, ids []string) ([]*store.Job, error) {
	js, err := jobs.all(ctx, s.q, batchGetJobsSQL, pgx.NamedArgs{"ids": ids})
	if err != nil {
		return nil, mapError(ctx, err, "get jobs")
	}
	byID := make(map[string]*store.Job, len(js))
	for _, j := range js {
		byID[j.ID] = j
	}
	out := make([]*store.Job, len(ids))
	for i, id := range ids {
		out[i] = byID[id]
	}
	return out, nil
}

// jobEnd is one fenced write of a finish batch.
type jobEnd struct {
	item store.JobsFinishItem
	end  store.JobEnding
}

// endJobs locks the batch's clusters (batchLockClustersSQL), then makes
// the fenced writes, cluster moves and lock releases in one statement
// (batchEndSQL). It returns one job per end, as written, or nil where the
// fence refused the write.
func (s executor) endJobs(ctx context.Context, ends []jobEnd) ([]*store.Job, error) {
	n := len(ends)
	clusterIDs, jobIDs, statuses := make([]string, n), make([]string, n), make([]string, n)
	codes, msgs, endStatuses := make([]string, n), make([]string, n), make([]string, n)
	tokens, afters, md := make([]int64, n), make([]time.Duration, n), make([]*string, n)
	for i, e := range ends {
		l := e.item.Lock
		clusterIDs[i], jobIDs[i], tokens[i] = l.ClusterID, l.JobID, l.Token
		statuses[i], codes[i], msgs[i], afters[i] = string(e.end.Status), e.end.Code, e.end.Message, e.end.RetryAfter
		endStatuses[i] = string(e.end.Cluster)
		if len(e.end.Metadata) > 0 {
			md[i] = jsonText(e.end.Metadata)
		}
	}
	if _, err := s.q.Exec(ctx, batchLockClustersSQL.sql, batchLockClustersSQL.args(pgx.NamedArgs{"ids": clusterIDs})...); err != nil {
		return nil, mapError(ctx, err, "lock clusters")
	}
	rows, err := s.q.Query(ctx, batchEndSQL.sql, batchEndSQL.args(pgx.NamedArgs{"cluster_ids": clusterIDs,
		"job_ids": jobIDs, "tokens": tokens, "statuses": statuses, "codes": codes, "messages": msgs, "afters": afters,
		"metadata": md, "end_statuses": endStatuses, "now": s.now()})...)
	if err != nil {
		return nil, mapError(ctx, err, "end jobs")
	}
	defer rows.Close()
	out := make([]*store.Job, n)
	for rows.Next() {
		var ord int64
		var from *store.ClusterStatus
		var moved bool
		var jr jobRow
		if err := rows.Scan(append([]any{&ord, &from, &moved}, jr.dests()...)...); err != nil {
			return nil, mapError(ctx, err, "end jobs")
		}
		e := ends[ord-1]
		if from != nil && *from != e.end.Cluster && !moved {
			return nil, &store.TransitionError{Entity: "cluster", ID: e.item.Lock.ClusterID, From: string(*from), To: string(e.end.Cluster)}
		}
		out[ord-1] = jr.value()
	}
	return out, mapError(ctx, rows.Err(), "end jobs")
}

// logEvents appends the events in one statement, setting each CreatedAt.
func (s executor) logEvents(ctx context.Context, events []*store.AuditEvent) error {
	n := len(events)
	ids, actors, actions, statuses := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	clusters, jobIDs, users, md := make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
	ips, agents := make([]*string, n), make([]*string, n)
	for i, e := range events {
		ids[i], actors[i], actions[i], statuses[i] = e.ID, e.Actor, e.Action, string(e.Status)
		clusters[i], jobIDs[i], users[i], agents[i] = e.TargetClusterID, e.TargetJobID, e.TargetUserID, e.UserAgent
		if e.Metadata != nil {
			md[i] = jsonText(e.Metadata)
		}
		if e.IPAddress != nil {
			ips[i] = new(e.IPAddress.String())
		}
	}
	var created time.Time
	rows, err := s.q.Query(ctx, batchLogSQL.sql, batchLogSQL.args(pgx.NamedArgs{"now": s.now(), "ids": ids,
		"actors": actors, "actions": actions, "cluster_ids": clusters, "job_ids": jobIDs, "user_ids": users,
		"statuses": statuses, "metadata": md, "ips": ips, "user_agents": agents})...)
	if err != nil {
		return mapError(ctx, err, "log audit events")
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&created); err != nil {
			return mapError(ctx, err, "log audit events")
		}
	}
	if err := rows.Err(); err != nil {
		return mapError(ctx, err, "log audit events")
	}
	for _, e := range events {
		e.CreatedAt = created.UTC() // one statement, one now
	}
	return nil
}

// jsonText is a map's JSON object, for a jsonb[] element.
func jsonText(m map[string]string) *string {
	js, _ := json.Marshal(m) // a map of strings always marshals
	return new(string(js))
}
