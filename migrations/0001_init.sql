-- ocpstore schema, version 1: the tables of ocpctl's store with what ocpctl
-- lacked: fencing tokens and holder columns on job_locks, retry_at on jobs,
-- foreign keys that tie every row to its cluster, a CHECK per enum (the
-- values must equal the Go enums: TestEnumChecksMatchGo proves it), and an
-- index for every hot query.

CREATE TABLE clusters (
    id                  VARCHAR(64)  PRIMARY KEY,
    name                VARCHAR(255) NOT NULL,
    platform            VARCHAR(32)  NOT NULL CONSTRAINT clusters_platform_check
                        CHECK (platform IN ('aws', 'ibmcloud', 'gcp', 'azure')),
    cluster_type        VARCHAR(32)  NOT NULL DEFAULT 'openshift' CONSTRAINT clusters_cluster_type_check
                        CHECK (cluster_type IN ('openshift', 'rosa', 'eks', 'iks', 'gke', 'aro', 'aks')),
    version             VARCHAR(255) NOT NULL,
    profile             VARCHAR(255) NOT NULL,
    region              VARCHAR(255) NOT NULL,
    base_domain         VARCHAR(255),
    owner               VARCHAR(255) NOT NULL,
    owner_id            UUID,
    team                VARCHAR(255) NOT NULL,
    cost_center         VARCHAR(255) NOT NULL,
    status              VARCHAR(32)  NOT NULL CONSTRAINT clusters_status_check
                        CHECK (status IN ('PENDING', 'CREATING', 'READY', 'HIBERNATING', 'HIBERNATED',
                            'RESUMING', 'DESTROYING', 'DESTROY_VERIFYING', 'DESTROY_FAILED', 'DESTROYED', 'FAILED')),
    requested_by        VARCHAR(255) NOT NULL,
    ttl_hours           INTEGER      NOT NULL CHECK (ttl_hours > 0),
    destroy_at          TIMESTAMPTZ,
    created_at          TIMESTAMPTZ  NOT NULL,
    updated_at          TIMESTAMPTZ  NOT NULL,
    destroyed_at        TIMESTAMPTZ,
    request_tags        JSONB,
    effective_tags      JSONB,
    ssh_public_key      TEXT,
    offhours_opt_in     BOOLEAN      NOT NULL DEFAULT false,
    work_hours_enabled  BOOLEAN,
    work_hours_start    TIME,
    work_hours_end      TIME,
    work_days           SMALLINT     CHECK (work_days >= 0 AND work_days < 128),
    preserve_on_failure BOOLEAN      NOT NULL DEFAULT false,
    credentials_mode    VARCHAR(255)
);

-- One active cluster per (name, platform, base_domain); NULL base_domain is
-- one value, so it gets the second index.
CREATE UNIQUE INDEX clusters_active_name_domain_key ON clusters (name, platform, base_domain)
    WHERE status NOT IN ('DESTROYED', 'FAILED') AND base_domain IS NOT NULL;
CREATE UNIQUE INDEX clusters_active_name_nodomain_key ON clusters (name, platform)
    WHERE status NOT IN ('DESTROYED', 'FAILED') AND base_domain IS NULL;

-- Lists: every filter column leads an index ending in the keyset order.
CREATE INDEX clusters_created_idx ON clusters (created_at, id);
CREATE INDEX clusters_name_idx ON clusters ((name COLLATE "C"), id);
CREATE INDEX clusters_status_created_idx ON clusters (status, created_at, id);
CREATE INDEX clusters_team_created_idx ON clusters (team, created_at, id);
CREATE INDEX clusters_owner_created_idx ON clusters (owner, created_at, id);
CREATE INDEX clusters_owner_id_created_idx ON clusters (owner_id, created_at, id) WHERE owner_id IS NOT NULL;
CREATE INDEX clusters_platform_created_idx ON clusters (platform, created_at, id);
-- The TTL janitor (ListExpired).
CREATE INDEX clusters_destroy_at_idx ON clusters (destroy_at, id)
    WHERE destroy_at IS NOT NULL AND status IN ('READY', 'FAILED', 'HIBERNATED', 'DESTROY_FAILED');

CREATE TABLE jobs (
    id            VARCHAR(64)  PRIMARY KEY,
    cluster_id    VARCHAR(64)  NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    job_type      VARCHAR(64)  NOT NULL CONSTRAINT jobs_job_type_check
                  CHECK (job_type IN ('CREATE', 'DESTROY', 'JANITOR_DESTROY', 'CONFIGURE_EFS',
                      'PROVISION_SHARED_STORAGE', 'UNLINK_SHARED_STORAGE', 'HIBERNATE', 'RESUME',
                      'POST_CONFIGURE', 'POOL_REPLENISH', 'POOL_CLEAN', 'POOL_REFRESH', 'CREATE_WINDOWS_SNAPSHOT')),
    status        VARCHAR(32)  NOT NULL CONSTRAINT jobs_status_check
                  CHECK (status IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'RETRYING')),
    attempt       INTEGER      NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts  INTEGER      NOT NULL DEFAULT 3 CHECK (max_attempts >= 0),
    error_code    VARCHAR(100),
    error_message TEXT,
    retry_at      TIMESTAMPTZ,
    started_at    TIMESTAMPTZ,
    ended_at      TIMESTAMPTZ,
    created_at    TIMESTAMPTZ  NOT NULL,
    updated_at    TIMESTAMPTZ  NOT NULL,
    metadata      JSONB,
    -- The target of job_locks' composite key: a lock's job belongs to its cluster.
    CONSTRAINT jobs_cluster_id_id_key UNIQUE (cluster_id, id)
);

CREATE INDEX jobs_created_idx ON jobs (created_at, id);
CREATE INDEX jobs_cluster_created_idx ON jobs (cluster_id, created_at, id);
CREATE INDEX jobs_status_created_idx ON jobs (status, created_at, id);
CREATE INDEX jobs_type_created_idx ON jobs (job_type, created_at, id);
-- The claim: runnable jobs in queue order, small because finished jobs are not in it.
CREATE INDEX jobs_runnable_idx ON jobs (created_at, id)
    WHERE status IN ('PENDING', 'RETRYING');
-- FIFO per cluster: "is there an older unfinished job of this cluster?"
CREATE INDEX jobs_cluster_active_idx ON jobs (cluster_id, created_at, id)
    WHERE status IN ('PENDING', 'RUNNING', 'RETRYING');
-- ListStuck.
CREATE INDEX jobs_running_idx ON jobs (started_at, id) WHERE status = 'RUNNING';

-- Fencing tokens come from one sequence; a grant on an existing row takes
-- GREATEST(nextval, old token + 1). A lock row is never deleted while its
-- cluster exists: releasing or expiring it sets released_at, so the row
-- keeps the cluster's highest token and every later grant goes through the
-- row-locking ON CONFLICT arm. (Deleting rows let a grant whose nextval was
-- drawn before it waited insert a token lower than one granted and
-- released meanwhile; the torture test found it.)
CREATE SEQUENCE job_lock_tokens AS BIGINT;

CREATE TABLE job_locks (
    cluster_id VARCHAR(64)  PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
    job_id     VARCHAR(64)  NOT NULL,
    locked_by  VARCHAR(255) NOT NULL,
    token      BIGINT       NOT NULL CHECK (token > 0),
    locked_at  TIMESTAMPTZ  NOT NULL,
    expires_at TIMESTAMPTZ  NOT NULL,
    released_at TIMESTAMPTZ, -- NULL while held (live or expired); set by Release and DeleteExpired
    CONSTRAINT job_locks_job_fkey FOREIGN KEY (cluster_id, job_id)
        REFERENCES jobs (cluster_id, id) ON DELETE CASCADE
);

CREATE INDEX job_locks_expires_idx ON job_locks (expires_at) WHERE released_at IS NULL;
CREATE INDEX job_locks_job_idx ON job_locks (job_id);

CREATE TABLE idempotency_keys (
    id                   VARCHAR(64)  PRIMARY KEY,
    scope                VARCHAR(255) NOT NULL,
    key                  VARCHAR(255) NOT NULL,
    request_hash         VARCHAR(64)  NOT NULL,
    response_status_code INTEGER,
    -- JSON, not JSONB: a replay returns the stored response byte for byte.
    response_body        JSON,
    created_at           TIMESTAMPTZ  NOT NULL,
    expires_at           TIMESTAMPTZ  NOT NULL,
    CONSTRAINT idempotency_keys_scope_key_key UNIQUE (scope, key)
);

CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

CREATE TABLE rbac_mappings (
    id                 VARCHAR(64)  PRIMARY KEY,
    iam_principal_arn  VARCHAR(512) NOT NULL,
    iam_principal_type VARCHAR(16)  NOT NULL CONSTRAINT rbac_mappings_iam_principal_type_check
                       CHECK (iam_principal_type IN ('user', 'role', 'group')),
    team               VARCHAR(255) NOT NULL,
    role               VARCHAR(32)  NOT NULL CONSTRAINT rbac_mappings_role_check
                       CHECK (role IN ('requester', 'platform_admin', 'auditor')),
    enabled            BOOLEAN      NOT NULL DEFAULT true,
    created_at         TIMESTAMPTZ  NOT NULL,
    updated_at         TIMESTAMPTZ  NOT NULL,
    created_by         VARCHAR(512),
    notes              TEXT,
    CONSTRAINT rbac_mappings_principal_team_role_key UNIQUE (iam_principal_arn, team, role)
);

CREATE INDEX rbac_mappings_principal_idx ON rbac_mappings (iam_principal_arn, enabled);
CREATE INDEX rbac_mappings_team_idx ON rbac_mappings (team, enabled);
CREATE INDEX rbac_mappings_created_idx ON rbac_mappings (created_at, id);

-- Append-only. No foreign keys: the trail outlives what it names.
CREATE TABLE audit_events (
    id                VARCHAR(64)  PRIMARY KEY,
    actor             VARCHAR(512) NOT NULL,
    action            VARCHAR(100) NOT NULL,
    target_cluster_id VARCHAR(64),
    target_job_id     VARCHAR(64),
    target_user_id    UUID,
    status            VARCHAR(16)  NOT NULL CONSTRAINT audit_events_status_check
                      CHECK (status IN ('SUCCESS', 'FAILURE', 'DENIED')),
    metadata          JSONB,
    ip_address        INET,
    user_agent        TEXT,
    created_at        TIMESTAMPTZ  NOT NULL
);

CREATE INDEX audit_events_created_idx ON audit_events (created_at DESC, id DESC);
CREATE INDEX audit_events_actor_idx ON audit_events (actor, created_at DESC, id DESC);
CREATE INDEX audit_events_cluster_idx ON audit_events (target_cluster_id, created_at DESC, id DESC)
    WHERE target_cluster_id IS NOT NULL;
CREATE INDEX audit_events_job_idx ON audit_events (target_job_id, created_at DESC, id DESC)
    WHERE target_job_id IS NOT NULL;
CREATE INDEX audit_events_action_idx ON audit_events (action, created_at DESC, id DESC);

CREATE TABLE cluster_outputs (
    id                   VARCHAR(64) PRIMARY KEY,
    cluster_id           VARCHAR(64) NOT NULL UNIQUE REFERENCES clusters (id) ON DELETE CASCADE,
    api_url              TEXT,
    console_url          TEXT,
    kubeconfig_s3_uri    TEXT,
    kubeadmin_secret_ref TEXT,
    metadata_s3_uri      TEXT,
    dashboard_token      TEXT,
    sa_name              TEXT,
    sa_namespace         TEXT DEFAULT 'default',
    sa_token             TEXT,
    sa_token_expires_at  TIMESTAMPTZ,
    oc_login_command     TEXT,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE cluster_artifacts (
    id            VARCHAR(64) PRIMARY KEY,
    cluster_id    VARCHAR(64) NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    artifact_type VARCHAR(32) NOT NULL CONSTRAINT cluster_artifacts_artifact_type_check
                  CHECK (artifact_type IN ('INSTALL_DIR_SNAPSHOT', 'LOG', 'AUTH_BUNDLE', 'METADATA', 'DESTROY_LOG')),
    s3_uri        TEXT        NOT NULL,
    checksum      VARCHAR(255),
    size_bytes    BIGINT      CHECK (size_bytes >= 0),
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX cluster_artifacts_cluster_idx ON cluster_artifacts (cluster_id, created_at, id);
CREATE INDEX cluster_artifacts_type_idx ON cluster_artifacts (artifact_type);

CREATE TABLE usage_samples (
    id                     VARCHAR(64)   PRIMARY KEY,
    cluster_id             VARCHAR(64)   NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    sample_time            TIMESTAMPTZ   NOT NULL,
    state                  VARCHAR(32)   NOT NULL CONSTRAINT usage_samples_state_check
                           CHECK (state IN ('PENDING', 'CREATING', 'READY', 'HIBERNATING', 'HIBERNATED',
                               'RESUMING', 'DESTROYING', 'DESTROY_VERIFYING', 'DESTROY_FAILED', 'DESTROYED', 'FAILED')),
    control_plane_replicas INTEGER       NOT NULL CHECK (control_plane_replicas >= 0),
    worker_replicas        INTEGER       NOT NULL CHECK (worker_replicas >= 0),
    estimated_hourly_cost  NUMERIC(10,4) CHECK (estimated_hourly_cost >= 0),
    metadata               JSONB,
    CONSTRAINT usage_samples_cluster_time_key UNIQUE (cluster_id, sample_time)
);

CREATE INDEX usage_samples_time_idx ON usage_samples (sample_time);
