package storetest

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// recorder notes which sub-store methods were called, as "Clusters.Create",
// so the validation coverage test can prove which method each invalid case
// reached. Its wrappers sit above the validating layer, between a case and
// the Store's sub-stores; they implement every sub-store interface, so a
// method added to one does not compile here until it is recorded too.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(method string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, method)
}

// take returns the calls recorded since the last take and forgets them.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

// wrap returns s with every sub-store recording its calls in r.
func (r *recorder) wrap(s store.Stores) store.Stores {
	return store.Stores{
		Clusters:    recClusters{r, s.Clusters},
		Jobs:        recJobs{r, s.Jobs},
		JobLocks:    recLocks{r, s.JobLocks},
		Idempotency: recIdempotency{r, s.Idempotency},
		RBAC:        recRBAC{r, s.RBAC},
		Audit:       recAudit{r, s.Audit},
		Outputs:     recOutputs{r, s.Outputs},
		Usage:       recUsage{r, s.Usage},
	}
}

type recClusters struct {
	r    *recorder
	next store.ClusterStore
}

func (w recClusters) Create(ctx context.Context, c *store.Cluster) error {
	w.r.add("Clusters.Create")
	return w.next.Create(ctx, c)
}

func (w recClusters) GetByID(ctx context.Context, id string) (*store.Cluster, error) {
	w.r.add("Clusters.GetByID")
	return w.next.GetByID(ctx, id)
}

func (w recClusters) GetByIDForUpdate(ctx context.Context, id string) (*store.Cluster, error) {
	w.r.add("Clusters.GetByIDForUpdate")
	return w.next.GetByIDForUpdate(ctx, id)
}

func (w recClusters) List(ctx context.Context, f store.ClusterFilters) ([]*store.Cluster, int, error) {
	w.r.add("Clusters.List")
	return w.next.List(ctx, f)
}

func (w recClusters) ListAfter(ctx context.Context, f store.ClusterFilters, cursor string) (store.Page[*store.Cluster], error) {
	w.r.add("Clusters.ListAfter")
	return w.next.ListAfter(ctx, f, cursor)
}

func (w recClusters) UpdateStatus(ctx context.Context, id string, to store.ClusterStatus) (*store.Cluster, error) {
	w.r.add("Clusters.UpdateStatus")
	return w.next.UpdateStatus(ctx, id, to)
}

func (w recClusters) Update(ctx context.Context, id string, u store.ClusterUpdate) (*store.Cluster, error) {
	w.r.add("Clusters.Update")
	return w.next.Update(ctx, id, u)
}

func (w recClusters) ListExpired(ctx context.Context, limit int) ([]*store.Cluster, error) {
	w.r.add("Clusters.ListExpired")
	return w.next.ListExpired(ctx, limit)
}

type recJobs struct {
	r    *recorder
	next store.JobStore
}

func (w recJobs) Create(ctx context.Context, j *store.Job) error {
	w.r.add("Jobs.Create")
	return w.next.Create(ctx, j)
}

func (w recJobs) GetByID(ctx context.Context, id string) (*store.Job, error) {
	w.r.add("Jobs.GetByID")
	return w.next.GetByID(ctx, id)
}

func (w recJobs) List(ctx context.Context, f store.JobFilters) ([]*store.Job, int, error) {
	w.r.add("Jobs.List")
	return w.next.List(ctx, f)
}

func (w recJobs) ListAfter(ctx context.Context, f store.JobFilters, cursor string) (store.Page[*store.Job], error) {
	w.r.add("Jobs.ListAfter")
	return w.next.ListAfter(ctx, f, cursor)
}

func (w recJobs) MarkStarted(ctx context.Context, id string) (*store.Job, error) {
	w.r.add("Jobs.MarkStarted")
	return w.next.MarkStarted(ctx, id)
}

func (w recJobs) Cancel(ctx context.Context, id, code, message string) (*store.Job, error) {
	w.r.add("Jobs.Cancel")
	return w.next.Cancel(ctx, id, code, message)
}

func (w recJobs) MarkSucceeded(ctx context.Context, lock *store.JobLock, metadata map[string]string) (*store.Job, error) {
	w.r.add("Jobs.MarkSucceeded")
	return w.next.MarkSucceeded(ctx, lock, metadata)
}

func (w recJobs) MarkFailed(ctx context.Context, lock *store.JobLock, code, message string) (*store.Job, error) {
	w.r.add("Jobs.MarkFailed")
	return w.next.MarkFailed(ctx, lock, code, message)
}

func (w recJobs) MarkRetry(ctx context.Context, lock *store.JobLock, code, message string, after time.Duration) (*store.Job, error) {
	w.r.add("Jobs.MarkRetry")
	return w.next.MarkRetry(ctx, lock, code, message, after)
}

func (w recJobs) LockRunnable(ctx context.Context, q store.RunnableQuery) ([]store.Runnable, error) {
	w.r.add("Jobs.LockRunnable")
	return w.next.LockRunnable(ctx, q)
}

func (w recJobs) ListStuck(ctx context.Context, limit int) ([]*store.Job, error) {
	w.r.add("Jobs.ListStuck")
	return w.next.ListStuck(ctx, limit)
}

func (w recJobs) Requeue(ctx context.Context, id string) (*store.Job, error) {
	w.r.add("Jobs.Requeue")
	return w.next.Requeue(ctx, id)
}

type recLocks struct {
	r    *recorder
	next store.JobLockStore
}

func (w recLocks) Acquire(ctx context.Context, clusterID, jobID, workerID string, ttl time.Duration) (*store.JobLock, error) {
	w.r.add("JobLocks.Acquire")
	return w.next.Acquire(ctx, clusterID, jobID, workerID, ttl)
}

func (w recLocks) Extend(ctx context.Context, lock *store.JobLock, ttl time.Duration) (*store.JobLock, error) {
	w.r.add("JobLocks.Extend")
	return w.next.Extend(ctx, lock, ttl)
}

func (w recLocks) Release(ctx context.Context, lock *store.JobLock) error {
	w.r.add("JobLocks.Release")
	return w.next.Release(ctx, lock)
}

func (w recLocks) Get(ctx context.Context, clusterID string) (*store.JobLock, error) {
	w.r.add("JobLocks.Get")
	return w.next.Get(ctx, clusterID)
}

func (w recLocks) DeleteExpired(ctx context.Context) (int64, error) {
	w.r.add("JobLocks.DeleteExpired")
	return w.next.DeleteExpired(ctx)
}

type recIdempotency struct {
	r    *recorder
	next store.IdempotencyStore
}

func (w recIdempotency) Reserve(ctx context.Context, res store.IdempotencyReservation) (*store.IdempotencyKey, bool, error) {
	w.r.add("Idempotency.Reserve")
	return w.next.Reserve(ctx, res)
}

func (w recIdempotency) Complete(ctx context.Context, scope, key string, status int, body json.RawMessage) (*store.IdempotencyKey, error) {
	w.r.add("Idempotency.Complete")
	return w.next.Complete(ctx, scope, key, status, body)
}

func (w recIdempotency) Get(ctx context.Context, scope, key string) (*store.IdempotencyKey, error) {
	w.r.add("Idempotency.Get")
	return w.next.Get(ctx, scope, key)
}

func (w recIdempotency) DeleteExpired(ctx context.Context) (int64, error) {
	w.r.add("Idempotency.DeleteExpired")
	return w.next.DeleteExpired(ctx)
}

type recRBAC struct {
	r    *recorder
	next store.RBACStore
}

func (w recRBAC) Create(ctx context.Context, m *store.RBACMapping) error {
	w.r.add("RBAC.Create")
	return w.next.Create(ctx, m)
}

func (w recRBAC) GetByID(ctx context.Context, id string) (*store.RBACMapping, error) {
	w.r.add("RBAC.GetByID")
	return w.next.GetByID(ctx, id)
}

func (w recRBAC) ListForPrincipal(ctx context.Context, arn string) ([]*store.RBACMapping, error) {
	w.r.add("RBAC.ListForPrincipal")
	return w.next.ListForPrincipal(ctx, arn)
}

func (w recRBAC) List(ctx context.Context, f store.RBACFilters) ([]*store.RBACMapping, int, error) {
	w.r.add("RBAC.List")
	return w.next.List(ctx, f)
}

func (w recRBAC) SetEnabled(ctx context.Context, id string, enabled bool) (*store.RBACMapping, error) {
	w.r.add("RBAC.SetEnabled")
	return w.next.SetEnabled(ctx, id, enabled)
}

func (w recRBAC) Delete(ctx context.Context, id string) error {
	w.r.add("RBAC.Delete")
	return w.next.Delete(ctx, id)
}

type recAudit struct {
	r    *recorder
	next store.AuditStore
}

func (w recAudit) Log(ctx context.Context, e *store.AuditEvent) error {
	w.r.add("Audit.Log")
	return w.next.Log(ctx, e)
}

func (w recAudit) List(ctx context.Context, f store.AuditFilters) ([]*store.AuditEvent, int, error) {
	w.r.add("Audit.List")
	return w.next.List(ctx, f)
}

func (w recAudit) ListAfter(ctx context.Context, f store.AuditFilters, cursor string) (store.Page[*store.AuditEvent], error) {
	w.r.add("Audit.ListAfter")
	return w.next.ListAfter(ctx, f, cursor)
}

func (w recAudit) Purge(ctx context.Context, before time.Time) (int64, error) {
	w.r.add("Audit.Purge")
	return w.next.Purge(ctx, before)
}

type recOutputs struct {
	r    *recorder
	next store.OutputStore
}

func (w recOutputs) Upsert(ctx context.Context, o *store.ClusterOutputs) error {
	w.r.add("Outputs.Upsert")
	return w.next.Upsert(ctx, o)
}

func (w recOutputs) Get(ctx context.Context, clusterID string) (*store.ClusterOutputs, error) {
	w.r.add("Outputs.Get")
	return w.next.Get(ctx, clusterID)
}

func (w recOutputs) Delete(ctx context.Context, clusterID string) error {
	w.r.add("Outputs.Delete")
	return w.next.Delete(ctx, clusterID)
}

func (w recOutputs) AddArtifact(ctx context.Context, a *store.ClusterArtifact) error {
	w.r.add("Outputs.AddArtifact")
	return w.next.AddArtifact(ctx, a)
}

func (w recOutputs) ListArtifacts(ctx context.Context, clusterID string, t *store.ArtifactType) ([]*store.ClusterArtifact, error) {
	w.r.add("Outputs.ListArtifacts")
	return w.next.ListArtifacts(ctx, clusterID, t)
}

type recUsage struct {
	r    *recorder
	next store.UsageStore
}

func (w recUsage) Record(ctx context.Context, s *store.UsageSample) error {
	w.r.add("Usage.Record")
	return w.next.Record(ctx, s)
}

func (w recUsage) RecordBatch(ctx context.Context, samples []*store.UsageSample) error {
	w.r.add("Usage.RecordBatch")
	return w.next.RecordBatch(ctx, samples)
}

func (w recUsage) List(ctx context.Context, clusterID string, from, to time.Time) ([]*store.UsageSample, error) {
	w.r.add("Usage.List")
	return w.next.List(ctx, clusterID, from, to)
}

func (w recUsage) SummarizeByCluster(ctx context.Context, r store.UsageRange) ([]store.UsageSummary, error) {
	w.r.add("Usage.SummarizeByCluster")
	return w.next.SummarizeByCluster(ctx, r)
}

func (w recUsage) SummarizeByTeam(ctx context.Context, r store.UsageRange) ([]store.UsageSummary, error) {
	w.r.add("Usage.SummarizeByTeam")
	return w.next.SummarizeByTeam(ctx, r)
}
