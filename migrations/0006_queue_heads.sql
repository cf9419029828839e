-- ocpstore schema, version 6: a claim does not walk a hot cluster's backlog.
--
-- A claim walks jobs_runnable_idx oldest first and rejects every pending
-- job whose cluster has an older unfinished one, so 2,000 jobs queued on a
-- cluster whose head runs made every claim read 2,000 entries. A job is
-- now marked waiting while it is queued behind its cluster's running head,
-- and the runnable index leaves waiting jobs out.
--
-- The store keeps the mark (store/postgres/queue.go): a claim that starts
-- a cluster's head marks the cluster's newer pending and retrying jobs
-- waiting, and every statement that ends a job (Finish, the fenced writes,
-- Cancel, the claim's rejects, RecoverStuck's abandon) clears the mark of
-- its cluster's oldest marked job. A head is never marked, so a mark
-- never hides a runnable job; a job created while its cluster's head runs
-- is unmarked (and walked, and rejected, as before) until the next head
-- starts.
ALTER TABLE jobs ADD COLUMN waiting BOOLEAN NOT NULL DEFAULT false;

DROP INDEX jobs_runnable_idx;
CREATE INDEX jobs_runnable_idx ON jobs (created_at, id)
    WHERE status IN ('PENDING', 'RETRYING') AND NOT waiting;

-- The jobs a head's start marks: a cluster's unmarked pending and retrying
-- jobs, without walking the ones marked already.
CREATE INDEX jobs_cluster_unmarked_idx ON jobs (cluster_id, created_at, id)
    WHERE status IN ('PENDING', 'RETRYING') AND NOT waiting;
