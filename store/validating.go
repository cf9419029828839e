package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// validating wraps a backend's sub-stores so that every call is validated
// before the backend sees it: the backends may trust their input, and the
// rules live in one place for all of them.
//
// The wrappers are allocated together and handed out as pointers: a
// transaction binds them anew, and one allocation is cheaper than eight.
func validating(s Stores) Stores {
	v := &struct {
		clusters    validClusters
		jobs        validJobs
		locks       validLocks
		idempotency validIdempotency
		rbac        validRBAC
		audit       validAudit
		outputs     validOutputs
		usage       validUsage
	}{validClusters{s.Clusters}, validJobs{s.Jobs}, validLocks{s.JobLocks}, validIdempotency{s.Idempotency},
		validRBAC{s.RBAC}, validAudit{s.Audit}, validOutputs{s.Outputs}, validUsage{s.Usage}}
	return Stores{
		Clusters:    &v.clusters,
		Jobs:        &v.jobs,
		JobLocks:    &v.locks,
		Idempotency: &v.idempotency,
		RBAC:        &v.rbac,
		Audit:       &v.audit,
		Outputs:     &v.outputs,
		Usage:       &v.usage,
	}
}

func checkID(field, id string) error {
	var k checker
	k.id(field, id)
	return k.err
}

func checkLimit(limit int) error {
	if limit < 1 || limit > MaxLimit {
		return invalid("limit", "must be between 1 and %d", MaxLimit)
	}
	return nil
}

type validClusters struct{ next ClusterStore }

func (v validClusters) Create(ctx context.Context, c *Cluster) error {
	if err := c.validate(); err != nil {
		return err
	}
	return v.next.Create(ctx, c)
}

func (v validClusters) GetByID(ctx context.Context, id string) (*Cluster, error) {
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	return v.next.GetByID(ctx, id)
}

func (v validClusters) GetByIDForUpdate(ctx context.Context, id string) (*Cluster, error) {
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	return v.next.GetByIDForUpdate(ctx, id)
}

func (v validClusters) List(ctx context.Context, f ClusterFilters) ([]*Cluster, int, error) {
	if err := f.validate(); err != nil {
		return nil, 0, err
	}
	return v.next.List(ctx, f)
}

func (v validClusters) ListAfter(ctx context.Context, f ClusterFilters, cursor string) (Page[*Cluster], error) {
	if err := f.validate(); err != nil {
		return Page[*Cluster]{}, err
	}
	if f.Offset != 0 {
		return Page[*Cluster]{}, invalid("filters.offset", "must be 0 with a cursor")
	}
	if err := checkCursor(cursor, string(orDefault(f.Sort, ClusterByCreatedAt)), f.Desc); err != nil {
		return Page[*Cluster]{}, err
	}
	return v.next.ListAfter(ctx, f, cursor)
}

func (v validClusters) UpdateStatus(ctx context.Context, id string, to ClusterStatus) (*Cluster, error) {
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	if !to.Valid() {
		return nil, invalid("status", "unknown value %q", to)
	}
	return v.next.UpdateStatus(ctx, id, to)
}

func (v validClusters) Update(ctx context.Context, id string, u ClusterUpdate) (*Cluster, error) {
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	if err := u.validate(); err != nil {
		return nil, err
	}
	return v.next.Update(ctx, id, u)
}

func (v validClusters) ListExpired(ctx context.Context, limit int) ([]*Cluster, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	return v.next.ListExpired(ctx, limit)
}

// orDefault returns s, or def when s is empty.
func orDefault[S ~string](s, def S) S {
	if s == "" {
		return def
	}
	return s
}

// checkCursor checks a non-empty cursor against the listing's sort.
func checkCursor(cursor, sort string, desc bool) error {
	if cursor == "" {
		return nil
	}
	_, err := DecodeCursor(cursor, sort, desc)
	return err
}

type validJobs struct{ next JobStore }

func (v validJobs) Create(ctx context.Context, j *Job) error {
	if err := j.validate(); err != nil {
		return err
	}
	return v.next.Create(ctx, j)
}

func (v validJobs) GetByID(ctx context.Context, id string) (*Job, error) {
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	return v.next.GetByID(ctx, id)
}

func (v validJobs) List(ctx context.Context, f JobFilters) ([]*Job, int, error) {
	if err := f.validate(); err != nil {
		return nil, 0, err
	}
	return v.next.List(ctx, f)
}

func (v validJobs) ListAfter(ctx context.Context, f JobFilters, cursor string) (Page[*Job], error) {
	if err := f.validate(); err != nil {
		return Page[*Job]{}, err
	}
	if f.Offset != 0 {
		return Page[*Job]{}, invalid("filters.offset", "must be 0 with a cursor")
	}
	if err := checkCursor(cursor, string(orDefault(f.Sort, JobByCreatedAt)), f.Desc); err != nil {
		return Page[*Job]{}, err
	}
	return v.next.ListAfter(ctx, f, cursor)
}

func (v validJobs) MarkStarted(ctx context.Context, id string) (*Job, error) {
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	return v.next.MarkStarted(ctx, id)
}

func (v validJobs) Cancel(ctx context.Context, id, code, message string) (*Job, error) {
	var k checker
	k.id("id", id)
	checkFailure(&k, code, message)
	if k.err != nil {
		return nil, k.err
	}
	return v.next.Cancel(ctx, id, code, message)
}

func (v validJobs) MarkSucceeded(ctx context.Context, lock *JobLock, metadata map[string]string) (*Job, error) {
	if err := validateLock("lock", lock); err != nil {
		return nil, err
	}
	var k checker
	k.tags("metadata", metadata)
	if k.err != nil {
		return nil, k.err
	}
	return v.next.MarkSucceeded(ctx, lock, metadata)
}

func (v validJobs) MarkFailed(ctx context.Context, lock *JobLock, code, message string) (*Job, error) {
	if err := validateLock("lock", lock); err != nil {
		return nil, err
	}
	var k checker
	checkFailure(&k, code, message)
	if k.err != nil {
		return nil, k.err
	}
	return v.next.MarkFailed(ctx, lock, code, message)
}

func (v validJobs) MarkRetry(ctx context.Context, lock *JobLock, code, message string, after time.Duration) (*Job, error) {
	if err := validateLock("lock", lock); err != nil {
		return nil, err
	}
	var k checker
	checkFailure(&k, code, message)
	k.delay("after", after)
	if k.err != nil {
		return nil, k.err
	}
	return v.next.MarkRetry(ctx, lock, code, message, after)
}

func (v validJobs) LockRunnable(ctx context.Context, q RunnableQuery) ([]Runnable, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	return v.next.LockRunnable(ctx, q)
}

func (v validJobs) ListStuck(ctx context.Context, limit int) ([]*Job, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	return v.next.ListStuck(ctx, limit)
}

func (v validJobs) Requeue(ctx context.Context, id string) (*Job, error) {
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	return v.next.Requeue(ctx, id)
}

type validLocks struct{ next JobLockStore }

func (v validLocks) Acquire(ctx context.Context, clusterID, jobID, workerID string, ttl time.Duration) (*JobLock, error) {
	if err := validateAcquire(clusterID, jobID, workerID, ttl); err != nil {
		return nil, err
	}
	return v.next.Acquire(ctx, clusterID, jobID, workerID, ttl)
}

func (v validLocks) Extend(ctx context.Context, lock *JobLock, ttl time.Duration) (*JobLock, error) {
	if err := validateLock("lock", lock); err != nil {
		return nil, err
	}
	var k checker
	if k.ttl("ttl", ttl); k.err != nil {
		return nil, k.err
	}
	return v.next.Extend(ctx, lock, ttl)
}

func (v validLocks) Release(ctx context.Context, lock *JobLock) error {
	if err := validateLock("lock", lock); err != nil {
		return err
	}
	return v.next.Release(ctx, lock)
}

func (v validLocks) Get(ctx context.Context, clusterID string) (*JobLock, error) {
	if err := checkID("cluster_id", clusterID); err != nil {
		return nil, err
	}
	return v.next.Get(ctx, clusterID)
}

func (v validLocks) DeleteExpired(ctx context.Context) (int64, error) {
	return v.next.DeleteExpired(ctx)
}

type validIdempotency struct{ next IdempotencyStore }

func (v validIdempotency) Reserve(ctx context.Context, r IdempotencyReservation) (*IdempotencyKey, bool, error) {
	if err := r.validate(); err != nil {
		return nil, false, err
	}
	return v.next.Reserve(ctx, r)
}

func (v validIdempotency) Complete(ctx context.Context, scope, key string, status int, body json.RawMessage) (*IdempotencyKey, error) {
	if err := validateResponse(scope, key, status, body); err != nil {
		return nil, err
	}
	return v.next.Complete(ctx, scope, key, status, body)
}

func (v validIdempotency) Get(ctx context.Context, scope, key string) (*IdempotencyKey, error) {
	var k checker
	k.required("scope", scope, MaxNameLen)
	k.required("key", key, MaxNameLen)
	if k.err != nil {
		return nil, k.err
	}
	return v.next.Get(ctx, scope, key)
}

func (v validIdempotency) DeleteExpired(ctx context.Context) (int64, error) {
	return v.next.DeleteExpired(ctx)
}

type validRBAC struct{ next RBACStore }

func (v validRBAC) Create(ctx context.Context, m *RBACMapping) error {
	if err := m.validate(); err != nil {
		return err
	}
	return v.next.Create(ctx, m)
}

func (v validRBAC) GetByID(ctx context.Context, id string) (*RBACMapping, error) {
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	return v.next.GetByID(ctx, id)
}

func (v validRBAC) ListForPrincipal(ctx context.Context, arn string) ([]*RBACMapping, error) {
	var k checker
	k.required("arn", arn, MaxARNLen)
	if k.err != nil {
		return nil, k.err
	}
	return v.next.ListForPrincipal(ctx, arn)
}

func (v validRBAC) List(ctx context.Context, f RBACFilters) ([]*RBACMapping, int, error) {
	if err := f.validate(); err != nil {
		return nil, 0, err
	}
	return v.next.List(ctx, f)
}

func (v validRBAC) SetEnabled(ctx context.Context, id string, enabled bool) (*RBACMapping, error) {
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	return v.next.SetEnabled(ctx, id, enabled)
}

func (v validRBAC) Delete(ctx context.Context, id string) error {
	if err := checkID("id", id); err != nil {
		return err
	}
	return v.next.Delete(ctx, id)
}

type validAudit struct{ next AuditStore }

func (v validAudit) Log(ctx context.Context, e *AuditEvent) error {
	if err := e.validate(); err != nil {
		return err
	}
	return v.next.Log(ctx, e)
}

func (v validAudit) List(ctx context.Context, f AuditFilters) ([]*AuditEvent, int, error) {
	if err := f.validate(); err != nil {
		return nil, 0, err
	}
	return v.next.List(ctx, f)
}

// AuditSort is the sort name audit cursors are made for.
const AuditSort = "created_at"

func (v validAudit) ListAfter(ctx context.Context, f AuditFilters, cursor string) (Page[*AuditEvent], error) {
	if err := f.validate(); err != nil {
		return Page[*AuditEvent]{}, err
	}
	if f.Offset != 0 {
		return Page[*AuditEvent]{}, invalid("filters.offset", "must be 0 with a cursor")
	}
	if err := checkCursor(cursor, AuditSort, true); err != nil {
		return Page[*AuditEvent]{}, err
	}
	return v.next.ListAfter(ctx, f, cursor)
}

func (v validAudit) Purge(ctx context.Context, before time.Time) (int64, error) {
	var k checker
	if k.time("before", before); k.err != nil {
		return 0, k.err
	}
	return v.next.Purge(ctx, before)
}

type validOutputs struct{ next OutputStore }

func (v validOutputs) Upsert(ctx context.Context, o *ClusterOutputs) error {
	if err := o.validate(); err != nil {
		return err
	}
	return v.next.Upsert(ctx, o)
}

func (v validOutputs) Get(ctx context.Context, clusterID string) (*ClusterOutputs, error) {
	if err := checkID("cluster_id", clusterID); err != nil {
		return nil, err
	}
	return v.next.Get(ctx, clusterID)
}

func (v validOutputs) Delete(ctx context.Context, clusterID string) error {
	if err := checkID("cluster_id", clusterID); err != nil {
		return err
	}
	return v.next.Delete(ctx, clusterID)
}

func (v validOutputs) AddArtifact(ctx context.Context, a *ClusterArtifact) error {
	if err := a.validate(); err != nil {
		return err
	}
	return v.next.AddArtifact(ctx, a)
}

func (v validOutputs) ListArtifacts(ctx context.Context, clusterID string, t *ArtifactType) ([]*ClusterArtifact, error) {
	if err := checkID("cluster_id", clusterID); err != nil {
		return nil, err
	}
	if t != nil && !t.Valid() {
		return nil, invalid("artifact_type", "unknown value %q", *t)
	}
	return v.next.ListArtifacts(ctx, clusterID, t)
}

type validUsage struct{ next UsageStore }

func (v validUsage) Record(ctx context.Context, s *UsageSample) error {
	if err := s.validate(); err != nil {
		return err
	}
	return v.next.Record(ctx, s)
}

// MaxBatch is the most samples one RecordBatch accepts.
const MaxBatch = 10000

func (v validUsage) RecordBatch(ctx context.Context, samples []*UsageSample) error {
	if len(samples) == 0 || len(samples) > MaxBatch {
		return invalid("samples", "must hold 1 to %d samples", MaxBatch)
	}
	type key struct {
		cluster string
		at      int64
	}
	seen := make(map[key]bool, len(samples))
	for i, s := range samples {
		if err := s.validate(); err != nil {
			return fmt.Errorf("samples[%d]: %w", i, err)
		}
		k := key{s.ClusterID, s.SampleTime.UnixMicro()}
		if seen[k] {
			return invalid(fmt.Sprintf("samples[%d]", i), "repeats cluster %s at %s", s.ClusterID, s.SampleTime)
		}
		seen[k] = true
	}
	return v.next.RecordBatch(ctx, samples)
}

func (v validUsage) List(ctx context.Context, clusterID string, from, to time.Time) ([]*UsageSample, error) {
	r := UsageRange{From: from, To: to, ClusterID: &clusterID}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return v.next.List(ctx, clusterID, from, to)
}

func (v validUsage) SummarizeByCluster(ctx context.Context, r UsageRange) ([]UsageSummary, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	return v.next.SummarizeByCluster(ctx, r)
}

func (v validUsage) SummarizeByTeam(ctx context.Context, r UsageRange) ([]UsageSummary, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	return v.next.SummarizeByTeam(ctx, r)
}
