package memory

import (
	"bytes"
	"maps"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// Rows cross the API boundary only as deep copies: a copy of the caller's
// value is stored, and a copy of the stored row is returned, so no pointer,
// map or slice is ever shared with a caller. Copies made on the way in also
// take the shape PostgreSQL gives a value: microsecond UTC times. (Every
// other value is stored exactly on both backends, or refused by package
// store.) Inside the package rows are immutable and may be copied
// shallowly.

// utc returns t in UTC truncated to microseconds (what a timestamptz
// column stores; pgx truncates). The zero time stays zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// ptr returns a copy of *p, or nil.
func ptr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// timePtr returns a normalized copy of *p, or nil.
func timePtr(p *time.Time) *time.Time {
	if p == nil {
		return nil
	}
	t := utc(*p)
	return &t
}

func cloneCluster(c *store.Cluster) *store.Cluster {
	r := *c
	r.BaseDomain = ptr(c.BaseDomain)
	r.OwnerID = ptr(c.OwnerID)
	r.DestroyAt = timePtr(c.DestroyAt)
	r.CreatedAt, r.UpdatedAt = utc(c.CreatedAt), utc(c.UpdatedAt)
	r.DestroyedAt = timePtr(c.DestroyedAt)
	r.RequestTags = maps.Clone(c.RequestTags)
	r.EffectiveTags = maps.Clone(c.EffectiveTags)
	r.SSHPublicKey = ptr(c.SSHPublicKey)
	r.WorkHoursEnabled = ptr(c.WorkHoursEnabled)
	r.WorkHoursStart = ptr(c.WorkHoursStart)
	r.WorkHoursEnd = ptr(c.WorkHoursEnd)
	r.WorkDays = ptr(c.WorkDays)
	r.CredentialsMode = ptr(c.CredentialsMode)
	return &r
}

func cloneJob(j *store.Job) *store.Job {
	r := *j
	r.ErrorCode = ptr(j.ErrorCode)
	r.ErrorMessage = ptr(j.ErrorMessage)
	r.RetryAt = timePtr(j.RetryAt)
	r.StartedAt = timePtr(j.StartedAt)
	r.EndedAt = timePtr(j.EndedAt)
	r.CreatedAt, r.UpdatedAt = utc(j.CreatedAt), utc(j.UpdatedAt)
	r.Metadata = maps.Clone(j.Metadata)
	return &r
}

func cloneLock(l *store.JobLock) *store.JobLock {
	r := *l
	return &r
}

func cloneIdem(k *store.IdempotencyKey) *store.IdempotencyKey {
	r := *k
	r.ResponseStatusCode = ptr(k.ResponseStatusCode)
	r.ResponseBody = bytes.Clone(k.ResponseBody)
	return &r
}

func cloneRBAC(m *store.RBACMapping) *store.RBACMapping {
	r := *m
	r.CreatedAt, r.UpdatedAt = utc(m.CreatedAt), utc(m.UpdatedAt)
	r.CreatedBy = ptr(m.CreatedBy)
	r.Notes = ptr(m.Notes)
	return &r
}

func cloneAudit(e *store.AuditEvent) *store.AuditEvent {
	r := *e
	r.TargetClusterID = ptr(e.TargetClusterID)
	r.TargetJobID = ptr(e.TargetJobID)
	r.TargetUserID = ptr(e.TargetUserID)
	r.Metadata = maps.Clone(e.Metadata)
	r.IPAddress = ptr(e.IPAddress)
	r.UserAgent = ptr(e.UserAgent)
	r.CreatedAt = utc(e.CreatedAt)
	return &r
}

func cloneOutputs(o *store.ClusterOutputs) *store.ClusterOutputs {
	r := *o
	r.APIURL = ptr(o.APIURL)
	r.ConsoleURL = ptr(o.ConsoleURL)
	r.KubeconfigS3URI = ptr(o.KubeconfigS3URI)
	r.KubeadminSecretRef = ptr(o.KubeadminSecretRef)
	r.MetadataS3URI = ptr(o.MetadataS3URI)
	r.DashboardToken = ptr(o.DashboardToken)
	r.SAName = ptr(o.SAName)
	r.SANamespace = ptr(o.SANamespace)
	r.SAToken = ptr(o.SAToken)
	r.SATokenExpiresAt = timePtr(o.SATokenExpiresAt)
	r.OCLoginCommand = ptr(o.OCLoginCommand)
	r.CreatedAt, r.UpdatedAt = utc(o.CreatedAt), utc(o.UpdatedAt)
	return &r
}

func cloneArtifact(a *store.ClusterArtifact) *store.ClusterArtifact {
	r := *a
	r.Checksum = ptr(a.Checksum)
	r.SizeBytes = ptr(a.SizeBytes)
	r.CreatedAt = utc(a.CreatedAt)
	return &r
}

func cloneUsage(s *store.UsageSample) *store.UsageSample {
	r := *s
	r.SampleTime = utc(s.SampleTime)
	r.EstimatedHourlyCost = ptr(s.EstimatedHourlyCost)
	r.Metadata = maps.Clone(s.Metadata)
	return &r
}

// cloneAll returns deep copies of rows, never nil.
func cloneAll[R any](rows []*R, clone func(*R) *R) []*R {
	out := make([]*R, len(rows))
	for i, r := range rows {
		out[i] = clone(r)
	}
	return out
}
