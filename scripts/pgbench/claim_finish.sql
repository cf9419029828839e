-- ocpstore's Store.Claim then Store.Finish (a success), as the store runs
-- them for a job whose cluster status the job keeps (a day-2 job on a
-- READY cluster, so neither transaction moves the cluster): two READ
-- COMMITTED transactions, the store's statements in the store's order.
-- When nothing is runnable, Claim's transaction commits after the
-- LockRunnable query (ErrNoJob). The statements are the store's own text,
-- with pgbench variables for its parameters, NULL for its "now" (the store
-- passes NULL when no clock is injected; pgbench variables cannot be NULL)
-- and one column alias (j.id AS job_id, so that \aset keeps the job's ID
-- apart from the cluster's). store/postgres/pgbench_scripts_test.go checks
-- that they match.
--
-- Variables: n (0 to start; audit IDs count up from it), limit (1),
-- types (the job types, a text[] literal), ttl (an interval), md_start and
-- md_done (the audit metadata, JSON), md_job (the metadata merged into the
-- job), act_start, act_done and ok (audit action and status strings). The
-- worker ID is the pgbench client ID. `go run . -mode ceiling` in bench/
-- prints the full command line it runs (see scripts/pgbench/README.md).
\set n :n + 2
\set start_id 1000000000000000 + :client_id * 1000000000000 + :n
\set done_id :start_id + 1
\set attempt -1
BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE;
-- JobStore.LockRunnable
SELECT j.id AS job_id, j.cluster_id, j.job_type, j.status, j.attempt, j.max_attempts, j.error_code, j.error_message,
    j.retry_at, j.started_at, j.ended_at, j.created_at, j.updated_at, j.metadata, c.id, c.name, c.platform,
    c.cluster_type, c.version, c.profile, c.region, c.base_domain, c.owner, c.owner_id, c.team, c.cost_center,
    c.status, c.requested_by, c.ttl_hours, c.destroy_at, c.created_at, c.updated_at, c.destroyed_at,
    c.request_tags, c.effective_tags, c.ssh_public_key, c.offhours_opt_in, c.work_hours_enabled,
    c.work_hours_start, c.work_hours_end, c.work_days, c.preserve_on_failure, c.credentials_mode
  FROM jobs j JOIN clusters c ON c.id = j.cluster_id
  WHERE j.status IN ('PENDING', 'RETRYING')
    AND (j.status = 'PENDING' OR j.retry_at <= COALESCE(NULL::timestamptz, statement_timestamp()))
    AND j.job_type = ANY(:types::text[])
    AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.cluster_id = j.cluster_id AND o.status IN ('PENDING', 'RUNNING', 'RETRYING') AND (o.created_at, o.id) < (j.created_at, j.id))
    AND NOT EXISTS (SELECT 1 FROM job_locks l WHERE l.cluster_id = j.cluster_id AND l.released_at IS NULL AND l.expires_at > COALESCE(NULL::timestamptz, statement_timestamp()))
  ORDER BY j.created_at, j.id LIMIT :limit FOR NO KEY UPDATE OF j, c SKIP LOCKED \aset
\if :attempt >= 0
-- JobLockStore.Acquire
INSERT INTO job_locks AS l (cluster_id,job_id,locked_by,token,locked_at,expires_at)
  SELECT j.cluster_id, j.id, :client_id::text, nextval('job_lock_tokens'),
    COALESCE(NULL::timestamptz, statement_timestamp()), COALESCE(NULL::timestamptz, statement_timestamp()) + :ttl::interval
  FROM jobs j WHERE j.id = :job_id AND j.cluster_id = :cluster_id
  ON CONFLICT (cluster_id) DO UPDATE SET
    token = CASE WHEN l.job_id = EXCLUDED.job_id AND l.locked_by = EXCLUDED.locked_by AND l.released_at IS NULL THEN l.token ELSE GREATEST(EXCLUDED.token, l.token + 1) END,
    locked_at = CASE WHEN l.job_id = EXCLUDED.job_id AND l.locked_by = EXCLUDED.locked_by AND l.released_at IS NULL THEN l.locked_at ELSE EXCLUDED.locked_at END,
    job_id = EXCLUDED.job_id, locked_by = EXCLUDED.locked_by, expires_at = EXCLUDED.expires_at, released_at = NULL
  WHERE l.released_at IS NOT NULL OR l.expires_at <= EXCLUDED.locked_at OR (l.job_id = EXCLUDED.job_id AND l.locked_by = EXCLUDED.locked_by AND l.released_at IS NULL)
  RETURNING l.cluster_id, l.job_id, l.locked_by, l.token, l.locked_at, l.expires_at \aset
-- JobStore.MarkStarted
UPDATE jobs SET status = 'RUNNING', attempt = attempt + 1, started_at = COALESCE(NULL::timestamptz, statement_timestamp()),
    retry_at = NULL, ended_at = NULL, updated_at = COALESCE(NULL::timestamptz, statement_timestamp())
  WHERE id = :job_id AND status IN ('PENDING', 'RETRYING')
  RETURNING id, cluster_id, job_type, status, attempt, max_attempts, error_code, error_message, retry_at, started_at, ended_at, created_at, updated_at, metadata;
-- AuditStore.Log
INSERT INTO audit_events (id,actor,action,target_cluster_id,target_job_id,target_user_id,status,metadata,ip_address,user_agent,created_at)
  VALUES (:start_id,:client_id,:act_start,:cluster_id,:job_id,NULL,:ok,:md_start,NULL,NULL,COALESCE(NULL::timestamptz, statement_timestamp()))
  RETURNING created_at;
COMMIT;
BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE;
-- JobStore.GetByID
SELECT id, cluster_id, job_type, status, attempt, max_attempts, error_code, error_message, retry_at, started_at, ended_at, created_at, updated_at, metadata
  FROM jobs WHERE id = :job_id;
-- ClusterStore.GetByIDForUpdate
SELECT id, name, platform, cluster_type, version, profile, region, base_domain, owner, owner_id, team, cost_center,
    status, requested_by, ttl_hours, destroy_at, created_at, updated_at, destroyed_at, request_tags, effective_tags,
    ssh_public_key, offhours_opt_in, work_hours_enabled, work_hours_start, work_hours_end, work_days,
    preserve_on_failure, credentials_mode
  FROM clusters WHERE id = :cluster_id FOR NO KEY UPDATE;
-- JobStore.MarkSucceeded
WITH l AS (SELECT 1 FROM job_locks WHERE cluster_id = :cluster_id AND job_id = :job_id AND token = :token AND released_at IS NULL FOR NO KEY UPDATE)
  UPDATE jobs SET status = 'SUCCEEDED', ended_at = COALESCE(NULL::timestamptz, statement_timestamp()),
    updated_at = COALESCE(NULL::timestamptz, statement_timestamp()),
    metadata = CASE WHEN :md_job::jsonb IS NULL THEN metadata ELSE COALESCE(metadata, '{}'::jsonb) || :md_job::jsonb END
  WHERE id = :job_id AND cluster_id = :cluster_id AND status = 'RUNNING' AND EXISTS (SELECT 1 FROM l)
  RETURNING id, cluster_id, job_type, status, attempt, max_attempts, error_code, error_message, retry_at, started_at, ended_at, created_at, updated_at, metadata;
-- JobLockStore.Release
UPDATE job_locks SET released_at = COALESCE(NULL::timestamptz, statement_timestamp())
  WHERE cluster_id = :cluster_id AND job_id = :job_id AND token = :token AND released_at IS NULL;
-- AuditStore.Log
INSERT INTO audit_events (id,actor,action,target_cluster_id,target_job_id,target_user_id,status,metadata,ip_address,user_agent,created_at)
  VALUES (:done_id,:client_id,:act_done,:cluster_id,:job_id,NULL,:ok,:md_done,NULL,NULL,COALESCE(NULL::timestamptz, statement_timestamp()))
  RETURNING created_at;
COMMIT;
\else
COMMIT;
\endif
