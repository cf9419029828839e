-- ocpstore schema, version 4: identifiers compare byte by byte.
--
-- Every listing breaks ties on the row ID (ORDER BY created_at, id; keyset
-- pages continue after (created_at, id)), and IDs were compared in the
-- database's default collation. On a database created with a linguistic
-- collation (en_US, an ICU locale) "clu_B" sorts after "clu_a" and "_" is
-- all but ignored, while the memory backend, and a C.UTF-8 database,
-- compare bytes: the two backends ordered ties differently. The "C"
-- collation makes every comparison of an ID byte order on any database;
-- it is also the cheaper comparison.
--
-- Each ID column, and each column that holds or references one, gets it:
-- a foreign key's columns must share their collation with the key they
-- reference. Changing a column's collation keeps its rows (no table
-- rewrite) and rebuilds the indexes on it, so the (created_at, id) indexes
-- serve the queries as before, now in byte order.
ALTER TABLE clusters ALTER COLUMN id TYPE VARCHAR(64) COLLATE "C";
ALTER TABLE jobs ALTER COLUMN id TYPE VARCHAR(64) COLLATE "C",
    ALTER COLUMN cluster_id TYPE VARCHAR(64) COLLATE "C";
ALTER TABLE job_locks ALTER COLUMN cluster_id TYPE VARCHAR(64) COLLATE "C",
    ALTER COLUMN job_id TYPE VARCHAR(64) COLLATE "C";
ALTER TABLE idempotency_keys ALTER COLUMN id TYPE VARCHAR(64) COLLATE "C";
ALTER TABLE rbac_mappings ALTER COLUMN id TYPE VARCHAR(64) COLLATE "C";
ALTER TABLE audit_events ALTER COLUMN id TYPE VARCHAR(64) COLLATE "C",
    ALTER COLUMN target_cluster_id TYPE VARCHAR(64) COLLATE "C",
    ALTER COLUMN target_job_id TYPE VARCHAR(64) COLLATE "C";
ALTER TABLE cluster_outputs ALTER COLUMN id TYPE VARCHAR(64) COLLATE "C",
    ALTER COLUMN cluster_id TYPE VARCHAR(64) COLLATE "C";
ALTER TABLE cluster_artifacts ALTER COLUMN id TYPE VARCHAR(64) COLLATE "C",
    ALTER COLUMN cluster_id TYPE VARCHAR(64) COLLATE "C";
ALTER TABLE usage_samples ALTER COLUMN id TYPE VARCHAR(64) COLLATE "C",
    ALTER COLUMN cluster_id TYPE VARCHAR(64) COLLATE "C";
