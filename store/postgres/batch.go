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
// (from, to) status pairs, from store.CanTransition: finishSQL checks a
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

// The statements of the worker operations' slow path (claim.go,
// claimRounds): one statement per step for the whole batch, each item's values passed as parallel arrays
// and unnested WITH ORDINALITY, so every row of the result names its item.
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
		" FROM s JOIN i ON i.job_id = s.id WHERE c.id = s.cluster_id AND c.status <> i.to_status RETURNING c.id)" +
		" SELECT i.ord, m.id IS NOT NULL AS moved, " + joinColumns(qualify("a", lockColumns)) + ", " +
		joinColumns(qualify("s", jobColumns)) +
		" FROM i JOIN a ON a.job_id = i.job_id LEFT JOIN s ON s.id = a.job_id LEFT JOIN m ON m.id = a.cluster_id" +
		" ORDER BY i.ord")
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
