-- ocpstore's Store.Claim then Store.Finish (a success), as the store runs
-- them for a job whose cluster status the job keeps (a day-2 job on a
-- READY cluster, so neither statement moves the cluster): one autocommit
-- statement each. Claim is ClaimMany of one job (the backend's JobsClaim,
-- claimSQL): the runnable job picked with SKIP LOCKED, the lock granted
-- with the fencing upsert, the job RUNNING, the cluster moved (none here)
-- and the job.start audit event, in one statement. Finish is FinishMany of
-- one item (JobsFinish, finishSQL): the job's end decided, the clusters it
-- moves locked (none here), the fenced write, the release and the
-- job.succeed audit event, in one statement. When nothing is runnable,
-- Claim's statement returns no row (ErrNoJob) and Finish is skipped. The
-- statements are the store's own text, with pgbench variables for its
-- parameters (one-element arrays for its array parameters) and NULL for
-- its "now" (the store passes NULL when no clock is injected; pgbench
-- variables cannot be NULL). store/postgres/pgbench_scripts_test.go checks
-- that they match.
--
-- Variables: n (0 to start; audit IDs count up from it), limit (1),
-- types (the job types, a text[] literal), ttl (an interval) and md_job
-- (the metadata merged into the job, JSON). The worker ID is the pgbench
-- client ID. `go run . -mode ceiling` in bench/ prints the full command
-- line it runs (see scripts/pgbench/README.md); the variables it still
-- passes for the former audit statements (md_start, md_done, act_start,
-- act_done, ok) are unused.
\set n :n + 2
\set start_id 1000000000000000 + :client_id * 1000000000000 + :n
\set done_id :start_id + 1
\set attempt -1
-- the claim (claimSQL)
WITH st(job_type, from_status, resumed, to_status) AS (VALUES ('CREATE', 'PENDING', false, 'CREATING'),
  ('CREATE', 'PENDING', true, 'CREATING'), ('CREATE', 'CREATING', true, 'CREATING'), ('DESTROY', 'READY',
  false, 'DESTROYING'), ('DESTROY', 'READY', true, 'DESTROYING'), ('DESTROY', 'HIBERNATED', false,
  'DESTROYING'), ('DESTROY', 'HIBERNATED', true, 'DESTROYING'), ('DESTROY', 'DESTROYING', true, 'DESTROYING'),
  ('DESTROY', 'DESTROY_VERIFYING', true, 'DESTROY_VERIFYING'), ('DESTROY', 'DESTROY_FAILED', false,
  'DESTROYING'), ('DESTROY', 'DESTROY_FAILED', true, 'DESTROYING'), ('DESTROY', 'FAILED', false,
  'DESTROYING'), ('DESTROY', 'FAILED', true, 'DESTROYING'), ('JANITOR_DESTROY', 'READY', false, 'DESTROYING'),
  ('JANITOR_DESTROY', 'READY', true, 'DESTROYING'), ('JANITOR_DESTROY', 'HIBERNATED', false, 'DESTROYING'),
  ('JANITOR_DESTROY', 'HIBERNATED', true, 'DESTROYING'), ('JANITOR_DESTROY', 'DESTROYING', true,
  'DESTROYING'), ('JANITOR_DESTROY', 'DESTROY_VERIFYING', true, 'DESTROY_VERIFYING'), ('JANITOR_DESTROY',
  'DESTROY_FAILED', false, 'DESTROYING'), ('JANITOR_DESTROY', 'DESTROY_FAILED', true, 'DESTROYING'),
  ('JANITOR_DESTROY', 'FAILED', false, 'DESTROYING'), ('JANITOR_DESTROY', 'FAILED', true, 'DESTROYING'),
  ('CONFIGURE_EFS', 'READY', false, 'READY'), ('CONFIGURE_EFS', 'READY', true, 'READY'),
  ('PROVISION_SHARED_STORAGE', 'READY', false, 'READY'), ('PROVISION_SHARED_STORAGE', 'READY', true, 'READY'),
  ('UNLINK_SHARED_STORAGE', 'READY', false, 'READY'), ('UNLINK_SHARED_STORAGE', 'READY', true, 'READY'),
  ('HIBERNATE', 'READY', false, 'HIBERNATING'), ('HIBERNATE', 'READY', true, 'HIBERNATING'), ('HIBERNATE',
  'HIBERNATING', true, 'HIBERNATING'), ('RESUME', 'HIBERNATED', false, 'RESUMING'), ('RESUME', 'HIBERNATED',
  true, 'RESUMING'), ('RESUME', 'RESUMING', true, 'RESUMING'), ('POST_CONFIGURE', 'READY', false, 'READY'),
  ('POST_CONFIGURE', 'READY', true, 'READY'), ('POOL_REPLENISH', 'READY', false, 'READY'), ('POOL_REPLENISH',
  'READY', true, 'READY'), ('POOL_CLEAN', 'READY', false, 'READY'), ('POOL_CLEAN', 'READY', true, 'READY'),
  ('POOL_REFRESH', 'READY', false, 'READY'), ('POOL_REFRESH', 'READY', true, 'READY'),
  ('CREATE_WINDOWS_SNAPSHOT', 'READY', false, 'READY'), ('CREATE_WINDOWS_SNAPSHOT', 'READY', true, 'READY')),
  k AS MATERIALIZED (SELECT j.id, j.cluster_id, j.job_type, j.status, j.attempt, j.max_attempts, j.error_code,
  j.error_message, j.retry_at, j.started_at, j.ended_at, j.created_at, j.updated_at, j.metadata, c.id AS c_id,
  c.name AS c_name, c.platform AS c_platform, c.cluster_type AS c_cluster_type, c.version AS c_version,
  c.profile AS c_profile, c.region AS c_region, c.base_domain AS c_base_domain, c.owner AS c_owner, c.owner_id
  AS c_owner_id, c.team AS c_team, c.cost_center AS c_cost_center, c.status AS c_status, c.requested_by AS
  c_requested_by, c.ttl_hours AS c_ttl_hours, c.destroy_at AS c_destroy_at, c.created_at AS c_created_at,
  c.updated_at AS c_updated_at, c.destroyed_at AS c_destroyed_at, c.request_tags AS c_request_tags,
  c.effective_tags AS c_effective_tags, c.ssh_public_key AS c_ssh_public_key, c.offhours_opt_in AS
  c_offhours_opt_in, c.work_hours_enabled AS c_work_hours_enabled, c.work_hours_start AS c_work_hours_start,
  c.work_hours_end AS c_work_hours_end, c.work_days AS c_work_days, c.preserve_on_failure AS
  c_preserve_on_failure, c.credentials_mode AS c_credentials_mode FROM jobs j JOIN clusters c ON c.id =
  j.cluster_id WHERE j.status IN ('PENDING', 'RETRYING') AND (j.status = 'PENDING' OR j.retry_at <=
  COALESCE(NULL::timestamptz, statement_timestamp())) AND j.job_type = ANY(:types::text[]) AND NOT EXISTS
  (SELECT 1 FROM jobs o WHERE o.cluster_id = j.cluster_id AND o.status IN ('PENDING', 'RUNNING', 'RETRYING')
  AND (o.created_at, o.id) < (j.created_at, j.id)) AND NOT EXISTS (SELECT 1 FROM job_locks l WHERE
  l.cluster_id = j.cluster_id AND l.released_at IS NULL AND l.expires_at > COALESCE(NULL::timestamptz,
  statement_timestamp())) ORDER BY j.created_at, j.id LIMIT :limit FOR NO KEY UPDATE OF j, c SKIP LOCKED), r
  AS MATERIALIZED (SELECT k.*, st.to_status FROM k LEFT JOIN st ON st.job_type = k.job_type AND st.from_status
  = k.c_status AND st.resumed = (k.attempt > 0)), a AS (INSERT INTO job_locks AS l (cluster_id, job_id,
  locked_by, token, locked_at, expires_at) SELECT r.cluster_id, r.id, :client_id::text,
  nextval('job_lock_tokens'), COALESCE(NULL::timestamptz, statement_timestamp()), COALESCE(NULL::timestamptz,
  statement_timestamp()) + :ttl::interval FROM r WHERE NOT EXISTS (SELECT 1 FROM r WHERE r.to_status IS NULL)
  ORDER BY r.cluster_id ON CONFLICT (cluster_id) DO UPDATE SET token = CASE WHEN l.job_id = EXCLUDED.job_id
  AND l.locked_by = EXCLUDED.locked_by AND l.released_at IS NULL THEN l.token ELSE GREATEST(EXCLUDED.token,
  l.token + 1) END, locked_at = CASE WHEN l.job_id = EXCLUDED.job_id AND l.locked_by = EXCLUDED.locked_by AND
  l.released_at IS NULL THEN l.locked_at ELSE EXCLUDED.locked_at END, job_id = EXCLUDED.job_id, locked_by =
  EXCLUDED.locked_by, expires_at = EXCLUDED.expires_at, released_at = NULL WHERE l.released_at IS NOT NULL OR
  l.expires_at <= EXCLUDED.locked_at OR (l.job_id = EXCLUDED.job_id AND l.locked_by = EXCLUDED.locked_by AND
  l.released_at IS NULL) RETURNING l.cluster_id, l.job_id, l.locked_by, l.token, l.locked_at, l.expires_at), s
  AS (UPDATE jobs j SET status = 'RUNNING', attempt = j.attempt + 1, started_at = COALESCE(NULL::timestamptz,
  statement_timestamp()), retry_at = NULL, ended_at = NULL, updated_at = COALESCE(NULL::timestamptz,
  statement_timestamp()) FROM a WHERE j.id = a.job_id AND j.cluster_id = a.cluster_id AND j.status IN
  ('PENDING', 'RETRYING') RETURNING j.id, j.cluster_id, j.job_type, j.status, j.attempt, j.max_attempts,
  j.error_code, j.error_message, j.retry_at, j.started_at, j.ended_at, j.created_at, j.updated_at, j.metadata,
  a.token), m AS (UPDATE clusters c SET status = r.to_status, updated_at = COALESCE(NULL::timestamptz,
  statement_timestamp()) FROM s JOIN r ON r.id = s.id WHERE c.id = s.cluster_id AND c.status <> r.to_status
  RETURNING c.id), e AS (INSERT INTO audit_events (id, actor, action, target_cluster_id, target_job_id,
  target_user_id, status, metadata, ip_address, user_agent, created_at) SELECT
  (ARRAY[:start_id]::text[])[row_number() OVER (ORDER BY s.created_at, s.id)], :client_id::text, 'job.start',
  s.cluster_id, s.id, NULL, 'SUCCESS', jsonb_build_object('job_type', s.job_type, 'job_status', s.status,
  'attempt', s.attempt::text, 'token', s.token::text), NULL, NULL, COALESCE(NULL::timestamptz,
  statement_timestamp()) FROM s) SELECT r.to_status IS NOT NULL AS startable, m.id IS NOT NULL AS moved,
  a.cluster_id, a.job_id, a.locked_by, a.token, a.locked_at, a.expires_at, s.id, s.cluster_id, s.job_type,
  s.status, s.attempt, s.max_attempts, s.error_code, s.error_message, s.retry_at, s.started_at, s.ended_at,
  s.created_at, s.updated_at, s.metadata, r.c_id, r.c_name, r.c_platform, r.c_cluster_type, r.c_version,
  r.c_profile, r.c_region, r.c_base_domain, r.c_owner, r.c_owner_id, r.c_team, r.c_cost_center, r.c_status,
  r.c_requested_by, r.c_ttl_hours, r.c_destroy_at, r.c_created_at, r.c_updated_at, r.c_destroyed_at,
  r.c_request_tags, r.c_effective_tags, r.c_ssh_public_key, r.c_offhours_opt_in, r.c_work_hours_enabled,
  r.c_work_hours_start, r.c_work_hours_end, r.c_work_days, r.c_preserve_on_failure, r.c_credentials_mode FROM
  r LEFT JOIN a ON a.job_id = r.id LEFT JOIN s ON s.id = r.id LEFT JOIN m ON m.id = r.cluster_id ORDER BY
  r.created_at, r.id \aset
\if :attempt >= 0
-- the finish (finishSQL)
WITH i AS (SELECT * FROM unnest(ARRAY[:cluster_id]::text[], ARRAY[:job_id]::text[], ARRAY[:token]::bigint[],
  ARRAY['SUCCEEDED']::text[], ARRAY['']::text[], ARRAY['']::text[], ARRAY['0']::interval[],
  ARRAY[:md_job]::jsonb[], ARRAY[:done_id]::text[], ARRAY[:client_id]::text[]) WITH ORDINALITY AS
  i(cluster_id, job_id, token, want, code, msg, after, md, audit_id, actor, ord)), tr(job_type, success,
  failure) AS (VALUES ('CREATE', 'READY', 'FAILED'), ('DESTROY', 'DESTROYED', 'DESTROY_FAILED'),
  ('JANITOR_DESTROY', 'DESTROYED', 'DESTROY_FAILED'), ('HIBERNATE', 'HIBERNATED', 'READY'), ('RESUME',
  'READY', 'HIBERNATED'), ('CONFIGURE_EFS', 'READY', 'READY'), ('PROVISION_SHARED_STORAGE', 'READY', 'READY'),
  ('UNLINK_SHARED_STORAGE', 'READY', 'READY'), ('POST_CONFIGURE', 'READY', 'READY'), ('POOL_REPLENISH',
  'READY', 'READY'), ('POOL_CLEAN', 'READY', 'READY'), ('POOL_REFRESH', 'READY', 'READY'),
  ('CREATE_WINDOWS_SNAPSHOT', 'READY', 'READY')), x AS (SELECT i.*, j.status AS job_status, j.attempt, i.want
  = 'SUCCEEDED' AS ok, i.want = 'RETRYING' AND j.attempt < j.max_attempts AS retry, i.want = 'RETRYING' AND
  j.attempt >= j.max_attempts AS exhausted, j.max_attempts, tr.success, tr.failure FROM i JOIN jobs j ON j.id
  = i.job_id JOIN tr ON tr.job_type = j.job_type), e AS MATERIALIZED (SELECT x.ord, x.cluster_id, x.job_id,
  x.token, x.job_status, x.attempt, x.md, x.audit_id, x.actor, x.after, x.ok, x.retry, CASE WHEN x.ok THEN
  'SUCCEEDED' WHEN x.retry THEN 'RETRYING' ELSE 'FAILED' END AS status, CASE WHEN x.ok THEN NULL ELSE x.code
  END AS code, CASE WHEN x.ok THEN NULL WHEN x.exhausted THEN format('attempts exhausted (%s of %s): %s',
  x.attempt, x.max_attempts, x.msg) ELSE x.msg END AS msg, CASE WHEN x.ok THEN x.success WHEN x.retry THEN ''
  ELSE x.failure END AS end_status, CASE WHEN x.ok THEN 'job.succeed' WHEN x.retry THEN 'job.retry' ELSE
  'job.fail' END AS action, CASE WHEN x.ok THEN 'SUCCESS' ELSE 'FAILURE' END AS audit_status FROM x), cl AS
  MATERIALIZED (SELECT c.id, c.status, e.end_status FROM clusters c JOIN e ON c.id = e.cluster_id WHERE
  e.end_status <> '' AND c.status <> e.end_status ORDER BY c.id FOR NO KEY UPDATE OF c), l AS MATERIALIZED
  (SELECT jl.cluster_id, jl.job_id, jl.token FROM job_locks jl JOIN i ON jl.cluster_id = i.cluster_id AND
  jl.job_id = i.job_id AND jl.token = i.token AND jl.released_at IS NULL WHERE (SELECT count(*) FROM cl) >= 0
  ORDER BY jl.cluster_id FOR NO KEY UPDATE OF jl), r AS MATERIALIZED (SELECT e.ord, cl.id, cl.status AS
  from_status, cl.end_status FROM cl JOIN e ON e.cluster_id = cl.id JOIN l ON l.cluster_id = e.cluster_id AND
  l.job_id = e.job_id AND l.token = e.token WHERE e.job_status = 'RUNNING' AND NOT EXISTS (SELECT 1 FROM
  (VALUES ('PENDING', 'CREATING'), ('CREATING', 'READY'), ('CREATING', 'FAILED'), ('READY', 'HIBERNATING'),
  ('READY', 'DESTROYING'), ('HIBERNATING', 'READY'), ('HIBERNATING', 'HIBERNATED'), ('HIBERNATED',
  'RESUMING'), ('HIBERNATED', 'DESTROYING'), ('RESUMING', 'READY'), ('RESUMING', 'HIBERNATED'), ('DESTROYING',
  'DESTROY_VERIFYING'), ('DESTROYING', 'DESTROY_FAILED'), ('DESTROYING', 'DESTROYED'), ('DESTROY_VERIFYING',
  'DESTROY_FAILED'), ('DESTROY_VERIFYING', 'DESTROYED'), ('DESTROY_FAILED', 'DESTROYING'), ('FAILED',
  'DESTROYING')) AS g(f, t) WHERE g.f = cl.status AND g.t = cl.end_status)), w AS (UPDATE jobs j SET status =
  e.status, error_code = CASE WHEN e.ok THEN j.error_code ELSE e.code END, error_message = CASE WHEN e.ok THEN
  j.error_message ELSE e.msg END, retry_at = CASE WHEN e.retry THEN COALESCE(NULL::timestamptz,
  statement_timestamp()) + e.after ELSE j.retry_at END, ended_at = CASE WHEN e.retry THEN NULL ELSE
  COALESCE(NULL::timestamptz, statement_timestamp()) END, updated_at = COALESCE(NULL::timestamptz,
  statement_timestamp()), metadata = CASE WHEN NOT e.ok OR e.md IS NULL THEN j.metadata ELSE
  COALESCE(j.metadata, '{}'::jsonb) || e.md END FROM l JOIN e ON e.cluster_id = l.cluster_id AND e.job_id =
  l.job_id AND e.token = l.token WHERE j.id = l.job_id AND j.cluster_id = l.cluster_id AND j.status =
  'RUNNING' AND j.attempt = e.attempt AND NOT EXISTS (SELECT 1 FROM r) RETURNING e.ord, e.token, e.end_status,
  e.audit_id, e.actor, e.action, e.audit_status, j.id, j.cluster_id, j.job_type, j.status, j.attempt,
  j.max_attempts, j.error_code, j.error_message, j.retry_at, j.started_at, j.ended_at, j.created_at,
  j.updated_at, j.metadata), m AS (UPDATE clusters c SET status = cl.end_status, updated_at =
  COALESCE(NULL::timestamptz, statement_timestamp()), destroyed_at = CASE WHEN cl.end_status = 'DESTROYED'
  THEN COALESCE(NULL::timestamptz, statement_timestamp()) ELSE c.destroyed_at END FROM cl JOIN w ON
  w.cluster_id = cl.id AND w.end_status = cl.end_status WHERE c.id = cl.id RETURNING c.id), d AS (UPDATE
  job_locks dl SET released_at = COALESCE(NULL::timestamptz, statement_timestamp()) FROM w WHERE dl.cluster_id
  = w.cluster_id AND dl.job_id = w.id AND dl.token = w.token AND dl.released_at IS NULL), ev AS (INSERT INTO
  audit_events (id, actor, action, target_cluster_id, target_job_id, target_user_id, status, metadata,
  ip_address, user_agent, created_at) SELECT w.audit_id, w.actor, w.action, w.cluster_id, w.id, NULL,
  w.audit_status, jsonb_build_object('job_type', w.job_type, 'job_status', w.status, 'attempt',
  w.attempt::text, 'token', w.token::text), NULL, NULL, COALESCE(NULL::timestamptz, statement_timestamp())
  FROM w) SELECT e.ord IS NOT NULL AS found, r.id AS refused_cluster, r.from_status, r.end_status, w.id,
  w.cluster_id, w.job_type, w.status, w.attempt, w.max_attempts, w.error_code, w.error_message, w.retry_at,
  w.started_at, w.ended_at, w.created_at, w.updated_at, w.metadata FROM i LEFT JOIN e ON e.ord = i.ord LEFT
  JOIN r ON r.ord = i.ord LEFT JOIN w ON w.ord = i.ord ORDER BY i.ord;
\endif
