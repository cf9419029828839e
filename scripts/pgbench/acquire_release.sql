-- ocpstore's JobLockStore.Acquire then Release, as the store runs them
-- outside a transaction: each statement on its own (autocommit). An
-- Acquire that finds another holder's live lock returns no row; the store
-- then runs one more statement to tell ErrLockHeld from ErrNotFound, and
-- does not Release. The statements are the store's own text, with
-- pgbench variables for its parameters and NULL for its "now" (the store
-- passes NULL when no clock is injected; pgbench variables cannot be
-- NULL). store/postgres/pgbench_scripts_test.go checks that they match.
--
-- Variables: clusters (clusters 1..clusters are used at random; 1 makes a
-- single hot cluster), ttl (an interval, e.g. '1 minute'). The worker ID is
-- the pgbench client ID. The database needs clusters and jobs whose IDs are
-- 1..clusters, job k belonging to cluster k: `go run . -mode ceiling -keep`
-- in bench/ seeds one (see scripts/pgbench/README.md).
\set cid random(1, :clusters)
\set token 0
INSERT INTO job_locks AS l (cluster_id, job_id, locked_by, token, locked_at, expires_at)
  SELECT j.cluster_id, j.id, :client_id::text, nextval('job_lock_tokens'),
    COALESCE(NULL::timestamptz, statement_timestamp()), COALESCE(NULL::timestamptz, statement_timestamp()) + :ttl::interval
  FROM jobs j WHERE j.id = :cid AND j.cluster_id = :cid
  ON CONFLICT (cluster_id) DO UPDATE SET
    token = CASE WHEN l.job_id = EXCLUDED.job_id AND l.locked_by = EXCLUDED.locked_by AND l.released_at IS NULL THEN l.token ELSE GREATEST(EXCLUDED.token, l.token + 1) END,
    locked_at = CASE WHEN l.job_id = EXCLUDED.job_id AND l.locked_by = EXCLUDED.locked_by AND l.released_at IS NULL THEN l.locked_at ELSE EXCLUDED.locked_at END,
    job_id = EXCLUDED.job_id, locked_by = EXCLUDED.locked_by, expires_at = EXCLUDED.expires_at, released_at = NULL
  WHERE l.released_at IS NOT NULL OR l.expires_at <= EXCLUDED.locked_at OR (l.job_id = EXCLUDED.job_id AND l.locked_by = EXCLUDED.locked_by AND l.released_at IS NULL)
  RETURNING l.cluster_id, l.job_id, l.locked_by, l.token, l.locked_at, l.expires_at \aset
\if :token > 0
UPDATE job_locks SET released_at = COALESCE(NULL::timestamptz, statement_timestamp())
  WHERE cluster_id = :cid AND job_id = :cid AND token = :token AND (released_at IS NULL) IS TRUE;
\else
SELECT EXISTS (SELECT 1 FROM clusters WHERE id = :cid), EXISTS (SELECT 1 FROM jobs WHERE cluster_id = :cid AND id = :cid);
\endif
