-- ocpstore's Store.Claim then Store.Finish (a success), as the store runs
-- them for a job whose cluster status the job keeps (a day-2 job on a
-- READY cluster, so neither transaction moves the cluster): two READ
-- COMMITTED transactions, the store's statements in the store's order.
-- Claim is ClaimMany of one job (the backend's JobsClaim): LockRunnable,
-- the batch start (lock, job, cluster in one statement), the audit events
-- in one statement. Finish is FinishMany of one item (JobsFinish): the
-- jobs read, the clusters locked, the batch end (fenced write, cluster,
-- release in one statement), the audit events. When nothing is runnable,
-- Claim's transaction commits after the LockRunnable query (ErrNoJob). The
-- statements are the store's own text, with pgbench variables for its
-- parameters (one-element arrays for its array parameters), NULL for its
-- "now" (the store passes NULL when no clock is injected; pgbench
-- variables cannot be NULL) and one column alias (j.id AS job_id, so that
-- \aset keeps the job's ID apart from the cluster's).
-- store/postgres/pgbench_scripts_test.go checks that they match.
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
-- JobStore.LockRunnable's query, JobsClaim's first
SELECT j.id AS job_id, j.cluster_id, j.job_type, j.status, j.attempt, j.max_attempts, j.error_code,
  j.error_message, j.retry_at, j.started_at, j.ended_at, j.created_at, j.updated_at, j.metadata, c.id, c.name,
  c.platform, c.cluster_type, c.version, c.profile, c.region, c.base_domain, c.owner, c.owner_id, c.team,
  c.cost_center, c.status, c.requested_by, c.ttl_hours, c.destroy_at, c.created_at, c.updated_at,
  c.destroyed_at, c.request_tags, c.effective_tags, c.ssh_public_key, c.offhours_opt_in, c.work_hours_enabled,
  c.work_hours_start, c.work_hours_end, c.work_days, c.preserve_on_failure, c.credentials_mode FROM jobs j
  JOIN clusters c ON c.id = j.cluster_id WHERE j.status IN ('PENDING', 'RETRYING') AND NOT j.waiting AND
  (j.status = 'PENDING' OR j.retry_at <= COALESCE(NULL::timestamptz, statement_timestamp())) AND j.job_type = ANY(:types::text[])
  AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.cluster_id = j.cluster_id AND o.status IN ('PENDING',
  'RUNNING', 'RETRYING') AND (o.created_at, o.id) < (j.created_at, j.id)) AND NOT COALESCE((SELECT
  l.released_at IS NULL AND l.expires_at > COALESCE(NULL::timestamptz, statement_timestamp()) FROM
  job_locks l WHERE l.cluster_id = j.cluster_id), false) ORDER BY j.created_at, j.id LIMIT :limit FOR NO KEY
  UPDATE OF j, c SKIP LOCKED \aset
\if :attempt >= 0
-- the batch start: the lock granted, the job RUNNING, the cluster moved (none here)
WITH i AS (SELECT * FROM unnest(ARRAY[:job_id]::text[], ARRAY[:cluster_id]::text[], ARRAY['READY']::text[])
  WITH ORDINALITY AS i(job_id, cluster_id, to_status, ord)), a AS (INSERT INTO job_locks AS l (cluster_id,
  job_id, locked_by, token, locked_at, expires_at) SELECT j.cluster_id, j.id, :client_id::text,
  nextval('job_lock_tokens'), COALESCE(NULL::timestamptz, statement_timestamp()), COALESCE(NULL::timestamptz,
  statement_timestamp()) + :ttl::interval FROM i JOIN jobs j ON j.id = i.job_id AND j.cluster_id =
  i.cluster_id ORDER BY j.cluster_id ON CONFLICT (cluster_id) DO UPDATE SET token = CASE WHEN l.job_id =
  EXCLUDED.job_id AND l.locked_by = EXCLUDED.locked_by AND l.released_at IS NULL THEN l.token ELSE
  GREATEST(EXCLUDED.token, l.token + 1) END, locked_at = CASE WHEN l.job_id = EXCLUDED.job_id AND l.locked_by
  = EXCLUDED.locked_by AND l.released_at IS NULL THEN l.locked_at ELSE EXCLUDED.locked_at END, job_id =
  EXCLUDED.job_id, locked_by = EXCLUDED.locked_by, expires_at = EXCLUDED.expires_at, released_at = NULL WHERE
  l.released_at IS NOT NULL OR l.expires_at <= EXCLUDED.locked_at OR (l.job_id = EXCLUDED.job_id AND
  l.locked_by = EXCLUDED.locked_by AND l.released_at IS NULL) RETURNING l.cluster_id, l.job_id, l.locked_by,
  l.token, l.locked_at, l.expires_at), s AS (UPDATE jobs j SET status = 'RUNNING', attempt = j.attempt + 1,
  started_at = COALESCE(NULL::timestamptz, statement_timestamp()), retry_at = NULL, ended_at = NULL,
  updated_at = COALESCE(NULL::timestamptz, statement_timestamp()) FROM a WHERE j.id = a.job_id AND
  j.cluster_id = a.cluster_id AND j.status IN ('PENDING', 'RETRYING') RETURNING j.id, j.cluster_id,
  j.job_type, j.status, j.attempt, j.max_attempts, j.error_code, j.error_message, j.retry_at, j.started_at,
  j.ended_at, j.created_at, j.updated_at, j.metadata), m AS (UPDATE clusters c SET status = i.to_status,
  updated_at = COALESCE(NULL::timestamptz, statement_timestamp()) FROM s JOIN i ON i.job_id = s.id WHERE c.id
  = s.cluster_id AND c.status <> i.to_status RETURNING c.id), f AS (UPDATE jobs q SET waiting = true FROM
  (SELECT o.id FROM jobs o JOIN s h ON o.cluster_id = h.cluster_id AND (o.created_at, o.id) > (h.created_at,
  h.id) WHERE o.status IN ('PENDING', 'RETRYING') AND NOT o.waiting FOR NO KEY UPDATE OF o SKIP LOCKED) k
  WHERE q.id = k.id) SELECT i.ord, m.id IS NOT NULL AS moved,
  a.cluster_id, a.job_id, a.locked_by, a.token, a.locked_at, a.expires_at, s.id, s.cluster_id, s.job_type,
  s.status, s.attempt, s.max_attempts, s.error_code, s.error_message, s.retry_at, s.started_at, s.ended_at,
  s.created_at, s.updated_at, s.metadata FROM i JOIN a ON a.job_id = i.job_id LEFT JOIN s ON s.id = a.job_id
  LEFT JOIN m ON m.id = a.cluster_id ORDER BY i.ord \aset
-- the job.start audit event
INSERT INTO audit_events (id, actor, action, target_cluster_id, target_job_id, target_user_id, status,
  metadata, ip_address, user_agent, created_at) SELECT id, actor, action, cluster_id, job_id, user_id::uuid,
  status, md, ip::inet, ua, COALESCE(NULL::timestamptz, statement_timestamp()) FROM
  unnest(ARRAY[:start_id]::text[], ARRAY[:client_id]::text[], ARRAY[:act_start]::text[],
  ARRAY[:cluster_id]::text[], ARRAY[:job_id]::text[], ARRAY[NULL]::text[], ARRAY[:ok]::text[],
  ARRAY[:md_start]::jsonb[], ARRAY[NULL]::text[], ARRAY[NULL]::text[]) AS e(id, actor, action, cluster_id,
  job_id, user_id, status, md, ip, ua) RETURNING created_at;
COMMIT;
BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE;
-- JobsFinish: the jobs
SELECT id, cluster_id, job_type, status, attempt, max_attempts, error_code, error_message, retry_at,
  started_at, ended_at, created_at, updated_at, metadata FROM jobs WHERE id = ANY(ARRAY[:job_id]::text[]);
-- the clusters, locked in ID order before the lock rows
SELECT id FROM clusters WHERE id = ANY(ARRAY[:cluster_id]::text[]) ORDER BY id FOR NO KEY UPDATE;
-- the batch end: the fenced write, the cluster's end status, the release
WITH i AS (SELECT * FROM unnest(ARRAY[:cluster_id]::text[], ARRAY[:job_id]::text[], ARRAY[:token]::bigint[],
  ARRAY['SUCCEEDED']::text[], ARRAY['']::text[], ARRAY['']::text[], ARRAY['0']::interval[],
  ARRAY[:md_job]::jsonb[], ARRAY['READY']::text[]) WITH ORDINALITY AS i(cluster_id, job_id, token, status,
  code, msg, after, md, end_status, ord)), l AS (SELECT jl.cluster_id, jl.job_id FROM job_locks jl JOIN i ON
  jl.cluster_id = i.cluster_id AND jl.job_id = i.job_id AND jl.token = i.token AND (jl.released_at IS NULL) IS TRUE
  ORDER BY jl.cluster_id FOR NO KEY UPDATE OF jl), w AS (UPDATE jobs j SET status = i.status, error_code =
  CASE WHEN i.status = 'SUCCEEDED' THEN j.error_code ELSE i.code END, error_message = CASE WHEN i.status =
  'SUCCEEDED' THEN j.error_message ELSE i.msg END, retry_at = CASE WHEN i.status = 'RETRYING' THEN
  COALESCE(NULL::timestamptz, statement_timestamp()) + i.after ELSE j.retry_at END, ended_at = CASE WHEN
  i.status = 'RETRYING' THEN NULL ELSE COALESCE(NULL::timestamptz, statement_timestamp()) END, updated_at =
  COALESCE(NULL::timestamptz, statement_timestamp()), metadata = CASE WHEN i.md IS NULL THEN j.metadata ELSE
  COALESCE(j.metadata, '{}'::jsonb) || i.md END FROM l JOIN i ON i.cluster_id = l.cluster_id AND i.job_id =
  l.job_id WHERE j.id = l.job_id AND j.cluster_id = l.cluster_id AND (j.status = 'RUNNING') IS TRUE RETURNING i.ord,
  i.token, i.end_status, j.id, j.cluster_id, j.job_type, j.status, j.attempt, j.max_attempts, j.error_code,
  j.error_message, j.retry_at, j.started_at, j.ended_at, j.created_at, j.updated_at, j.metadata), cl AS
  (SELECT c.id, c.status, w.end_status FROM clusters c JOIN w ON c.id = w.cluster_id WHERE w.end_status <> ''
  FOR NO KEY UPDATE OF c), m AS (UPDATE clusters c SET status = cl.end_status, updated_at =
  COALESCE(NULL::timestamptz, statement_timestamp()), destroyed_at = CASE WHEN cl.end_status = 'DESTROYED'
  THEN COALESCE(NULL::timestamptz, statement_timestamp()) ELSE c.destroyed_at END FROM cl WHERE c.id = cl.id
  AND cl.status <> cl.end_status AND EXISTS (SELECT 1 FROM (VALUES ('PENDING', 'CREATING'), ('CREATING',
  'READY'), ('CREATING', 'FAILED'), ('READY', 'HIBERNATING'), ('READY', 'DESTROYING'), ('HIBERNATING',
  'READY'), ('HIBERNATING', 'HIBERNATED'), ('HIBERNATED', 'RESUMING'), ('HIBERNATED', 'DESTROYING'),
  ('RESUMING', 'READY'), ('RESUMING', 'HIBERNATED'), ('DESTROYING', 'DESTROY_VERIFYING'), ('DESTROYING',
  'DESTROY_FAILED'), ('DESTROYING', 'DESTROYED'), ('DESTROY_VERIFYING', 'DESTROY_FAILED'),
  ('DESTROY_VERIFYING', 'DESTROYED'), ('DESTROY_FAILED', 'DESTROYING'), ('FAILED', 'DESTROYING')) AS e(f, t)
  WHERE e.f = cl.status AND e.t = cl.end_status) RETURNING c.id), d AS (UPDATE job_locks dl SET released_at =
  COALESCE(NULL::timestamptz, statement_timestamp()) FROM w WHERE dl.cluster_id = w.cluster_id AND dl.job_id =
  w.id AND dl.token = w.token AND (dl.released_at IS NULL) IS TRUE), u AS (UPDATE jobs n SET waiting = false
  FROM w e WHERE e.status NOT IN ('PENDING', 'RUNNING', 'RETRYING') AND n.id = (SELECT o.id FROM jobs o WHERE
  o.cluster_id = e.cluster_id AND o.status IN ('PENDING', 'RUNNING', 'RETRYING') AND o.waiting AND o.id <> e.id
  ORDER BY o.created_at, o.id LIMIT 1)) SELECT w.ord, cl.status, m.id IS NOT NULL, w.id,
  w.cluster_id, w.job_type, w.status, w.attempt, w.max_attempts, w.error_code, w.error_message, w.retry_at,
  w.started_at, w.ended_at, w.created_at, w.updated_at, w.metadata FROM w LEFT JOIN cl ON cl.id = w.cluster_id
  LEFT JOIN m ON m.id = w.cluster_id ORDER BY w.ord;
-- the job.succeed audit event
INSERT INTO audit_events (id, actor, action, target_cluster_id, target_job_id, target_user_id, status,
  metadata, ip_address, user_agent, created_at) SELECT id, actor, action, cluster_id, job_id, user_id::uuid,
  status, md, ip::inet, ua, COALESCE(NULL::timestamptz, statement_timestamp()) FROM
  unnest(ARRAY[:done_id]::text[], ARRAY[:client_id]::text[], ARRAY[:act_done]::text[],
  ARRAY[:cluster_id]::text[], ARRAY[:job_id]::text[], ARRAY[NULL]::text[], ARRAY[:ok]::text[],
  ARRAY[:md_done]::jsonb[], ARRAY[NULL]::text[], ARRAY[NULL]::text[]) AS e(id, actor, action, cluster_id,
  job_id, user_id, status, md, ip, ua) RETURNING created_at;
COMMIT;
\else
COMMIT;
\endif
