package postgres

import (
	"strings"

	"github.com/ocpctl/ocpstore/store"
)

// The worker operations' one-statement forms (claim.go): Claim and Finish
// each send one data-modifying statement in the common case, which does
// all of the operation's writes or none of them, so outside a transaction
// it runs as one autocommit statement: one round trip, one commit.

// startableSQL is the state machine's start rule as a VALUES list of
// (job type, cluster status, resumed, running status) rows, from
// store.Transition.StartStatus over every job type, cluster status and
// resumed (Attempt > 0) or not: a job may start exactly when its row is
// in the list, and then moves its cluster to the row's running status.
var startsSQL = func() string {
	var rows []string
	for _, jt := range store.JobTypes() {
		tr, _ := store.TransitionFor(jt)
		for _, from := range store.ClusterStatuses() {
			for _, resumed := range []bool{false, true} {
				if to, ok := tr.StartStatus(from, resumed); ok {
					b := "false"
					if resumed {
						b = "true"
					}
					rows = append(rows, "("+literals(jt)+", "+literals(from)+", "+b+", "+literals(to)+")")
				}
			}
		}
	}
	return "(VALUES " + strings.Join(rows, ", ") + ")"
}()

// endsSQL is the state machine's end statuses as a VALUES list of (job
// type, success status, failure status) rows, from store.Transitions.
var endsSQL = func() string {
	var rows []string
	for _, tr := range store.Transitions() {
		rows = append(rows, "("+literals(tr.JobType)+", "+literals(tr.Success, tr.Failure)+")")
	}
	return "(VALUES " + strings.Join(rows, ", ") + ")"
}()

// alias renders "col AS prefixcol" for each column.
func alias(prefix string, columns []string) []string {
	out := make([]string, len(columns))
	for i, c := range columns {
		out[i] = c + " AS " + prefix + c[strings.IndexByte(c, '.')+1:]
	}
	return out
}

// prefixed returns the columns with prefix, qualified by alias.
func prefixed(alias, prefix string, columns []string) []string {
	out := make([]string, len(columns))
	for i, c := range columns {
		out[i] = alias + "." + prefix + c
	}
	return out
}

// auditMetadataSQL renders the metadata of a worker operation's audit
// event (store.JobAuditEvent) from a written job row j and a token.
func auditMetadataSQL(j, token string) string {
	return "jsonb_build_object(" + literals(store.AuditKeyJobType) + ", " + j + ".job_type, " +
		literals(store.AuditKeyJobStatus) + ", " + j + ".status, " +
		literals(store.AuditKeyAttempt) + ", " + j + ".attempt::text, " +
		literals(store.AuditKeyToken) + ", " + token + "::text)"
}

var (
	// claimSQL is the common case of JobsClaim in one statement:
	//
	//   - k: the runnable jobs as lockRunnableSQL picks them, in the same
	//     query shape (oldest first, FIFO per cluster, clusters without a
	//     live lock, locked rows skipped), job and cluster rows locked FOR
	//     NO KEY UPDATE;
	//   - r: each with its running status from startsSQL (NULL: it may not
	//     start);
	//   - a: the lock grants, in cluster order, with lockConflictSQL's
	//     fencing upsert (no row where another holder took the lock since
	//     r looked); only if every candidate may start, else the statement
	//     writes nothing and the caller takes the slow path (rejects);
	//   - s: the granted jobs RUNNING (Attempt+1);
	//   - m: their clusters in the running status where that differs;
	//   - e: a job.start audit event per started job, with the next IDs of
	//     @audit_ids in claim order.
	//
	// One row per candidate, oldest first: whether it may start, the lock
	// and the job (NULL where it did not start), its cluster as read, and
	// whether the cluster moved.
	claimSQL = named("WITH st(job_type, from_status, resumed, to_status) AS " + startsSQL + "," +
		" k AS MATERIALIZED (SELECT " + joinColumns(qualify("j", jobColumns)) + ", " +
		joinColumns(alias("c_", qualify("c", clusterColumns))) +
		" FROM jobs j JOIN clusters c ON c.id = j.cluster_id" +
		" WHERE j.status IN (" + startableSQL + ") AND (j.status = " + literals(store.JobPending) +
		" OR j.retry_at <= " + nowSQL + ") AND j.job_type = ANY(@types::text[])" +
		" AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.cluster_id = j.cluster_id AND o.status IN (" + activeSQL + ")" +
		" AND (o.created_at, o.id) < (j.created_at, j.id))" +
		" AND NOT EXISTS (SELECT 1 FROM job_locks l WHERE l.cluster_id = j.cluster_id AND l." + heldSQL +
		" AND l.expires_at > " + nowSQL + ")" +
		" ORDER BY j.created_at, j.id LIMIT @limit FOR NO KEY UPDATE OF j, c SKIP LOCKED)," +
		" r AS MATERIALIZED (SELECT k.*, st.to_status FROM k LEFT JOIN st ON st.job_type = k.job_type" +
		" AND st.from_status = k.c_status AND st.resumed = (k.attempt > 0))," +
		" a AS (INSERT INTO job_locks AS l (" + joinColumns(lockColumns) + ")" +
		" SELECT r.cluster_id, r.id, @worker::text, nextval('job_lock_tokens'), " + nowSQL + ", " + nowSQL + " + @ttl::interval" +
		" FROM r WHERE NOT EXISTS (SELECT 1 FROM r WHERE r.to_status IS NULL) ORDER BY r.cluster_id " +
		lockConflictSQL + " RETURNING " + joinColumns(qualify("l", lockColumns)) + ")," +
		" s AS (UPDATE jobs j SET status = " + literals(store.JobRunning) + ", attempt = j.attempt + 1," +
		" started_at = " + nowSQL + ", retry_at = NULL, ended_at = NULL, updated_at = " + nowSQL +
		" FROM a WHERE j.id = a.job_id AND j.cluster_id = a.cluster_id AND j.status IN (" + startableSQL + ")" +
		" RETURNING " + joinColumns(qualify("j", jobColumns)) + ", a.token)," +
		" m AS (UPDATE clusters c SET status = r.to_status, updated_at = " + nowSQL +
		" FROM s JOIN r ON r.id = s.id WHERE c.id = s.cluster_id AND c.status <> r.to_status RETURNING c.id)," +
		" e AS (INSERT INTO audit_events (" + joinColumns(auditColumns) + ")" +
		" SELECT (@audit_ids::text[])[row_number() OVER (ORDER BY s.created_at, s.id)], @worker::text, " +
		literals(store.ActionJobStart) + ", s.cluster_id, s.id, NULL, " + literals(store.AuditSuccess) + ", " +
		auditMetadataSQL("s", "s.token") + ", NULL, NULL, " + nowSQL + " FROM s)" +
		" SELECT r.to_status IS NOT NULL AS startable, m.id IS NOT NULL AS moved, " + joinColumns(qualify("a", lockColumns)) + ", " +
		joinColumns(qualify("s", jobColumns)) + ", " + joinColumns(prefixed("r", "c_", clusterColumns)) +
		" FROM r LEFT JOIN a ON a.job_id = r.id LEFT JOIN s ON s.id = r.id LEFT JOIN m ON m.id = r.cluster_id" +
		" ORDER BY r.created_at, r.id")

	// finishSQL is JobsFinish in one statement, each item's values passed
	// as parallel arrays:
	//
	//   - e: each item's job as read and its ending, as
	//     store.JobsFinishItem.Ending decides it (the end statuses from
	//     endsSQL);
	//   - cl: the clusters the ends move (end status set and not there
	//     already), locked in ID order, with their latest status;
	//   - l: the lock rows still carrying the items' tokens, locked in
	//     cluster order after cl (its InitPlan reads cl first: see "Lock
	//     order" in the package documentation);
	//   - r: the moves the state machine refuses for items the fence lets
	//     through: then nothing is written (the whole call fails with a
	//     *store.TransitionError);
	//   - w: the fenced job writes, only while RUNNING under such a lock;
	//   - m: the cluster moves (destroyed_at set on DESTROYED);
	//   - d: the lock releases;
	//   - ev: the end's audit event per written job.
	//
	// One row per item, in order: whether its job exists, the refused move
	// (NULLs if none) and the job as written (NULLs: the fence refused).
	finishSQL = named("WITH i AS (SELECT * FROM unnest(@cluster_ids::text[], @job_ids::text[], @tokens::bigint[]," +
		" @statuses::text[], @codes::text[], @messages::text[], @afters::interval[], @metadata::jsonb[]," +
		" @audit_ids::text[], @actors::text[])" +
		" WITH ORDINALITY AS i(cluster_id, job_id, token, want, code, msg, after, md, audit_id, actor, ord))," +
		" tr(job_type, success, failure) AS " + endsSQL + "," +
		" x AS (SELECT i.*, j.status AS job_status, j.attempt," +
		" i.want = " + literals(store.JobSucceeded) + " AS ok," +
		" i.want = " + literals(store.JobRetrying) + " AND j.attempt < j.max_attempts AS retry," +
		" i.want = " + literals(store.JobRetrying) + " AND j.attempt >= j.max_attempts AS exhausted," +
		" j.max_attempts, tr.success, tr.failure" +
		" FROM i JOIN jobs j ON j.id = i.job_id JOIN tr ON tr.job_type = j.job_type)," +
		" e AS MATERIALIZED (SELECT x.ord, x.cluster_id, x.job_id, x.token, x.job_status, x.attempt, x.md, x.audit_id, x.actor," +
		" x.after, x.ok, x.retry," +
		" CASE WHEN x.ok THEN " + literals(store.JobSucceeded) + " WHEN x.retry THEN " + literals(store.JobRetrying) +
		" ELSE " + literals(store.JobFailed) + " END AS status," +
		" CASE WHEN x.ok THEN NULL ELSE x.code END AS code," +
		" CASE WHEN x.ok THEN NULL WHEN x.exhausted THEN format('attempts exhausted (%s of %s): %s', x.attempt," +
		" x.max_attempts, x.msg) ELSE x.msg END AS msg," +
		" CASE WHEN x.ok THEN x.success WHEN x.retry THEN '' ELSE x.failure END AS end_status," +
		" CASE WHEN x.ok THEN " + literals(store.ActionJobSucceed) + " WHEN x.retry THEN " + literals(store.ActionJobRetry) +
		" ELSE " + literals(store.ActionJobFail) + " END AS action," +
		" CASE WHEN x.ok THEN " + literals(store.AuditSuccess) + " ELSE " + literals(store.AuditFailure) + " END AS audit_status" +
		" FROM x)," +
		" cl AS MATERIALIZED (SELECT c.id, c.status, e.end_status FROM clusters c JOIN e ON c.id = e.cluster_id" +
		" WHERE e.end_status <> '' AND c.status <> e.end_status ORDER BY c.id FOR NO KEY UPDATE OF c)," +
		" l AS MATERIALIZED (SELECT jl.cluster_id, jl.job_id, jl.token FROM job_locks jl JOIN i ON jl.cluster_id = i.cluster_id" +
		" AND jl.job_id = i.job_id AND jl.token = i.token AND jl." + heldSQL + " WHERE (SELECT count(*) FROM cl) >= 0" +
		" ORDER BY jl.cluster_id FOR NO KEY UPDATE OF jl)," +
		" r AS MATERIALIZED (SELECT e.ord, cl.id, cl.status AS from_status, cl.end_status FROM cl JOIN e ON e.cluster_id = cl.id" +
		" JOIN l ON l.cluster_id = e.cluster_id AND l.job_id = e.job_id AND l.token = e.token" +
		" WHERE e.job_status = " + runningSQL + " AND NOT EXISTS (SELECT 1 FROM " + clusterEdgesSQL + " AS g(f, t)" +
		" WHERE g.f = cl.status AND g.t = cl.end_status))," +
		" w AS (UPDATE jobs j SET status = e.status," +
		" error_code = CASE WHEN e.ok THEN j.error_code ELSE e.code END," +
		" error_message = CASE WHEN e.ok THEN j.error_message ELSE e.msg END," +
		" retry_at = CASE WHEN e.retry THEN " + nowSQL + " + e.after ELSE j.retry_at END," +
		" ended_at = CASE WHEN e.retry THEN NULL ELSE " + nowSQL + " END," +
		" updated_at = " + nowSQL + "," +
		" metadata = CASE WHEN NOT e.ok OR e.md IS NULL THEN j.metadata ELSE COALESCE(j.metadata, '{}'::jsonb) || e.md END" +
		" FROM l JOIN e ON e.cluster_id = l.cluster_id AND e.job_id = l.job_id AND e.token = l.token" +
		" WHERE j.id = l.job_id AND j.cluster_id = l.cluster_id AND j.status = " + runningSQL +
		" AND j.attempt = e.attempt AND NOT EXISTS (SELECT 1 FROM r)" +
		" RETURNING e.ord, e.token, e.end_status, e.audit_id, e.actor, e.action, e.audit_status, " +
		joinColumns(qualify("j", jobColumns)) + ")," +
		" m AS (UPDATE clusters c SET status = cl.end_status, updated_at = " + nowSQL + "," +
		" destroyed_at = CASE WHEN cl.end_status = " + literals(store.ClusterDestroyed) + " THEN " + nowSQL +
		" ELSE c.destroyed_at END FROM cl JOIN w ON w.cluster_id = cl.id AND w.end_status = cl.end_status" +
		" WHERE c.id = cl.id RETURNING c.id)," +
		" d AS (UPDATE job_locks dl SET released_at = " + nowSQL + " FROM w WHERE dl.cluster_id = w.cluster_id" +
		" AND dl.job_id = w.id AND dl.token = w.token AND dl." + heldSQL + ")," +
		" ev AS (INSERT INTO audit_events (" + joinColumns(auditColumns) + ")" +
		" SELECT w.audit_id, w.actor, w.action, w.cluster_id, w.id, NULL, w.audit_status, " +
		auditMetadataSQL("w", "w.token") + ", NULL, NULL, " + nowSQL + " FROM w)" +
		" SELECT e.ord IS NOT NULL AS found, r.id AS refused_cluster, r.from_status, r.end_status, " + joinColumns(qualify("w", jobColumns)) +
		" FROM i LEFT JOIN e ON e.ord = i.ord LEFT JOIN r ON r.ord = i.ord LEFT JOIN w ON w.ord = i.ord" +
		" ORDER BY i.ord")
)
