package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/ocpctl/ocpstore/store"
)

// Job metadata keys the seeder writes so a worker can tell which seeded job
// it claimed (the fault plan is keyed by them, not by random IDs).
const (
	metaCluster = "sim_cluster" // the cluster's index in the run
	metaSeq     = "sim_seq"     // the job's position in its cluster's queue
)

// seedActor is the audit actor of the seeding requests.
const seedActor = "sim-api"

// seeded is what seed wrote: the clusters, each with its jobs in creation
// order (which is the order the store runs them in).
type seeded struct {
	clusters []*seededCluster
	jobs     map[string]*seededJob // by job ID
}

// seededCluster is one seeded cluster.
type seededCluster struct {
	ID, Name string
	Index    int
	Jobs     []*seededJob
}

// seededJob is one seeded job.
type seededJob struct {
	ID      string
	Cluster *seededCluster
	Seq     int
	Type    store.JobType
}

// seed creates cfg.Clusters clusters. Each gets a CREATE job, then zero to
// two HIBERNATE+RESUME pairs and, for three clusters in four, a DESTROY,
// all queued up front: the store runs a cluster's jobs in creation order.
// The mix is drawn from cfg.Seed.
func seed(ctx context.Context, s *store.Store, cfg Config, c *counters) (*seeded, error) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	out := &seeded{jobs: make(map[string]*seededJob)}
	for i := range cfg.Clusters {
		sc, err := seedCluster(ctx, s, c, cfg.RunID, i, jobPlan(rng))
		if err != nil {
			return nil, err
		}
		out.clusters = append(out.clusters, sc)
		for _, j := range sc.Jobs {
			out.jobs[j.ID] = j
		}
	}
	return out, nil
}

// jobPlan draws one cluster's job sequence.
func jobPlan(rng *rand.Rand) []store.JobType {
	types := []store.JobType{store.JobCreate}
	for range rng.IntN(3) {
		types = append(types, store.JobHibernate, store.JobResume)
	}
	if rng.IntN(4) != 0 {
		types = append(types, store.JobDestroy)
	}
	return types
}

// seedCluster creates one cluster and its jobs in one transaction, with the
// audit event of the request, as the API would: either all of it exists or
// none of it does. The IDs are chosen here, so that when the database goes
// away with the commit in flight (store.ErrCommitUnknown) one read tells
// whether it committed; a transaction that certainly did not commit is
// simply run again.
func seedCluster(ctx context.Context, s *store.Store, c *counters, runID string, i int, types []store.JobType) (*seededCluster, error) {
	sc := &seededCluster{ID: store.NewID(store.PrefixCluster), Name: fmt.Sprintf("sim-%s-%03d", runID, i), Index: i}
	for seq, t := range types {
		sc.Jobs = append(sc.Jobs, &seededJob{ID: store.NewID(store.PrefixJob), Cluster: sc, Seq: seq, Type: t})
	}
	for {
		err := s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error { return createCluster(ctx, tx, sc, runID) })
		if !c.unavailable(err) {
			if err != nil {
				return nil, fmt.Errorf("cluster %d: %w", i, err)
			}
			return sc, nil
		}
		if errors.Is(err, store.ErrCommitUnknown) {
			err := retry(ctx, c, func() error { _, err := s.Clusters.GetByID(ctx, sc.ID); return err })
			switch {
			case err == nil:
				return sc, nil // it committed
			case !errors.Is(err, store.ErrNotFound):
				return nil, fmt.Errorf("cluster %d: %w", i, err)
			}
		}
		if err := sleepCtx(ctx, retryPause); err != nil {
			return nil, fmt.Errorf("cluster %d: %w", i, err)
		}
	}
}

// createCluster writes sc's cluster, its jobs and the request's audit event
// through tx.
func createCluster(ctx context.Context, tx *store.Store, sc *seededCluster, runID string) error {
	c := &store.Cluster{
		ID:          sc.ID,
		Name:        sc.Name,
		Platform:    store.PlatformAWS,
		Version:     "4.16.3",
		Profile:     "aws-standard",
		Region:      "us-east-1",
		BaseDomain:  ptr("sim.example.com"),
		Owner:       "sim@example.com",
		Team:        "sim-" + runID,
		CostCenter:  "cc-sim",
		RequestedBy: seedActor,
		TTLHours:    24,
	}
	if err := tx.Clusters.Create(ctx, c); err != nil {
		return err
	}
	names := make([]string, len(sc.Jobs))
	for k, sj := range sc.Jobs {
		j := &store.Job{ID: sj.ID, ClusterID: c.ID, JobType: sj.Type,
			Metadata: map[string]string{metaCluster: strconv.Itoa(sc.Index), metaSeq: strconv.Itoa(sj.Seq)}}
		if err := tx.Jobs.Create(ctx, j); err != nil {
			return err
		}
		names[k] = string(sj.Type)
	}
	return tx.Audit.Log(ctx, &store.AuditEvent{Actor: seedActor, Action: "cluster.create",
		TargetClusterID: &c.ID, TargetJobID: &sc.Jobs[0].ID, Status: store.AuditSuccess,
		Metadata: map[string]string{"jobs": strings.Join(names, ",")}})
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
