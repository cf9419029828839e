package store

import (
	"context"
	"time"
)

// ClusterOutputs is a row of cluster_outputs: what a provisioned cluster
// hands back to its owner. At most one per cluster.
type ClusterOutputs struct {
	ID                 string // out_…
	ClusterID          string
	APIURL             *string
	ConsoleURL         *string
	KubeconfigS3URI    *string
	KubeadminSecretRef *string
	MetadataS3URI      *string
	DashboardToken     *string
	SAName             *string
	SANamespace        *string // "default" when nil on Upsert
	SAToken            *string
	SATokenExpiresAt   *time.Time
	OCLoginCommand     *string
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// ClusterArtifact is a row of cluster_artifacts: a file stored for a cluster.
type ClusterArtifact struct {
	ID           string // art_…
	ClusterID    string
	ArtifactType ArtifactType
	S3URI        string
	Checksum     *string
	SizeBytes    *int64 // not negative
	CreatedAt    time.Time
}

// OutputStore persists cluster outputs and artifacts. Both are deleted with
// their cluster.
type OutputStore interface {
	// Upsert inserts or replaces the cluster's outputs (all fields), keeping
	// ID and CreatedAt of an existing row. ErrNotFound if the cluster does
	// not exist.
	Upsert(ctx context.Context, o *ClusterOutputs) error
	// Get returns the cluster's outputs or ErrNotFound.
	Get(ctx context.Context, clusterID string) (*ClusterOutputs, error)
	// Delete removes the cluster's outputs, or ErrNotFound.
	Delete(ctx context.Context, clusterID string) error
	// AddArtifact inserts a. ErrNotFound if the cluster does not exist.
	AddArtifact(ctx context.Context, a *ClusterArtifact) error
	// ListArtifacts returns the cluster's artifacts, oldest first, only of
	// type t when t is not nil.
	ListArtifacts(ctx context.Context, clusterID string, t *ArtifactType) ([]*ClusterArtifact, error)
}
