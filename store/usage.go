package store

import (
	"context"
	"time"
)

// UsageSample is a row of usage_samples: the state of a cluster at one
// sampling instant. A sample stands for one SampleInterval of usage.
type UsageSample struct {
	ID                   string // use_…
	ClusterID            string
	SampleTime           time.Time
	State                ClusterStatus
	ControlPlaneReplicas int
	WorkerReplicas       int
	// EstimatedHourlyCost is between 0 and MaxCost (not NaN, not -0), and
	// is stored exactly: every such float64 reads back bit for bit.
	EstimatedHourlyCost *float64
	Metadata            map[string]string
}

// SampleInterval is how much time one usage sample stands for: the
// collector samples every cluster hourly.
const SampleInterval = time.Hour

// UsageRange selects samples with From <= SampleTime < To.
type UsageRange struct {
	From, To  time.Time
	ClusterID *string // only this cluster
	Team      *string // only clusters of this team
}

// UsageSummary aggregates the samples of one cluster or one team.
type UsageSummary struct {
	Key           string  // the cluster ID or the team
	Samples       int     // number of samples
	Hours         float64 // Samples * SampleInterval, in hours
	EstimatedCost float64 // sum of EstimatedHourlyCost * SampleInterval hours
}

// UsageStore records usage samples and summarizes them.
type UsageStore interface {
	// Record inserts s, or replaces the values of the sample with the same
	// cluster and SampleTime (keeping its ID): recording twice is harmless.
	Record(ctx context.Context, s *UsageSample) error
	// RecordBatch records every sample, all or none.
	RecordBatch(ctx context.Context, samples []*UsageSample) error
	// List returns the samples of one cluster in [from, to), oldest first.
	List(ctx context.Context, clusterID string, from, to time.Time) ([]*UsageSample, error)
	// SummarizeByCluster returns one summary per cluster with samples in
	// the range, ordered by cluster ID.
	SummarizeByCluster(ctx context.Context, r UsageRange) ([]UsageSummary, error)
	// SummarizeByTeam returns one summary per team with samples in the
	// range, ordered by team.
	SummarizeByTeam(ctx context.Context, r UsageRange) ([]UsageSummary, error)
}
