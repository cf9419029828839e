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

// DefaultSANamespace is ClusterOutputs.SANamespace when Upsert is given nil.
const DefaultSANamespace = "default"

// OutputStore is the API of cluster outputs and artifacts: Store.Outputs.
// Both are deleted with their cluster.
type OutputStore struct{ s *Store }

// Upsert inserts or replaces the cluster's outputs (all fields), keeping
// ID and CreatedAt of an existing row, and sets o's ID, SANamespace
// (DefaultSANamespace when nil) and timestamps to the row's. ErrNotFound
// if the cluster does not exist. The secret fields (DashboardToken,
// SAToken, OCLoginCommand) are sealed with the Store's keyring before they
// reach the backend (o keeps their plain text); without a keyring a
// non-nil secret field fails with ErrNoKeyring unless the Store was made
// WithPlaintextSecrets.
func (os OutputStore) Upsert(ctx context.Context, o *ClusterOutputs) error {
	return os.s.run(ctx, "Outputs.Upsert", func(ctx context.Context, x Executor) error {
		if err := o.validate(); err != nil {
			return err
		}
		if o.ID == "" {
			o.ID = NewID(PrefixOutputs)
		}
		if err := os.s.config.checkSecrets(o); err != nil {
			return err
		}
		if o.SANamespace == nil {
			ns := DefaultSANamespace
			o.SANamespace = &ns
		}
		sealed, err := os.s.config.sealOutputs(ctx, o)
		if err != nil {
			return err
		}
		if err := x.OutputsUpsert(ctx, sealed); err != nil {
			return err
		}
		o.ID, o.CreatedAt, o.UpdatedAt = sealed.ID, sealed.CreatedAt, sealed.UpdatedAt
		return nil
	})
}

// Get returns the cluster's outputs or ErrNotFound. Secret fields are
// opened with the key each names; one that cannot be opened fails the Get
// with an error naming the field and the key ID and matching the keyring's
// sentinel (keyring.ErrKeyNotFound, ErrWrongKey, ErrMisplaced, ErrTampered,
// ErrNotSealed, ErrMalformed) or ErrNoKeyring: never garbage or plain text.
func (os OutputStore) Get(ctx context.Context, clusterID string) (*ClusterOutputs, error) {
	return call(os.s, ctx, "Outputs.Get", func(ctx context.Context, x Executor) (*ClusterOutputs, error) {
		if err := checkID("cluster_id", clusterID); err != nil {
			return nil, err
		}
		o, err := x.OutputsGet(ctx, clusterID)
		if err != nil {
			return nil, err
		}
		if err := os.s.config.openOutputs(ctx, o); err != nil {
			return nil, err
		}
		return o, nil
	})
}

// Delete removes the cluster's outputs, or ErrNotFound.
func (os OutputStore) Delete(ctx context.Context, clusterID string) error {
	return os.s.run(ctx, "Outputs.Delete", func(ctx context.Context, x Executor) error {
		if err := checkID("cluster_id", clusterID); err != nil {
			return err
		}
		return x.OutputsDelete(ctx, clusterID)
	})
}

// AddArtifact inserts a, assigning a.ID when empty, and CreatedAt.
// ErrNotFound if the cluster does not exist.
func (os OutputStore) AddArtifact(ctx context.Context, a *ClusterArtifact) error {
	return os.s.run(ctx, "Outputs.AddArtifact", func(ctx context.Context, x Executor) error {
		if err := a.validate(); err != nil {
			return err
		}
		if a.ID == "" {
			a.ID = NewID(PrefixArtifact)
		}
		return x.ArtifactInsert(ctx, a)
	})
}

// ListArtifacts returns the cluster's artifacts, oldest first, only of
// type t when t is not nil.
func (os OutputStore) ListArtifacts(ctx context.Context, clusterID string, t *ArtifactType) ([]*ClusterArtifact, error) {
	return call(os.s, ctx, "Outputs.ListArtifacts", func(ctx context.Context, x Executor) ([]*ClusterArtifact, error) {
		if err := checkID("cluster_id", clusterID); err != nil {
			return nil, err
		}
		if t != nil && !t.Valid() {
			return nil, invalid("artifact_type", "unknown value %q", *t)
		}
		return x.ArtifactList(ctx, clusterID, t)
	})
}
