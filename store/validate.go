package store

import (
	"encoding/json"
	"math"
	"time"
	"unicode/utf8"
)

// The validation rules of every input type. The user API runs them
// before it calls the backend (see run.go), which never validates.

func (c *Cluster) validate() error {
	if c == nil {
		return invalid("cluster", "must not be nil")
	}
	var k checker
	k.optionalID("cluster.id", c.ID)
	k.required("cluster.name", c.Name, MaxNameLen)
	k.enum("cluster.platform", c.Platform.Valid(), string(c.Platform))
	if c.ClusterType != "" {
		k.enum("cluster.cluster_type", c.ClusterType.Valid(), string(c.ClusterType))
	}
	k.required("cluster.version", c.Version, MaxNameLen)
	k.required("cluster.profile", c.Profile, MaxNameLen)
	k.required("cluster.region", c.Region, MaxNameLen)
	k.optional("cluster.base_domain", c.BaseDomain, MaxNameLen)
	k.required("cluster.owner", c.Owner, MaxNameLen)
	k.uuid("cluster.owner_id", c.OwnerID)
	k.required("cluster.team", c.Team, MaxNameLen)
	k.required("cluster.cost_center", c.CostCenter, MaxNameLen)
	if c.Status != "" {
		k.enum("cluster.status", c.Status.Valid(), string(c.Status))
	}
	k.required("cluster.requested_by", c.RequestedBy, MaxNameLen)
	if c.TTLHours <= 0 || c.TTLHours > math.MaxInt32 {
		k.fail("cluster.ttl_hours", "must be positive")
	}
	k.optionalTime("cluster.destroy_at", c.DestroyAt)
	k.tags("cluster.request_tags", c.RequestTags)
	k.tags("cluster.effective_tags", c.EffectiveTags)
	k.optional("cluster.ssh_public_key", c.SSHPublicKey, MaxTextLen)
	checkSchedule(&k, "cluster", c.WorkHoursStart, c.WorkHoursEnd, c.WorkDays)
	k.optional("cluster.credentials_mode", c.CredentialsMode, MaxNameLen)
	return k.err
}

func checkSchedule(k *checker, prefix string, start, end *TimeOfDay, days *WorkDays) {
	if start != nil && !start.Valid() {
		k.fail(prefix+".work_hours_start", "must be within a day")
	}
	if end != nil && !end.Valid() {
		k.fail(prefix+".work_hours_end", "must be within a day")
	}
	if days != nil && !days.Valid() {
		k.fail(prefix+".work_days", "only bits 0 (Sunday) to 6 (Saturday) may be set")
	}
}

func (f *ClusterFilters) validate() error {
	var k checker
	k.optional("filters.team", f.Team, MaxNameLen)
	k.optional("filters.owner", f.Owner, MaxNameLen)
	k.uuid("filters.owner_id", f.OwnerID)
	if f.Status != nil {
		k.enum("filters.status", f.Status.Valid(), string(*f.Status))
	}
	if f.Platform != nil {
		k.enum("filters.platform", f.Platform.Valid(), string(*f.Platform))
	}
	if f.ClusterType != nil {
		k.enum("filters.cluster_type", f.ClusterType.Valid(), string(*f.ClusterType))
	}
	k.optional("filters.profile", f.Profile, MaxNameLen)
	k.optional("filters.region", f.Region, MaxNameLen)
	k.enum("filters.sort", f.Sort.Valid(), string(f.Sort))
	k.page(f.Limit, f.Offset)
	return k.err
}

func (u *ClusterUpdate) validate() error {
	var k checker
	k.optionalTime("update.destroy_at", u.DestroyAt)
	if u.TTLHours != nil && (*u.TTLHours <= 0 || *u.TTLHours > math.MaxInt32) {
		k.fail("update.ttl_hours", "must be positive")
	}
	if u.EffectiveTags != nil {
		k.tags("update.effective_tags", *u.EffectiveTags)
	}
	checkSchedule(&k, "update", u.WorkHoursStart, u.WorkHoursEnd, u.WorkDays)
	k.optional("update.credentials_mode", u.CredentialsMode, MaxNameLen)
	if *u == (ClusterUpdate{}) {
		k.fail("update", "sets no field")
	}
	return k.err
}

func (j *Job) validate() error {
	if j == nil {
		return invalid("job", "must not be nil")
	}
	var k checker
	k.optionalID("job.id", j.ID)
	k.id("job.cluster_id", j.ClusterID)
	k.enum("job.job_type", j.JobType.Valid(), string(j.JobType))
	if j.Status != "" && j.Status != JobPending {
		k.fail("job.status", "a new job must be PENDING")
	}
	k.nonNegative("job.attempt", j.Attempt)
	if j.MaxAttempts < 0 || j.MaxAttempts > 1000 {
		k.fail("job.max_attempts", "must be between 0 (default) and 1000")
	}
	k.tags("job.metadata", j.Metadata)
	return k.err
}

func (f *JobFilters) validate() error {
	var k checker
	if f.ClusterID != nil {
		k.id("filters.cluster_id", *f.ClusterID)
	}
	if f.Status != nil {
		k.enum("filters.status", f.Status.Valid(), string(*f.Status))
	}
	if f.JobType != nil {
		k.enum("filters.job_type", f.JobType.Valid(), string(*f.JobType))
	}
	k.enum("filters.sort", f.Sort.Valid(), string(f.Sort))
	k.page(f.Limit, f.Offset)
	return k.err
}

func checkJobTypes(k *checker, types []JobType) {
	for _, t := range types {
		k.enum("job_types", t.Valid(), string(t))
	}
}

func (q *RunnableQuery) validate() error {
	var k checker
	checkJobTypes(&k, q.JobTypes)
	if q.Limit < 1 || q.Limit > MaxLimit {
		k.fail("limit", "must be between 1 and %d", MaxLimit)
	}
	return k.err
}

func (p *ClaimParams) validate() error {
	var k checker
	k.required("worker_id", p.WorkerID, MaxNameLen)
	k.ttl("lock_ttl", p.LockTTL)
	checkJobTypes(&k, p.JobTypes)
	return k.err
}

func (o *Outcome) validate() error {
	var k checker
	switch o.kind {
	case outcomeSucceeded:
		k.tags("metadata", o.metadata)
	case outcomeFailed, outcomeRetry:
		checkFailure(&k, o.code, o.msg)
		if o.kind == outcomeRetry {
			k.delay("after", o.retryAfter)
		}
	default:
		k.fail("outcome", "use Succeeded, Failed or Retry")
	}
	return k.err
}

func checkFailure(k *checker, code, message string) {
	k.required("code", code, MaxErrorCodeLen)
	k.text("message", message, MaxTextLen)
}

func validateLock(field string, l *JobLock) error {
	if l == nil {
		return invalid(field, "must not be nil")
	}
	if validID(l.ClusterID) && validID(l.JobID) && l.Token > 0 {
		return nil // the common case, without building field names
	}
	var k checker
	k.id(field+".cluster_id", l.ClusterID)
	k.id(field+".job_id", l.JobID)
	if l.Token <= 0 {
		k.fail(field+".token", "must be positive")
	}
	return k.err
}

func validateAcquire(clusterID, jobID, workerID string, ttl time.Duration) error {
	var k checker
	k.id("cluster_id", clusterID)
	k.id("job_id", jobID)
	k.required("worker_id", workerID, MaxNameLen)
	k.ttl("ttl", ttl)
	return k.err
}

func (r *IdempotencyReservation) validate() error {
	var k checker
	k.required("scope", r.Scope, MaxNameLen)
	k.required("key", r.Key, MaxNameLen)
	k.required("request_hash", r.RequestHash, MaxHashLen)
	k.ttl("ttl", r.TTL)
	return k.err
}

func validateResponse(scope, key string, status int, body json.RawMessage) error {
	var k checker
	k.required("scope", scope, MaxNameLen)
	k.required("key", key, MaxNameLen)
	if status < 100 || status > 599 {
		k.fail("status_code", "must be an HTTP status (100-599)")
	}
	switch {
	case body != nil && !json.Valid(body):
		k.fail("body", "not valid JSON")
	case !utf8.Valid(body):
		// json.Valid lets bytes that are not UTF-8 through inside strings;
		// PostgreSQL's JSON column refuses them.
		k.fail("body", "not valid UTF-8")
	}
	if len(body) > MaxTextLen {
		k.fail("body", "longer than %d bytes", MaxTextLen)
	}
	return k.err
}

func (m *RBACMapping) validate() error {
	if m == nil {
		return invalid("mapping", "must not be nil")
	}
	var k checker
	k.optionalID("mapping.id", m.ID)
	k.required("mapping.iam_principal_arn", m.IAMPrincipalARN, MaxARNLen)
	k.enum("mapping.iam_principal_type", m.IAMPrincipalType.Valid(), string(m.IAMPrincipalType))
	k.required("mapping.team", m.Team, MaxNameLen)
	k.enum("mapping.role", m.Role.Valid(), string(m.Role))
	k.optional("mapping.created_by", m.CreatedBy, MaxARNLen)
	k.optional("mapping.notes", m.Notes, MaxTextLen)
	return k.err
}

func (f *RBACFilters) validate() error {
	var k checker
	k.optional("filters.iam_principal_arn", f.IAMPrincipalARN, MaxARNLen)
	k.optional("filters.team", f.Team, MaxNameLen)
	if f.Role != nil {
		k.enum("filters.role", f.Role.Valid(), string(*f.Role))
	}
	k.page(f.Limit, f.Offset)
	return k.err
}

func (e *AuditEvent) validate() error {
	if e == nil {
		return invalid("event", "must not be nil")
	}
	var k checker
	k.optionalID("event.id", e.ID)
	k.required("event.actor", e.Actor, MaxARNLen)
	k.required("event.action", e.Action, MaxActionLen)
	if e.TargetClusterID != nil {
		k.id("event.target_cluster_id", *e.TargetClusterID)
	}
	if e.TargetJobID != nil {
		k.id("event.target_job_id", *e.TargetJobID)
	}
	k.uuid("event.target_user_id", e.TargetUserID)
	k.enum("event.status", e.Status.Valid(), string(e.Status))
	k.tags("event.metadata", e.Metadata)
	switch {
	case e.IPAddress == nil:
	case !e.IPAddress.IsValid():
		k.fail("event.ip_address", "not a valid address")
	case e.IPAddress.Zone() != "":
		// PostgreSQL's inet has no zone: it would be dropped.
		k.fail("event.ip_address", "has an IPv6 zone (%q), which the store cannot keep", e.IPAddress.Zone())
	}
	k.optional("event.user_agent", e.UserAgent, MaxTextLen)
	return k.err
}

func (f *AuditFilters) validate() error {
	var k checker
	k.optional("filters.actor", f.Actor, MaxARNLen)
	if f.ClusterID != nil {
		k.id("filters.cluster_id", *f.ClusterID)
	}
	if f.JobID != nil {
		k.id("filters.job_id", *f.JobID)
	}
	k.optional("filters.action", f.Action, MaxActionLen)
	if f.Status != nil {
		k.enum("filters.status", f.Status.Valid(), string(*f.Status))
	}
	k.optionalTime("filters.since", f.Since)
	k.optionalTime("filters.until", f.Until)
	if f.Since != nil && f.Until != nil && !f.Since.Before(*f.Until) {
		k.fail("filters.until", "must be after since")
	}
	k.page(f.Limit, f.Offset)
	return k.err
}

func (o *ClusterOutputs) validate() error {
	if o == nil {
		return invalid("outputs", "must not be nil")
	}
	var k checker
	k.optionalID("outputs.id", o.ID)
	k.id("outputs.cluster_id", o.ClusterID)
	for _, f := range []struct {
		name string
		v    *string
	}{{"api_url", o.APIURL}, {"console_url", o.ConsoleURL}, {"kubeconfig_s3_uri", o.KubeconfigS3URI},
		{"kubeadmin_secret_ref", o.KubeadminSecretRef}, {"metadata_s3_uri", o.MetadataS3URI},
		{"dashboard_token", o.DashboardToken}, {"sa_name", o.SAName}, {"sa_namespace", o.SANamespace},
		{"sa_token", o.SAToken}, {"oc_login_command", o.OCLoginCommand}} {
		k.optional("outputs."+f.name, f.v, MaxTextLen)
	}
	k.optionalTime("outputs.sa_token_expires_at", o.SATokenExpiresAt)
	return k.err
}

func (a *ClusterArtifact) validate() error {
	if a == nil {
		return invalid("artifact", "must not be nil")
	}
	var k checker
	k.optionalID("artifact.id", a.ID)
	k.id("artifact.cluster_id", a.ClusterID)
	k.enum("artifact.artifact_type", a.ArtifactType.Valid(), string(a.ArtifactType))
	k.required("artifact.s3_uri", a.S3URI, MaxTextLen)
	k.optional("artifact.checksum", a.Checksum, MaxNameLen)
	if a.SizeBytes != nil && *a.SizeBytes < 0 {
		k.fail("artifact.size_bytes", "must not be negative")
	}
	return k.err
}

func (s *UsageSample) validate() error {
	if s == nil {
		return invalid("sample", "must not be nil")
	}
	var k checker
	k.optionalID("sample.id", s.ID)
	k.id("sample.cluster_id", s.ClusterID)
	k.time("sample.sample_time", s.SampleTime)
	k.enum("sample.state", s.State.Valid(), string(s.State))
	k.nonNegative("sample.control_plane_replicas", s.ControlPlaneReplicas)
	k.nonNegative("sample.worker_replicas", s.WorkerReplicas)
	if s.ControlPlaneReplicas > math.MaxInt32 || s.WorkerReplicas > math.MaxInt32 {
		k.fail("sample.replicas", "too large")
	}
	if c := s.EstimatedHourlyCost; c != nil && (math.IsNaN(*c) || math.Signbit(*c) || *c > MaxCost) {
		k.fail("sample.estimated_hourly_cost", "must be between 0 and %v", MaxCost)
	}
	k.tags("sample.metadata", s.Metadata)
	return k.err
}

func (r *UsageRange) validate() error {
	var k checker
	k.time("range.from", r.From)
	k.time("range.to", r.To)
	if !r.From.Before(r.To) {
		k.fail("range.to", "must be after from")
	}
	if r.ClusterID != nil {
		k.id("range.cluster_id", *r.ClusterID)
	}
	k.optional("range.team", r.Team, MaxNameLen)
	return k.err
}
