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
	artifactAddSQL  = named("INSERT INTO cluster_artifacts (" + joinColumns(artifactColumns) + ")" +
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
