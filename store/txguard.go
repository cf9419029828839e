package store

import (
	"context"
	"encoding/json"
	"time"
)

// The guard proxies of the outer Store's sub-stores: each call is checked
// by config.checkOuter (txmarker.go) before it reaches the validating layer.

// guarded wraps the outer Store's sub-stores in the guard.
func guarded(s Stores, c *config) Stores {
	return Stores{
		Clusters:    guardClusters{s.Clusters, c},
		Jobs:        guardJobs{s.Jobs, c},
		JobLocks:    guardLocks{s.JobLocks, c},
		Idempotency: guardIdempotency{s.Idempotency, c},
		RBAC:        guardRBAC{s.RBAC, c},
		Audit:       guardAudit{s.Audit, c},
		Outputs:     guardOutputs{s.Outputs, c},
		Usage:       guardUsage{s.Usage, c},
	}
}

type guardClusters struct {
	next ClusterStore
	c    *config
}

func (g guardClusters) Create(ctx context.Context, c *Cluster) error {
	if err := g.c.checkOuter(ctx); err != nil {
		return err
	}
	return g.next.Create(ctx, c)
}

func (g guardClusters) GetByID(ctx context.Context, id string) (*Cluster, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.GetByID(ctx, id)
}

func (g guardClusters) GetByIDForUpdate(ctx context.Context, id string) (*Cluster, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.GetByIDForUpdate(ctx, id)
}

func (g guardClusters) List(ctx context.Context, f ClusterFilters) ([]*Cluster, int, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, 0, err
	}
	return g.next.List(ctx, f)
}

func (g guardClusters) ListAfter(ctx context.Context, f ClusterFilters, cursor string) (Page[*Cluster], error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return Page[*Cluster]{}, err
	}
	return g.next.ListAfter(ctx, f, cursor)
}

func (g guardClusters) UpdateStatus(ctx context.Context, id string, to ClusterStatus) (*Cluster, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.UpdateStatus(ctx, id, to)
}

func (g guardClusters) Update(ctx context.Context, id string, u ClusterUpdate) (*Cluster, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.Update(ctx, id, u)
}

func (g guardClusters) ListExpired(ctx context.Context, limit int) ([]*Cluster, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.ListExpired(ctx, limit)
}

type guardJobs struct {
	next JobStore
	c    *config
}

func (g guardJobs) Create(ctx context.Context, j *Job) error {
	if err := g.c.checkOuter(ctx); err != nil {
		return err
	}
	return g.next.Create(ctx, j)
}

func (g guardJobs) GetByID(ctx context.Context, id string) (*Job, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.GetByID(ctx, id)
}

func (g guardJobs) List(ctx context.Context, f JobFilters) ([]*Job, int, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, 0, err
	}
	return g.next.List(ctx, f)
}

func (g guardJobs) ListAfter(ctx context.Context, f JobFilters, cursor string) (Page[*Job], error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return Page[*Job]{}, err
	}
	return g.next.ListAfter(ctx, f, cursor)
}

func (g guardJobs) MarkStarted(ctx context.Context, id string) (*Job, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.MarkStarted(ctx, id)
}

func (g guardJobs) Cancel(ctx context.Context, id, code, message string) (*Job, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.Cancel(ctx, id, code, message)
}

func (g guardJobs) MarkSucceeded(ctx context.Context, lock *JobLock, metadata map[string]string) (*Job, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.MarkSucceeded(ctx, lock, metadata)
}

func (g guardJobs) MarkFailed(ctx context.Context, lock *JobLock, code, message string) (*Job, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.MarkFailed(ctx, lock, code, message)
}

func (g guardJobs) MarkRetry(ctx context.Context, lock *JobLock, code, message string, after time.Duration) (*Job, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.MarkRetry(ctx, lock, code, message, after)
}

func (g guardJobs) LockRunnable(ctx context.Context, q RunnableQuery) ([]Runnable, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.LockRunnable(ctx, q)
}

func (g guardJobs) ListStuck(ctx context.Context, limit int) ([]*Job, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.ListStuck(ctx, limit)
}

func (g guardJobs) Requeue(ctx context.Context, id string) (*Job, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.Requeue(ctx, id)
}

type guardLocks struct {
	next JobLockStore
	c    *config
}

func (g guardLocks) Acquire(ctx context.Context, clusterID, jobID, workerID string, ttl time.Duration) (*JobLock, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.Acquire(ctx, clusterID, jobID, workerID, ttl)
}

func (g guardLocks) Extend(ctx context.Context, lock *JobLock, ttl time.Duration) (*JobLock, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.Extend(ctx, lock, ttl)
}

func (g guardLocks) Release(ctx context.Context, lock *JobLock) error {
	if err := g.c.checkOuter(ctx); err != nil {
		return err
	}
	return g.next.Release(ctx, lock)
}

func (g guardLocks) Get(ctx context.Context, clusterID string) (*JobLock, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.Get(ctx, clusterID)
}

func (g guardLocks) DeleteExpired(ctx context.Context) (int64, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return 0, err
	}
	return g.next.DeleteExpired(ctx)
}

type guardIdempotency struct {
	next IdempotencyStore
	c    *config
}

func (g guardIdempotency) Reserve(ctx context.Context, r IdempotencyReservation) (*IdempotencyKey, bool, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, false, err
	}
	return g.next.Reserve(ctx, r)
}

func (g guardIdempotency) Complete(ctx context.Context, scope, key string, status int, body json.RawMessage) (*IdempotencyKey, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.Complete(ctx, scope, key, status, body)
}

func (g guardIdempotency) Get(ctx context.Context, scope, key string) (*IdempotencyKey, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.Get(ctx, scope, key)
}

func (g guardIdempotency) DeleteExpired(ctx context.Context) (int64, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return 0, err
	}
	return g.next.DeleteExpired(ctx)
}

type guardRBAC struct {
	next RBACStore
	c    *config
}

func (g guardRBAC) Create(ctx context.Context, m *RBACMapping) error {
	if err := g.c.checkOuter(ctx); err != nil {
		return err
	}
	return g.next.Create(ctx, m)
}

func (g guardRBAC) GetByID(ctx context.Context, id string) (*RBACMapping, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.GetByID(ctx, id)
}

func (g guardRBAC) ListForPrincipal(ctx context.Context, arn string) ([]*RBACMapping, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.ListForPrincipal(ctx, arn)
}

func (g guardRBAC) List(ctx context.Context, f RBACFilters) ([]*RBACMapping, int, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, 0, err
	}
	return g.next.List(ctx, f)
}

func (g guardRBAC) SetEnabled(ctx context.Context, id string, enabled bool) (*RBACMapping, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.SetEnabled(ctx, id, enabled)
}

func (g guardRBAC) Delete(ctx context.Context, id string) error {
	if err := g.c.checkOuter(ctx); err != nil {
		return err
	}
	return g.next.Delete(ctx, id)
}

type guardAudit struct {
	next AuditStore
	c    *config
}

func (g guardAudit) Log(ctx context.Context, e *AuditEvent) error {
	if err := g.c.checkOuter(ctx); err != nil {
		return err
	}
	return g.next.Log(ctx, e)
}

func (g guardAudit) List(ctx context.Context, f AuditFilters) ([]*AuditEvent, int, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, 0, err
	}
	return g.next.List(ctx, f)
}

func (g guardAudit) ListAfter(ctx context.Context, f AuditFilters, cursor string) (Page[*AuditEvent], error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return Page[*AuditEvent]{}, err
	}
	return g.next.ListAfter(ctx, f, cursor)
}

func (g guardAudit) Purge(ctx context.Context, before time.Time) (int64, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return 0, err
	}
	return g.next.Purge(ctx, before)
}

type guardOutputs struct {
	next OutputStore
	c    *config
}

func (g guardOutputs) Upsert(ctx context.Context, o *ClusterOutputs) error {
	if err := g.c.checkOuter(ctx); err != nil {
		return err
	}
	return g.next.Upsert(ctx, o)
}

func (g guardOutputs) Get(ctx context.Context, clusterID string) (*ClusterOutputs, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.Get(ctx, clusterID)
}

func (g guardOutputs) Delete(ctx context.Context, clusterID string) error {
	if err := g.c.checkOuter(ctx); err != nil {
		return err
	}
	return g.next.Delete(ctx, clusterID)
}

func (g guardOutputs) AddArtifact(ctx context.Context, a *ClusterArtifact) error {
	if err := g.c.checkOuter(ctx); err != nil {
		return err
	}
	return g.next.AddArtifact(ctx, a)
}

func (g guardOutputs) ListArtifacts(ctx context.Context, clusterID string, t *ArtifactType) ([]*ClusterArtifact, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.ListArtifacts(ctx, clusterID, t)
}

type guardUsage struct {
	next UsageStore
	c    *config
}

func (g guardUsage) Record(ctx context.Context, s *UsageSample) error {
	if err := g.c.checkOuter(ctx); err != nil {
		return err
	}
	return g.next.Record(ctx, s)
}

func (g guardUsage) RecordBatch(ctx context.Context, samples []*UsageSample) error {
	if err := g.c.checkOuter(ctx); err != nil {
		return err
	}
	return g.next.RecordBatch(ctx, samples)
}

func (g guardUsage) List(ctx context.Context, clusterID string, from, to time.Time) ([]*UsageSample, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.List(ctx, clusterID, from, to)
}

func (g guardUsage) SummarizeByCluster(ctx context.Context, r UsageRange) ([]UsageSummary, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.SummarizeByCluster(ctx, r)
}

func (g guardUsage) SummarizeByTeam(ctx context.Context, r UsageRange) ([]UsageSummary, error) {
	if err := g.c.checkOuter(ctx); err != nil {
		return nil, err
	}
	return g.next.SummarizeByTeam(ctx, r)
}
