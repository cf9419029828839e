package postgres

import (
	"context"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/jackc/pgx/v5"

	"github.com/ocpctl/ocpstore/store"
)

// outputColumns is the column list of cluster_outputs, in outputRow.dests order.
var outputColumns = []string{"id", "cluster_id", "api_url", "console_url", "kubeconfig_s3_uri",
	"kubeadmin_secret_ref", "metadata_s3_uri", "dashboard_token", "sa_name", "sa_namespace", "sa_token",
	"sa_token_expires_at", "oc_login_command", "created_at", "updated_at"}

// outputRow receives a cluster_outputs row.
type outputRow struct{ o store.ClusterOutputs }

func (r *outputRow) dests() []any {
	o := &r.o
	return []any{&o.ID, &o.ClusterID, &o.APIURL, &o.ConsoleURL, &o.KubeconfigS3URI,
		&o.KubeadminSecretRef, &o.MetadataS3URI, &o.DashboardToken, &o.SAName, &o.SANamespace, &o.SAToken,
		&o.SATokenExpiresAt, &o.OCLoginCommand, &o.CreatedAt, &o.UpdatedAt}
}

func (r *outputRow) value() *store.ClusterOutputs {
	o := &r.o
	inUTC(o.SATokenExpiresAt)
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	return o
}

var clusterOutputs = table[*store.ClusterOutputs]{name: "cluster_outputs", columns: outputColumns,
	newRow: func() row[*store.ClusterOutputs] { return new(outputRow) }}

// artifactColumns is the column list of cluster_artifacts, in
// artifactRow.dests order.
var artifactColumns = []string{"id", "cluster_id", "artifact_type", "s3_uri", "checksum", "size_bytes", "created_at"}

// artifactRow receives a cluster_artifacts row.
type artifactRow struct{ a store.ClusterArtifact }

func (r *artifactRow) dests() []any {
	a := &r.a
	return []any{&a.ID, &a.ClusterID, &a.ArtifactType, &a.S3URI, &a.Checksum, &a.SizeBytes, &a.CreatedAt}
}

func (r *artifactRow) value() *store.ClusterArtifact {
	a := &r.a
	a.CreatedAt = a.CreatedAt.UTC()
	return a
}

var clusterArtifacts = table[*store.ClusterArtifact]{name: "cluster_artifacts", columns: artifactColumns,
	newRow: func() row[*store.ClusterArtifact] { return new(artifactRow) }}

// outputValueColumns are the columns Upsert replaces on an existing row.
var outputValueColumns = outputColumns[2:13:13]

// The fixed output statements.
var (
	// outputUpsertSQL inserts the outputs, or replaces every value column
	// of the cluster's existing row, keeping its ID and created_at.
	outputUpsertSQL = named("INSERT INTO cluster_outputs (" + joinColumns(outputColumns) + ")" +
		" VALUES (" + params(outputColumns[:13]...) + ", " + nowSQL + ", " + nowSQL + ")" +
		" ON CONFLICT (cluster_id) DO UPDATE SET " + excluded(append(outputValueColumns, "updated_at")...) +
		" RETURNING id, created_at, updated_at")
	outputGetSQL    = named("SELECT " + joinColumns(outputColumns) + " FROM cluster_outputs WHERE cluster_id = @cluster_id")
	outputDeleteSQL = named("DELETE FROM cluster_outputs WHERE cluster_id = @cluster_id")
	// outputListAfterSQL is a keyset page of rows by cluster_id (COLLATE
	// "C": byte order, as the memory backend sorts), on its unique index.
	outputListAfterSQL = named("SELECT " + joinColumns(outputColumns) + " FROM cluster_outputs" +
		" WHERE cluster_id > @after ORDER BY cluster_id LIMIT @limit")
	// outputSwapSecretsSQL replaces the secret columns of each given row
	// whose secret columns still hold the old values. Under READ COMMITTED
	// a row updated concurrently is re-checked against the WHERE after the
	// other writer commits, so a value written meanwhile is never
	// overwritten.
	outputSwapSecretsSQL = named("UPDATE cluster_outputs o SET dashboard_token = s.new_dashboard_token," +
		" sa_token = s.new_sa_token, oc_login_command = s.new_oc_login_command" +
		" FROM unnest(@cluster_ids::text[], @old_dashboard_tokens::text[], @old_sa_tokens::text[]," +
		" @old_oc_login_commands::text[], @new_dashboard_tokens::text[], @new_sa_tokens::text[]," +
		" @new_oc_login_commands::text[])" +
		" AS s(cluster_id, old_dashboard_token, old_sa_token, old_oc_login_command," +
		" new_dashboard_token, new_sa_token, new_oc_login_command)" +
		" WHERE o.cluster_id = s.cluster_id" +
		" AND o.dashboard_token IS NOT DISTINCT FROM s.old_dashboard_token" +
		" AND o.sa_token IS NOT DISTINCT FROM s.old_sa_token" +
		" AND o.oc_login_command IS NOT DISTINCT FROM s.old_oc_login_command")
	artifactAddSQL = named("INSERT INTO cluster_artifacts (" + joinColumns(artifactColumns) + ")" +
		" VALUES (" + params(artifactColumns[:6]...) + ", " + nowSQL + ") RETURNING created_at")
)

// Upsert inserts or replaces the cluster's outputs, filling ID, timestamps
// and the default namespace in place.
func (s executor) OutputsUpsert(ctx context.Context, o *store.ClusterOutputs) error {
	now := s.now()
	var id string
	var created, updated time.Time
	err := s.q.QueryRow(ctx, outputUpsertSQL.sql, outputUpsertSQL.args(pgx.NamedArgs{"id": o.ID,
		"cluster_id": o.ClusterID, "api_url": o.APIURL, "console_url": o.ConsoleURL,
		"kubeconfig_s3_uri": o.KubeconfigS3URI, "kubeadmin_secret_ref": o.KubeadminSecretRef,
		"metadata_s3_uri": o.MetadataS3URI, "dashboard_token": o.DashboardToken, "sa_name": o.SAName,
		"sa_namespace": o.SANamespace, "sa_token": o.SAToken, "sa_token_expires_at": optTime(o.SATokenExpiresAt),
		"oc_login_command": o.OCLoginCommand, "now": now})...).Scan(&id, &created, &updated)
	if err != nil {
		return mapError(ctx, err, "upsert outputs of cluster "+o.ClusterID)
	}
	o.ID, o.CreatedAt, o.UpdatedAt = id, created.UTC(), updated.UTC()
	return nil
}

// Get returns the cluster's outputs or ErrNotFound.
func (s executor) OutputsGet(ctx context.Context, clusterID string) (*store.ClusterOutputs, error) {
	o, err := clusterOutputs.one(ctx, s.q, outputGetSQL, pgx.NamedArgs{"cluster_id": clusterID})
	return o, mapError(ctx, err, "outputs of cluster "+clusterID)
}

// Delete removes the cluster's outputs, or ErrNotFound.
func (s executor) OutputsDelete(ctx context.Context, clusterID string) error {
	tag, err := s.q.Exec(ctx, outputDeleteSQL.sql, outputDeleteSQL.args(pgx.NamedArgs{"cluster_id": clusterID})...)
	if err != nil {
		return mapError(ctx, err, "delete outputs of cluster "+clusterID)
	}
	if tag.RowsAffected() == 0 {
		return notFound("outputs of cluster " + clusterID)
	}
	return nil
}

// AddArtifact inserts a, assigning its ID and CreatedAt in place.
func (s executor) ArtifactInsert(ctx context.Context, a *store.ClusterArtifact) error {
	var created time.Time
	err := s.q.QueryRow(ctx, artifactAddSQL.sql, artifactAddSQL.args(pgx.NamedArgs{"id": a.ID, "cluster_id": a.ClusterID,
		"artifact_type": a.ArtifactType, "s3_uri": a.S3URI, "checksum": a.Checksum, "size_bytes": a.SizeBytes,
		"now": s.now()})...).Scan(&created)
	if err != nil {
		return mapError(ctx, err, "add artifact "+a.ID+" to cluster "+a.ClusterID)
	}
	a.CreatedAt = created.UTC()
	return nil
}

// ListArtifacts returns the cluster's artifacts, oldest first.
func (s executor) ArtifactList(ctx context.Context, clusterID string, t *store.ArtifactType) ([]*store.ClusterArtifact, error) {
	b := psql.Select(artifactColumns...).From("cluster_artifacts").Where(sq.Eq{"cluster_id": clusterID})
	if t != nil {
		b = b.Where(sq.Eq{"artifact_type": *t})
	}
	sqlStr, args, err := b.OrderBy("created_at", "id").ToSql()
	if err != nil {
		return nil, err
	}
	as, err := clusterArtifacts.queryAll(ctx, s.q, sqlStr, args...)
	return as, mapError(ctx, err, "list artifacts of cluster "+clusterID)
}

// OutputsListAfter returns the page of rows after afterClusterID.
func (s executor) OutputsListAfter(ctx context.Context, afterClusterID string, limit int) ([]*store.ClusterOutputs, error) {
	rows, err := clusterOutputs.queryAll(ctx, s.q, outputListAfterSQL.sql,
		outputListAfterSQL.args(pgx.NamedArgs{"after": afterClusterID, "limit": limit})...)
	return rows, mapError(ctx, err, "list outputs after cluster "+afterClusterID)
}

// OutputsSwapSecrets compares-and-sets the secret columns of the given
// rows in one statement.
func (s executor) OutputsSwapSecrets(ctx context.Context, swaps []store.SecretsSwap) (int, error) {
	n := len(swaps)
	ids := make([]string, n)
	cols := make([][]*string, 6)
	for i := range cols {
		cols[i] = make([]*string, n)
	}
	for i, sw := range swaps {
		ids[i] = sw.ClusterID
		cols[0][i], cols[1][i], cols[2][i] = sw.Old.DashboardToken, sw.Old.SAToken, sw.Old.OCLoginCommand
		cols[3][i], cols[4][i], cols[5][i] = sw.New.DashboardToken, sw.New.SAToken, sw.New.OCLoginCommand
	}
	tag, err := s.q.Exec(ctx, outputSwapSecretsSQL.sql, outputSwapSecretsSQL.args(pgx.NamedArgs{"cluster_ids": ids,
		"old_dashboard_tokens": cols[0], "old_sa_tokens": cols[1], "old_oc_login_commands": cols[2],
		"new_dashboard_tokens": cols[3], "new_sa_tokens": cols[4], "new_oc_login_commands": cols[5]})...)
	if err != nil {
		return 0, mapError(ctx, err, "swap secrets of outputs")
	}
	return int(tag.RowsAffected()), nil
}
