package store_test

// The invalid cases of the locks, idempotency keys, RBAC mappings, audit
// events, outputs, usage samples and worker operations (TestInvalidArguments).

import (
	"encoding/json"
	"math"
	"net/netip"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/keyring"
)

func acquire(cluster, job func(*validationFixture) string, worker string, ttl time.Duration) func(*bundle, *validationFixture) error {
	return func(b *bundle, fx *validationFixture) error {
		_, err := b.s.JobLocks.Acquire(b.ctx, cluster(fx), job(fx), worker, ttl)
		return err
	}
}

func lockInvalidCases() []invalidCase {
	fxCluster := func(fx *validationFixture) string { return fx.cluster.ID }
	fxJob := func(fx *validationFixture) string { return fx.job.ID }
	none := func(*validationFixture) string { return "" }
	return []invalidCase{
		{"AcquireEmptyClusterID", "cluster_id", acquire(none, fxJob, "w", time.Hour)},
		{"AcquireEmptyJobID", "job_id", acquire(fxCluster, none, "w", time.Hour)},
		{"AcquireEmptyWorker", "worker_id", acquire(fxCluster, fxJob, "", time.Hour)},
		{"AcquireWorkerOverColumnSize", "worker_id", acquire(fxCluster, fxJob, tooLong255, time.Hour)},
		{"AcquireZeroTTL", "ttl", acquire(fxCluster, fxJob, "w", 0)},
		{"AcquireNegativeTTL", "ttl", acquire(fxCluster, fxJob, "w", -time.Minute)},
		{"ExtendNil", "lock", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.JobLocks.Extend(b.ctx, nil, time.Hour)
			return err
		}},
		{"ExtendZeroTTL", "ttl", withLock(keep, func(b *bundle, l *store.JobLock) error {
			_, err := b.s.JobLocks.Extend(b.ctx, l, 0)
			return err
		})},
		{"ExtendNegativeToken", "lock.token", withLock(func(l *store.JobLock) { l.Token = -1 }, func(b *bundle, l *store.JobLock) error {
			_, err := b.s.JobLocks.Extend(b.ctx, l, time.Hour)
			return err
		})},
		{"ReleaseNil", "lock", func(b *bundle, _ *validationFixture) error { return b.s.JobLocks.Release(b.ctx, nil) }},
		{"ReleaseEmptyJobID", "lock.job_id", withLock(func(l *store.JobLock) { l.JobID = "" }, func(b *bundle, l *store.JobLock) error {
			return b.s.JobLocks.Release(b.ctx, l)
		})},
		{"GetEmptyClusterID", "cluster_id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.JobLocks.Get(b.ctx, "")
			return err
		}},
	}
}

func reserve(mod func(*store.IdempotencyReservation)) func(*bundle, *validationFixture) error {
	return func(b *bundle, _ *validationFixture) error {
		r := store.IdempotencyReservation{Scope: idemScope, Key: idemKey, RequestHash: "h", TTL: time.Hour}
		mod(&r)
		_, _, err := b.s.Idempotency.Reserve(b.ctx, r)
		return err
	}
}

func complete(scope string, status int, body string) func(*bundle, *validationFixture) error {
	return func(b *bundle, _ *validationFixture) error {
		_, err := b.s.Idempotency.Complete(b.ctx, scope, idemKey, status, json.RawMessage(body))
		return err
	}
}

func idempotencyInvalidCases() []invalidCase {
	return []invalidCase{
		{"ReserveEmptyScope", "scope", reserve(func(r *store.IdempotencyReservation) { r.Scope = "" })},
		{"ReserveEmptyKey", "key", reserve(func(r *store.IdempotencyReservation) { r.Key = "" })},
		{"ReserveKeyOverColumnSize", "key", reserve(func(r *store.IdempotencyReservation) { r.Key = tooLong255 })},
		{"ReserveKeyWithNUL", "key", reserve(func(r *store.IdempotencyReservation) { r.Key = nul })},
		{"ReserveEmptyHash", "request_hash", reserve(func(r *store.IdempotencyReservation) { r.RequestHash = "" })},
		{"ReserveHashOverColumnSize", "request_hash", reserve(func(r *store.IdempotencyReservation) {
			r.RequestHash = long(store.MaxHashLen + 1)
		})},
		{"ReserveZeroTTL", "ttl", reserve(func(r *store.IdempotencyReservation) { r.TTL = 0 })},
		{"ReserveNegativeTTL", "ttl", reserve(func(r *store.IdempotencyReservation) { r.TTL = -time.Hour })},
		{"CompleteStatusBelow100", "status_code", complete(idemScope, 99, `{}`)},
		{"CompleteStatusOver599", "status_code", complete(idemScope, 600, `{}`)},
		{"CompleteBodyNotJSON", "body", complete(idemScope, 200, `{"a":`)},
		{"CompleteEmptyScope", "scope", complete("", 200, `{}`)},
		{"GetEmptyKey", "key", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Idempotency.Get(b.ctx, idemScope, "")
			return err
		}},
	}
}

func createMapping(mod func(*store.RBACMapping)) func(*bundle, *validationFixture) error {
	return func(b *bundle, _ *validationFixture) error {
		m := &store.RBACMapping{IAMPrincipalARN: "arn:aws:iam::1:user/ann", IAMPrincipalType: store.PrincipalUser,
			Team: "team-a", Role: store.RoleRequester, Enabled: true}
		mod(m)
		return b.s.RBAC.Create(b.ctx, m)
	}
}

func listMappings(f store.RBACFilters) func(*bundle, *validationFixture) error {
	return func(b *bundle, _ *validationFixture) error {
		_, _, err := b.s.RBAC.List(b.ctx, f)
		return err
	}
}

func rbacInvalidCases() []invalidCase {
	return []invalidCase{
		{"CreateNil", "mapping", func(b *bundle, _ *validationFixture) error { return b.s.RBAC.Create(b.ctx, nil) }},
		{"EmptyARN", "mapping.iam_principal_arn", createMapping(func(m *store.RBACMapping) { m.IAMPrincipalARN = "" })},
		{"ARNOverColumnSize", "mapping.iam_principal_arn", createMapping(func(m *store.RBACMapping) {
			m.IAMPrincipalARN = long(store.MaxARNLen + 1)
		})},
		{"UnknownPrincipalType", "mapping.iam_principal_type", createMapping(func(m *store.RBACMapping) { m.IAMPrincipalType = "robot" })},
		{"EmptyTeam", "mapping.team", createMapping(func(m *store.RBACMapping) { m.Team = "" })},
		{"UnknownRole", "mapping.role", createMapping(func(m *store.RBACMapping) { m.Role = "owner" })},
		{"CreatedByOverColumnSize", "mapping.created_by", createMapping(func(m *store.RBACMapping) {
			m.CreatedBy = ptr(long(store.MaxARNLen + 1))
		})},
		{"NotesWithNUL", "mapping.notes", createMapping(func(m *store.RBACMapping) { m.Notes = &nul })},
		{"GetEmptyID", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.RBAC.GetByID(b.ctx, "")
			return err
		}},
		{"SetEnabledEmptyID", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.RBAC.SetEnabled(b.ctx, "", true)
			return err
		}},
		{"DeleteEmptyID", "id", func(b *bundle, _ *validationFixture) error { return b.s.RBAC.Delete(b.ctx, "") }},
		{"ListForEmptyPrincipal", "arn", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.RBAC.ListForPrincipal(b.ctx, "")
			return err
		}},
		{"ListUnknownRole", "filters.role", listMappings(store.RBACFilters{Role: ptr(store.Role("owner"))})},
		{"ListARNNotUTF8", "filters.iam_principal_arn", listMappings(store.RBACFilters{IAMPrincipalARN: &badUTF8})},
		{"ListNegativeLimit", "limit", listMappings(store.RBACFilters{Limit: -1})},
		{"ListNegativeOffset", "offset", listMappings(store.RBACFilters{Offset: -1})},
	}
}

func logEvent(mod func(*store.AuditEvent)) func(*bundle, *validationFixture) error {
	return func(b *bundle, fx *validationFixture) error {
		e := &store.AuditEvent{Actor: "ann", Action: "cluster.create", TargetClusterID: &fx.cluster.ID, Status: store.AuditSuccess}
		mod(e)
		return b.s.Audit.Log(b.ctx, e)
	}
}

func listEvents(f store.AuditFilters) func(*bundle, *validationFixture) error {
	return func(b *bundle, _ *validationFixture) error {
		_, _, err := b.s.Audit.List(b.ctx, f)
		return err
	}
}

func auditInvalidCases() []invalidCase {
	return []invalidCase{
		{"LogNil", "event", func(b *bundle, _ *validationFixture) error { return b.s.Audit.Log(b.ctx, nil) }},
		{"EmptyActor", "event.actor", logEvent(func(e *store.AuditEvent) { e.Actor = "" })},
		{"ActorOverColumnSize", "event.actor", logEvent(func(e *store.AuditEvent) { e.Actor = long(store.MaxARNLen + 1) })},
		{"EmptyAction", "event.action", logEvent(func(e *store.AuditEvent) { e.Action = "" })},
		{"ActionOverColumnSize", "event.action", logEvent(func(e *store.AuditEvent) { e.Action = long(store.MaxActionLen + 1) })},
		{"UnknownStatus", "event.status", logEvent(func(e *store.AuditEvent) { e.Status = "MAYBE" })},
		{"EmptyStatus", "event.status", logEvent(func(e *store.AuditEvent) { e.Status = "" })},
		{"EmptyTargetClusterID", "event.target_cluster_id", logEvent(func(e *store.AuditEvent) { e.TargetClusterID = ptr("") })},
		{"TargetJobIDWithNUL", "event.target_job_id", logEvent(func(e *store.AuditEvent) { e.TargetJobID = &nul })},
		{"TargetUserNotUUID", "event.target_user_id", logEvent(func(e *store.AuditEvent) { e.TargetUserID = ptr("ann") })},
		{"MetadataKeyNotUTF8", "event.metadata key", logEvent(func(e *store.AuditEvent) { e.Metadata = map[string]string{badUTF8: "v"} })},
		{"InvalidIPAddress", "event.ip_address", logEvent(func(e *store.AuditEvent) { e.IPAddress = &netip.Addr{} })},
		{"UserAgentNotUTF8", "event.user_agent", logEvent(func(e *store.AuditEvent) { e.UserAgent = &badUTF8 })},
		{"ListUntilNotAfterSince", "filters.until", listEvents(store.AuditFilters{Since: ptr(epoch), Until: ptr(epoch)})},
		{"ListUnknownStatus", "filters.status", listEvents(store.AuditFilters{Status: ptr(store.AuditStatus("MAYBE"))})},
		{"ListEmptyJobID", "filters.job_id", listEvents(store.AuditFilters{JobID: ptr("")})},
		{"ListActionOverColumnSize", "filters.action", listEvents(store.AuditFilters{Action: ptr(long(store.MaxActionLen + 1))})},
		{"ListLimitOverMax", "limit", listEvents(store.AuditFilters{Limit: store.MaxLimit + 1})},
		{"ListAfterWithOffset", "filters.offset", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Audit.ListAfter(b.ctx, store.AuditFilters{Offset: 2}, "")
			return err
		}},
		{"PurgeZeroTime", "before", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Audit.Purge(b.ctx, time.Time{})
			return err
		}},
	}
}

func upsertOutputs(mod func(*store.ClusterOutputs)) func(*bundle, *validationFixture) error {
	return func(b *bundle, fx *validationFixture) error {
		o := &store.ClusterOutputs{ClusterID: fx.cluster.ID, APIURL: ptr("https://api")}
		mod(o)
		return b.s.Outputs.Upsert(b.ctx, o)
	}
}

func addArtifact(mod func(*store.ClusterArtifact)) func(*bundle, *validationFixture) error {
	return func(b *bundle, fx *validationFixture) error {
		a := &store.ClusterArtifact{ClusterID: fx.cluster.ID, ArtifactType: store.ArtifactLog, S3URI: "s3://b/k"}
		mod(a)
		return b.s.Outputs.AddArtifact(b.ctx, a)
	}
}

func outputInvalidCases() []invalidCase {
	return []invalidCase{
		{"UpsertNil", "outputs", func(b *bundle, _ *validationFixture) error { return b.s.Outputs.Upsert(b.ctx, nil) }},
		{"UpsertEmptyClusterID", "outputs.cluster_id", upsertOutputs(func(o *store.ClusterOutputs) { o.ClusterID = "" })},
		{"UpsertAPIURLWithNUL", "outputs.api_url", upsertOutputs(func(o *store.ClusterOutputs) { o.APIURL = &nul })},
		{"UpsertNamespaceNotUTF8", "outputs.sa_namespace", upsertOutputs(func(o *store.ClusterOutputs) { o.SANamespace = &badUTF8 })},
		{"GetEmptyClusterID", "cluster_id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Outputs.Get(b.ctx, "")
			return err
		}},
		{"DeleteEmptyClusterID", "cluster_id", func(b *bundle, _ *validationFixture) error { return b.s.Outputs.Delete(b.ctx, "") }},
		{"RotateZeroBatch", "batch_size", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Outputs.Rotate(b.ctx, 0)
			return err
		}},
		{"RotateBatchOverMax", "batch_size", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Outputs.Rotate(b.ctx, store.MaxLimit+1)
			return err
		}},
		{"KeyStatusZeroBatch", "batch_size", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Outputs.KeyStatus(b.ctx, 0)
			return err
		}},
		{"UpsertSATokenLooksSealed", "outputs.sa_token", upsertOutputs(func(o *store.ClusterOutputs) {
			o.SAToken = ptr(keyring.KeyPrefix("k1") + "AAAA")
		})},
		{"AddArtifactNil", "artifact", func(b *bundle, _ *validationFixture) error { return b.s.Outputs.AddArtifact(b.ctx, nil) }},
		{"ArtifactEmptyClusterID", "artifact.cluster_id", addArtifact(func(a *store.ClusterArtifact) { a.ClusterID = "" })},
		{"ArtifactUnknownType", "artifact.artifact_type", addArtifact(func(a *store.ClusterArtifact) { a.ArtifactType = "CORE_DUMP" })},
		{"ArtifactEmptyS3URI", "artifact.s3_uri", addArtifact(func(a *store.ClusterArtifact) { a.S3URI = "" })},
		{"ArtifactChecksumOverColumnSize", "artifact.checksum", addArtifact(func(a *store.ClusterArtifact) { a.Checksum = &tooLong255 })},
		{"ArtifactNegativeSize", "artifact.size_bytes", addArtifact(func(a *store.ClusterArtifact) { a.SizeBytes = ptr(int64(-1)) })},
		{"ListArtifactsUnknownType", "artifact_type", func(b *bundle, fx *validationFixture) error {
			_, err := b.s.Outputs.ListArtifacts(b.ctx, fx.cluster.ID, ptr(store.ArtifactType("CORE_DUMP")))
			return err
		}},
		{"ListArtifactsEmptyClusterID", "cluster_id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Outputs.ListArtifacts(b.ctx, "", nil)
			return err
		}},
	}
}

// goodSample returns a valid sample of the fixture cluster at hour h after epoch.
func goodSample(fx *validationFixture, h int) *store.UsageSample {
	return &store.UsageSample{ClusterID: fx.cluster.ID, SampleTime: epoch.Add(time.Duration(h) * time.Hour),
		State: store.ClusterReady, ControlPlaneReplicas: 3, WorkerReplicas: 3, EstimatedHourlyCost: ptr(1.0)}
}

func record(mod func(*store.UsageSample)) func(*bundle, *validationFixture) error {
	return func(b *bundle, fx *validationFixture) error {
		s := goodSample(fx, 1)
		mod(s)
		return b.s.Usage.Record(b.ctx, s)
	}
}

func summarize(r store.UsageRange) func(*bundle, *validationFixture) error {
	return func(b *bundle, _ *validationFixture) error {
		_, err := b.s.Usage.SummarizeByCluster(b.ctx, r)
		return err
	}
}

func usageInvalidCases() []invalidCase {
	return []invalidCase{
		{"RecordNil", "sample", func(b *bundle, _ *validationFixture) error { return b.s.Usage.Record(b.ctx, nil) }},
		{"EmptyClusterID", "sample.cluster_id", record(func(s *store.UsageSample) { s.ClusterID = "" })},
		{"ZeroSampleTime", "sample.sample_time", record(func(s *store.UsageSample) { s.SampleTime = time.Time{} })},
		{"UnknownState", "sample.state", record(func(s *store.UsageSample) { s.State = "ON" })},
		{"NegativeControlPlane", "sample.control_plane_replicas", record(func(s *store.UsageSample) { s.ControlPlaneReplicas = -1 })},
		{"NegativeWorkers", "sample.worker_replicas", record(func(s *store.UsageSample) { s.WorkerReplicas = -1 })},
		{"NegativeCost", "sample.estimated_hourly_cost", record(func(s *store.UsageSample) { s.EstimatedHourlyCost = ptr(-0.01) })},
		{"NaNCost", "sample.estimated_hourly_cost", record(func(s *store.UsageSample) { s.EstimatedHourlyCost = ptr(math.NaN()) })},
		{"CostOverColumnSize", "sample.estimated_hourly_cost", record(func(s *store.UsageSample) {
			s.EstimatedHourlyCost = ptr(store.MaxCost * 10)
		})},
		{"MetadataEmptyKey", "sample.metadata key", record(func(s *store.UsageSample) { s.Metadata = map[string]string{"": "v"} })},
		{"BatchEmpty", "samples", func(b *bundle, _ *validationFixture) error {
			return b.s.Usage.RecordBatch(b.ctx, []*store.UsageSample{})
		}},
		{"BatchNil", "samples", func(b *bundle, _ *validationFixture) error { return b.s.Usage.RecordBatch(b.ctx, nil) }},
		{"BatchRepeatsAnInstant", "samples[1]", func(b *bundle, fx *validationFixture) error {
			return b.s.Usage.RecordBatch(b.ctx, []*store.UsageSample{goodSample(fx, 2), goodSample(fx, 2)})
		}},
		{"BatchWithOneInvalidSample", "sample.state", func(b *bundle, fx *validationFixture) error {
			bad := goodSample(fx, 3)
			bad.State = "ON"
			return b.s.Usage.RecordBatch(b.ctx, []*store.UsageSample{goodSample(fx, 2), bad})
		}},
		{"BatchWithNilSample", "sample", func(b *bundle, fx *validationFixture) error {
			return b.s.Usage.RecordBatch(b.ctx, []*store.UsageSample{goodSample(fx, 2), nil})
		}},
		{"ListEmptyRange", "range.to", func(b *bundle, fx *validationFixture) error {
			_, err := b.s.Usage.List(b.ctx, fx.cluster.ID, epoch, epoch)
			return err
		}},
		{"ListZeroFrom", "range.from", func(b *bundle, fx *validationFixture) error {
			_, err := b.s.Usage.List(b.ctx, fx.cluster.ID, time.Time{}, epoch)
			return err
		}},
		{"ListEmptyClusterID", "range.cluster_id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Usage.List(b.ctx, "", epoch, epoch.Add(time.Hour))
			return err
		}},
		{"SummarizeToBeforeFrom", "range.to", summarize(store.UsageRange{From: epoch, To: epoch.Add(-time.Hour)})},
		{"SummarizeTeamWithNUL", "range.team", summarize(store.UsageRange{From: epoch, To: epoch.Add(time.Hour), Team: &nul})},
		{"SummarizeByTeamZeroTo", "range.to", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Usage.SummarizeByTeam(b.ctx, store.UsageRange{From: epoch})
			return err
		}},
	}
}

func claimWith(p store.ClaimParams) func(*bundle, *validationFixture) error {
	return func(b *bundle, _ *validationFixture) error {
		_, err := b.s.Claim(b.ctx, p)
		return err
	}
}

func finishWith(o store.Outcome) func(*bundle, *validationFixture) error {
	return withLock(keep, func(b *bundle, l *store.JobLock) error {
		_, err := b.s.Finish(b.ctx, l, o)
		return err
	})
}

func keepAlive(ttl, interval time.Duration) func(*bundle, *validationFixture) error {
	return withLock(keep, func(b *bundle, l *store.JobLock) error {
		hb, err := b.s.KeepAlive(b.ctx, l, ttl, interval)
		if hb != nil {
			hb.Stop()
		}
		return err
	})
}

func workerInvalidCases() []invalidCase {
	return []invalidCase{
		{"ClaimEmptyWorker", "worker_id", claimWith(store.ClaimParams{LockTTL: time.Hour})},
		{"ClaimWorkerNotUTF8", "worker_id", claimWith(store.ClaimParams{WorkerID: badUTF8, LockTTL: time.Hour})},
		{"ClaimZeroTTL", "lock_ttl", claimWith(store.ClaimParams{WorkerID: "w"})},
		{"ClaimUnknownJobType", "job_types", claimWith(store.ClaimParams{WorkerID: "w", LockTTL: time.Hour,
			JobTypes: []store.JobType{store.JobPostConfigure, "REBOOT"}})},
		{"FinishNilLock", "lock", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Finish(b.ctx, nil, store.Succeeded(nil))
			return err
		}},
		{"FinishZeroOutcome", "outcome", finishWith(store.Outcome{})},
		{"FinishRetryNegativeDelay", "after", finishWith(store.Retry("C", "m", -time.Minute))},
		{"FinishFailedEmptyCode", "code", finishWith(store.Failed("", "m"))},
		{"FinishSucceededEmptyMetadataKey", "metadata key", finishWith(store.Succeeded(map[string]string{"": "v"}))},
		{"KeepAliveNilLock", "lock", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.KeepAlive(b.ctx, nil, time.Hour, 0)
			return err
		}},
		{"KeepAliveZeroTTL", "ttl", keepAlive(0, 0)},
		{"KeepAliveIntervalNotShorterThanTTL", "interval", keepAlive(time.Minute, time.Minute)},
		{"KeepAliveNegativeInterval", "interval", keepAlive(time.Minute, -time.Second)},
		{"RecoverStuckEmptyActor", "actor", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.RecoverStuck(b.ctx, "", 10)
			return err
		}},
		{"RecoverStuckZeroLimit", "limit", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.RecoverStuck(b.ctx, "janitor", 0)
			return err
		}},
		{"RecoverStuckLimitOverMax", "limit", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.RecoverStuck(b.ctx, "janitor", store.MaxLimit+1)
			return err
		}},
	}
}
