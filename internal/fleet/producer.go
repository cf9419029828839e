package fleet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// Producer creates clusters and jobs as the control plane's API would: a
// set of READY clusters at start, then, whenever fewer than Backlog jobs
// are PENDING, day-2 jobs on them and now and then a new PENDING cluster
// with its CREATE job.
//
// Every create carries an ID chosen before the first attempt, so a create
// whose outcome was unknown is simply made again: store.ErrConflict then
// means the earlier attempt applied (names embed the ID, so no other
// conflict is possible), and the create is logged as recovered.
type Producer struct {
	Name     string // unique across the fleet: it prefixes cluster names
	Store    *store.Store
	Log      *Log
	Clusters int // READY clusters created at start
	Backlog  int // PENDING jobs to keep queued
	// NewClusterEvery: every NewClusterEvery-th job is a new cluster's
	// CREATE job instead of a day-2 job (0: never).
	NewClusterEvery int

	clusters []string // READY-at-creation clusters, for day-2 jobs
	jobs     int
}

// Run creates the initial clusters, then keeps the backlog until stop
// ends. Store calls run under ctx.
func (p *Producer) Run(ctx, stop context.Context) {
	for len(p.clusters) < p.Clusters && stop.Err() == nil {
		if id, ok := p.createCluster(ctx, store.ClusterReady); ok {
			p.clusters = append(p.clusters, id)
		}
	}
	pending := store.JobPending
	for failures := 0; stop.Err() == nil; {
		_, queued, err := p.Store.Jobs.List(ctx, store.JobFilters{Status: &pending, Limit: 1})
		if err != nil {
			p.failed("count pending", err)
			sleep(stop, backoff(failures))
			failures++
			continue
		}
		failures = 0
		for range min(p.Backlog-queued, 10) {
			if stop.Err() != nil {
				return
			}
			p.createJob(ctx)
		}
		sleep(stop, 50*time.Millisecond)
	}
}

// createJob creates the next job: a day-2 job on a random cluster, or a
// new cluster with its CREATE job.
func (p *Producer) createJob(ctx context.Context) {
	p.jobs++
	if len(p.clusters) == 0 || (p.NewClusterEvery > 0 && p.jobs%p.NewClusterEvery == 0) {
		if id, ok := p.createCluster(ctx, store.ClusterPending); ok {
			p.create(ctx, id, store.JobCreate)
		}
		return
	}
	jt := store.JobPostConfigure
	if rand.IntN(3) == 0 {
		jt = store.JobConfigureEFS
	}
	i := rand.IntN(len(p.clusters))
	if p.create(ctx, p.clusters[i], jt) == errClusterGone {
		p.clusters = append(p.clusters[:i], p.clusters[i+1:]...)
	}
}

// errClusterGone: a job's cluster does not exist (any more).
var errClusterGone = errors.New("cluster gone")

// createCluster creates a cluster in status s.
func (p *Producer) createCluster(ctx context.Context, s store.ClusterStatus) (string, bool) {
	id := store.NewID(store.PrefixCluster)
	ok := p.idempotent(ctx, "create cluster", Event{Kind: KindClusterCreated, Cluster: id}, func() error {
		return p.Store.Clusters.Create(ctx, &store.Cluster{ID: id, Name: fmt.Sprintf("%s-%s", p.Name, id[len(store.PrefixCluster):]),
			Status: s, Platform: store.PlatformAWS, Version: "4.16.3", Profile: "aws-small", Region: "us-east-1",
			Owner: "fleet@example.com", Team: "fleet", CostCenter: "cc-fleet", RequestedBy: "fleet@example.com", TTLHours: 24})
	})
	return id, ok
}

// create creates a job of type jt on cluster. It returns errClusterGone
// when the cluster does not exist: a cluster whose creation was
// acknowledged is gone only when the database lost acknowledged commits
// (asynchronous replication); that is logged as KindClusterGone.
func (p *Producer) create(ctx context.Context, cluster string, jt store.JobType) error {
	id := store.NewID(store.PrefixJob)
	var gone error
	p.idempotent(ctx, "create job", Event{Kind: KindJobCreated, Cluster: cluster, Job: id, JobType: string(jt)}, func() error {
		err := p.Store.Jobs.Create(ctx, &store.Job{ID: id, ClusterID: cluster, JobType: jt})
		if errors.Is(err, store.ErrNotFound) {
			p.Log.Add(Event{Kind: KindClusterGone, Worker: p.Name, Cluster: cluster, Err: err.Error(), Call: now(), Ack: now()})
			gone = errClusterGone
			return gone
		}
		return err
	})
	return gone
}

// idempotent runs create until it is acknowledged, or found applied after
// an unknown outcome, and logs ev then. It gives up on an unexpected error
// or errClusterGone (and so does not log ev) and when ctx ends.
func (p *Producer) idempotent(ctx context.Context, op string, ev Event, create func() error) bool {
	ev.Call = now()
	unknown := false
	for failures := 0; ; failures++ {
		err := create()
		switch {
		case err == nil:
		case unknown && errors.Is(err, store.ErrConflict):
			ev.Recovered = true
		case ctx.Err() != nil, errors.Is(err, errClusterGone):
			return false
		default:
			switch p.failed(op, err) {
			case ClassUnknown:
				unknown = true
			case ClassUnexpected:
				return false
			}
			sleep(ctx, backoff(failures))
			continue
		}
		ev.Ack = now()
		p.Log.Add(ev)
		return true
	}
}

// failed logs a failed call and returns its class.
func (p *Producer) failed(op string, err error) Class {
	c := Classify(err)
	p.Log.Add(Event{Kind: KindError, Worker: p.Name, Op: op, Class: c, Err: err.Error(), Call: now(), Ack: now()})
	return c
}
