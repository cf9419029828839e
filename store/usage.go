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

// MaxBatch is the most samples one RecordBatch accepts.
const MaxBatch = 10000

// UsageStore is the API of usage samples: Store.Usage. It records samples
// and summarizes them.
type UsageStore struct{ s *Store }

// Record inserts s, or replaces the values of the sample with the same
// cluster and SampleTime (keeping its ID): recording twice is harmless.
// s.ID becomes the row's.
func (us UsageStore) Record(ctx context.Context, s *UsageSample) error {
	return us.s.run(ctx, "Usage.Record", func(ctx context.Context, x Executor) error {
		if err := s.validate(); err != nil {
			return err
		}
		if s.ID == "" {
			s.ID = NewID(PrefixUsage)
		}
		return x.UsageUpsert(ctx, s)
	})
}

// RecordBatch records every sample, all or none (1 to MaxBatch samples, no
// cluster and SampleTime twice).
func (us UsageStore) RecordBatch(ctx context.Context, samples []*UsageSample) error {
	return us.s.run(ctx, "Usage.RecordBatch", func(ctx context.Context, x Executor) error {
		if err := validateSamples(samples); err != nil {
			return err
		}
		for _, s := range samples {
			if s.ID == "" {
				s.ID = NewID(PrefixUsage)
			}
		}
		return x.UsageUpsertMany(ctx, samples)
	})
}

// List returns the samples of one cluster in [from, to), oldest first.
func (us UsageStore) List(ctx context.Context, clusterID string, from, to time.Time) ([]*UsageSample, error) {
	return call(us.s, ctx, "Usage.List", func(ctx context.Context, x Executor) ([]*UsageSample, error) {
		r := UsageRange{From: from, To: to, ClusterID: &clusterID}
		if err := r.validate(); err != nil {
			return nil, err
		}
		return x.UsageList(ctx, clusterID, from, to)
	})
}

// SummarizeByCluster returns one summary per cluster with samples in the
// range, ordered by cluster ID.
func (us UsageStore) SummarizeByCluster(ctx context.Context, r UsageRange) ([]UsageSummary, error) {
	return call(us.s, ctx, "Usage.SummarizeByCluster", func(ctx context.Context, x Executor) ([]UsageSummary, error) {
		if err := r.validate(); err != nil {
			return nil, err
		}
		return x.UsageSummarizeByCluster(ctx, r)
	})
}

// SummarizeByTeam returns one summary per team with samples in the range,
// ordered by team.
func (us UsageStore) SummarizeByTeam(ctx context.Context, r UsageRange) ([]UsageSummary, error) {
	return call(us.s, ctx, "Usage.SummarizeByTeam", func(ctx context.Context, x Executor) ([]UsageSummary, error) {
		if err := r.validate(); err != nil {
			return nil, err
		}
		return x.UsageSummarizeByTeam(ctx, r)
	})
}
