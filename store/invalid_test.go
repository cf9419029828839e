package store_test

import (
	"encoding/json"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// invalidCase is one call that must be refused with ErrInvalidArgument
// naming field, before the backend is called.
type invalidCase struct {
	name  string
	field string
	call  func(b *bundle, fx *validationFixture) error
}

// idemScope and idemKey are the valid parts of the invalid reservations.
const idemScope, idemKey = "user:ann", "request-1"

// TestInvalidArguments runs every refused call of every sub-store and of
// the worker operations: each must be ErrInvalidArgument with a
// *store.ValidationError naming the field, refused before the backend is
// called (the refusing backend panics on any call). Moved here from the
// conformance suite (storetest's Validation group), where it ran once per
// backend although no backend took part.
func TestInvalidArguments(t *testing.T) {
	groups := []struct {
		name  string
		cases []invalidCase
	}{
		{"Clusters", clusterInvalidCases()},
		{"Jobs", jobInvalidCases()},
		{"Locks", lockInvalidCases()},
		{"Idempotency", idempotencyInvalidCases()},
		{"RBAC", rbacInvalidCases()},
		{"Audit", auditInvalidCases()},
		{"Outputs", outputInvalidCases()},
		{"Usage", usageInvalidCases()},
		{"Worker", workerInvalidCases()},
		{"More", moreInvalidCases()},
		{"NotStorable", exactValueCases()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			runRefused(t, g.cases)
		})
	}
}

// Bad strings shared by the cases.
var (
	nul        = "a\x00b"
	badUTF8    = "a\xffb"
	tooLong255 = long(store.MaxNameLen + 1)
)

func createCluster(mod func(*store.Cluster)) func(*bundle, *validationFixture) error {
	return func(b *bundle, _ *validationFixture) error { return b.s.Clusters.Create(b.ctx, validCluster(mod)) }
}

func listClusters(f store.ClusterFilters) func(*bundle, *validationFixture) error {
	return func(b *bundle, _ *validationFixture) error {
		_, _, err := b.s.Clusters.List(b.ctx, f)
		return err
	}
}

func updateCluster(u store.ClusterUpdate) func(*bundle, *validationFixture) error {
	return func(b *bundle, fx *validationFixture) error {
		_, err := b.s.Clusters.Update(b.ctx, fx.cluster.ID, u)
		return err
	}
}

func clusterInvalidCases() []invalidCase {
	return []invalidCase{
		{"CreateNil", "cluster", func(b *bundle, _ *validationFixture) error { return b.s.Clusters.Create(b.ctx, nil) }},
		{"EmptyName", "cluster.name", createCluster(func(c *store.Cluster) { c.Name = "" })},
		{"BlankName", "cluster.name", createCluster(func(c *store.Cluster) { c.Name = " \t" })},
		{"NameOverColumnSize", "cluster.name", createCluster(func(c *store.Cluster) { c.Name = tooLong255 })},
		{"NameWithNUL", "cluster.name", createCluster(func(c *store.Cluster) { c.Name = nul })},
		{"NameNotUTF8", "cluster.name", createCluster(func(c *store.Cluster) { c.Name = badUTF8 })},
		{"IDOverColumnSize", "cluster.id", createCluster(func(c *store.Cluster) { c.ID = long(store.MaxIDLen + 1) })},
		{"IDWithNUL", "cluster.id", createCluster(func(c *store.Cluster) { c.ID = nul })},
		{"UnknownPlatform", "cluster.platform", createCluster(func(c *store.Cluster) { c.Platform = "mars" })},
		{"EmptyPlatform", "cluster.platform", createCluster(func(c *store.Cluster) { c.Platform = "" })},
		{"UnknownClusterType", "cluster.cluster_type", createCluster(func(c *store.Cluster) { c.ClusterType = "k3s" })},
		{"UnknownStatus", "cluster.status", createCluster(func(c *store.Cluster) { c.Status = "RUNNING" })},
		{"EmptyVersion", "cluster.version", createCluster(func(c *store.Cluster) { c.Version = "" })},
		{"EmptyProfile", "cluster.profile", createCluster(func(c *store.Cluster) { c.Profile = "" })},
		{"EmptyRegion", "cluster.region", createCluster(func(c *store.Cluster) { c.Region = "" })},
		{"BaseDomainOverColumnSize", "cluster.base_domain", createCluster(func(c *store.Cluster) { c.BaseDomain = &tooLong255 })},
		{"EmptyOwner", "cluster.owner", createCluster(func(c *store.Cluster) { c.Owner = "" })},
		{"OwnerIDNotUUID", "cluster.owner_id", createCluster(func(c *store.Cluster) { c.OwnerID = ptr("not-a-uuid") })},
		{"EmptyTeam", "cluster.team", createCluster(func(c *store.Cluster) { c.Team = "" })},
		{"EmptyCostCenter", "cluster.cost_center", createCluster(func(c *store.Cluster) { c.CostCenter = "" })},
		{"EmptyRequestedBy", "cluster.requested_by", createCluster(func(c *store.Cluster) { c.RequestedBy = "" })},
		{"ZeroTTL", "cluster.ttl_hours", createCluster(func(c *store.Cluster) { c.TTLHours = 0 })},
		{"NegativeTTL", "cluster.ttl_hours", createCluster(func(c *store.Cluster) { c.TTLHours = -1 })},
		{"TTLOverInt32", "cluster.ttl_hours", createCluster(func(c *store.Cluster) { c.TTLHours = math.MaxInt32 + 1 })},
		{"EmptyTagKey", "cluster.request_tags key", createCluster(func(c *store.Cluster) { c.RequestTags = map[string]string{"": "v"} })},
		{"TagValueWithNUL", "cluster.effective_tags[k]", createCluster(func(c *store.Cluster) { c.EffectiveTags = map[string]string{"k": nul} })},
		{"SSHKeyNotUTF8", "cluster.ssh_public_key", createCluster(func(c *store.Cluster) { c.SSHPublicKey = &badUTF8 })},
		{"WorkHoursStartPastMidnight", "cluster.work_hours_start", createCluster(func(c *store.Cluster) {
			c.WorkHoursStart = ptr(store.TimeOfDay(24 * time.Hour))
		})},
		{"WorkHoursStartSubMicrosecond", "cluster.work_hours_start", createCluster(func(c *store.Cluster) {
			c.WorkHoursStart = ptr(store.TimeOfDay(time.Nanosecond))
		})},
		{"WorkHoursEndNegative", "cluster.work_hours_end", createCluster(func(c *store.Cluster) {
			c.WorkHoursEnd = ptr(store.TimeOfDay(-time.Minute))
		})},
		{"WorkDaysUnknownBit", "cluster.work_days", createCluster(func(c *store.Cluster) { c.WorkDays = ptr(store.WorkDays(1 << 7)) })},
		{"CredentialsModeOverColumnSize", "cluster.credentials_mode", createCluster(func(c *store.Cluster) { c.CredentialsMode = &tooLong255 })},
		{"GetEmptyID", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Clusters.GetByID(b.ctx, "")
			return err
		}},
		{"GetIDOverColumnSize", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Clusters.GetByID(b.ctx, long(store.MaxIDLen+1))
			return err
		}},
		{"GetForUpdateEmptyID", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Clusters.GetByIDForUpdate(b.ctx, "")
			return err
		}},
		{"UpdateStatusEmptyID", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Clusters.UpdateStatus(b.ctx, "", store.ClusterDestroying)
			return err
		}},
		{"UpdateStatusUnknownStatus", "status", func(b *bundle, fx *validationFixture) error {
			_, err := b.s.Clusters.UpdateStatus(b.ctx, fx.cluster.ID, "GONE")
			return err
		}},
		{"UpdateNothing", "update", updateCluster(store.ClusterUpdate{})},
		{"UpdateZeroTTL", "update.ttl_hours", updateCluster(store.ClusterUpdate{TTLHours: ptr(0)})},
		{"UpdateEmptyTagKey", "update.effective_tags key", updateCluster(store.ClusterUpdate{EffectiveTags: ptr(map[string]string{" ": "v"})})},
		{"UpdateWorkDaysUnknownBit", "update.work_days", updateCluster(store.ClusterUpdate{WorkDays: ptr(store.WorkDays(-1))})},
		{"UpdateCredentialsModeNotUTF8", "update.credentials_mode", updateCluster(store.ClusterUpdate{CredentialsMode: &badUTF8})},
		{"UpdateEmptyID", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Clusters.Update(b.ctx, "", store.ClusterUpdate{TTLHours: ptr(1)})
			return err
		}},
		{"ListNegativeLimit", "limit", listClusters(store.ClusterFilters{Limit: -1})},
		{"ListLimitOverMax", "limit", listClusters(store.ClusterFilters{Limit: store.MaxLimit + 1})},
		{"ListNegativeOffset", "offset", listClusters(store.ClusterFilters{Offset: -1})},
		{"ListUnknownStatus", "filters.status", listClusters(store.ClusterFilters{Status: ptr(store.ClusterStatus("NOPE"))})},
		{"ListUnknownPlatform", "filters.platform", listClusters(store.ClusterFilters{Platform: ptr(store.Platform("mars"))})},
		{"ListUnknownClusterType", "filters.cluster_type", listClusters(store.ClusterFilters{ClusterType: ptr(store.ClusterType("k3s"))})},
		{"ListSortNotAllowed", "filters.sort", listClusters(store.ClusterFilters{Sort: "team"})},
		{"ListOwnerIDNotUUID", "filters.owner_id", listClusters(store.ClusterFilters{OwnerID: ptr("x")})},
		{"ListTeamWithNUL", "filters.team", listClusters(store.ClusterFilters{Team: &nul})},
		{"ListOwnerNotUTF8", "filters.owner", listClusters(store.ClusterFilters{Owner: &badUTF8})},
		{"ListProfileOverColumnSize", "filters.profile", listClusters(store.ClusterFilters{Profile: &tooLong255})},
		{"ListRegionOverColumnSize", "filters.region", listClusters(store.ClusterFilters{Region: &tooLong255})},
		{"ListAfterWithOffset", "filters.offset", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Clusters.ListAfter(b.ctx, store.ClusterFilters{Offset: 3}, "")
			return err
		}},
		{"ListAfterLimitOverMax", "limit", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Clusters.ListAfter(b.ctx, store.ClusterFilters{Limit: store.MaxLimit + 1}, "")
			return err
		}},
		{"ListExpiredZeroLimit", "limit", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Clusters.ListExpired(b.ctx, 0)
			return err
		}},
		{"ListExpiredLimitOverMax", "limit", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Clusters.ListExpired(b.ctx, store.MaxLimit+1)
			return err
		}},
	}
}

func createJob(mod func(*store.Job)) func(*bundle, *validationFixture) error {
	return func(b *bundle, fx *validationFixture) error {
		j := &store.Job{ClusterID: fx.cluster.ID, JobType: store.JobPostConfigure}
		mod(j)
		return b.s.Jobs.Create(b.ctx, j)
	}
}

func listJobs(f store.JobFilters) func(*bundle, *validationFixture) error {
	return func(b *bundle, _ *validationFixture) error {
		_, _, err := b.s.Jobs.List(b.ctx, f)
		return err
	}
}

// withLock calls fn with a copy of the fixture's current lock changed by mod.
func withLock(mod func(*store.JobLock), fn func(*bundle, *store.JobLock) error) func(*bundle, *validationFixture) error {
	return func(b *bundle, fx *validationFixture) error {
		l := *fx.lock
		mod(&l)
		return fn(b, &l)
	}
}

func keep(*store.JobLock) {}

func jobInvalidCases() []invalidCase {
	return []invalidCase{
		{"CreateNil", "job", func(b *bundle, _ *validationFixture) error { return b.s.Jobs.Create(b.ctx, nil) }},
		{"EmptyClusterID", "job.cluster_id", createJob(func(j *store.Job) { j.ClusterID = "" })},
		{"UnknownJobType", "job.job_type", createJob(func(j *store.Job) { j.JobType = "REBOOT" })},
		{"EmptyJobType", "job.job_type", createJob(func(j *store.Job) { j.JobType = "" })},
		{"NotPending", "job.status", createJob(func(j *store.Job) { j.Status = store.JobRunning })},
		{"NegativeAttempt", "job.attempt", createJob(func(j *store.Job) { j.Attempt = -1 })},
		{"NegativeMaxAttempts", "job.max_attempts", createJob(func(j *store.Job) { j.MaxAttempts = -1 })},
		{"MaxAttemptsOverMax", "job.max_attempts", createJob(func(j *store.Job) { j.MaxAttempts = 1001 })},
		{"MetadataValueWithNUL", "job.metadata[k]", createJob(func(j *store.Job) { j.Metadata = map[string]string{"k": nul} })},
		{"IDNotUTF8", "job.id", createJob(func(j *store.Job) { j.ID = badUTF8 })},
		{"GetEmptyID", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Jobs.GetByID(b.ctx, "")
			return err
		}},
		{"ListUnknownStatus", "filters.status", listJobs(store.JobFilters{Status: ptr(store.JobStatus("DONE"))})},
		{"ListUnknownJobType", "filters.job_type", listJobs(store.JobFilters{JobType: ptr(store.JobType("REBOOT"))})},
		{"ListSortNotAllowed", "filters.sort", listJobs(store.JobFilters{Sort: "status"})},
		{"ListEmptyClusterID", "filters.cluster_id", listJobs(store.JobFilters{ClusterID: ptr("")})},
		{"ListLimitOverMax", "limit", listJobs(store.JobFilters{Limit: store.MaxLimit + 1})},
		{"ListNegativeOffset", "offset", listJobs(store.JobFilters{Offset: -5})},
		{"ListAfterWithOffset", "filters.offset", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Jobs.ListAfter(b.ctx, store.JobFilters{Offset: 1}, "")
			return err
		}},
		{"MarkStartedEmptyID", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Jobs.MarkStarted(b.ctx, "")
			return err
		}},
		{"CancelEmptyCode", "code", func(b *bundle, fx *validationFixture) error {
			_, err := b.s.Jobs.Cancel(b.ctx, fx.job.ID, "", "m")
			return err
		}},
		{"CancelCodeOverColumnSize", "code", func(b *bundle, fx *validationFixture) error {
			_, err := b.s.Jobs.Cancel(b.ctx, fx.job.ID, long(store.MaxErrorCodeLen+1), "m")
			return err
		}},
		{"CancelMessageNotUTF8", "message", func(b *bundle, fx *validationFixture) error {
			_, err := b.s.Jobs.Cancel(b.ctx, fx.job.ID, "C", badUTF8)
			return err
		}},
		{"CancelEmptyID", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Jobs.Cancel(b.ctx, "", "C", "m")
			return err
		}},
		{"MarkSucceededNilLock", "lock", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Jobs.MarkSucceeded(b.ctx, nil, nil)
			return err
		}},
		{"MarkSucceededZeroToken", "lock.token", withLock(func(l *store.JobLock) { l.Token = 0 }, func(b *bundle, l *store.JobLock) error {
			_, err := b.s.Jobs.MarkSucceeded(b.ctx, l, nil)
			return err
		})},
		{"MarkSucceededEmptyClusterID", "lock.cluster_id", withLock(func(l *store.JobLock) { l.ClusterID = "" }, func(b *bundle, l *store.JobLock) error {
			_, err := b.s.Jobs.MarkSucceeded(b.ctx, l, nil)
			return err
		})},
		{"MarkSucceededEmptyMetadataKey", "metadata key", withLock(keep, func(b *bundle, l *store.JobLock) error {
			_, err := b.s.Jobs.MarkSucceeded(b.ctx, l, map[string]string{"": "v"})
			return err
		})},
		{"MarkFailedCodeOverColumnSize", "code", withLock(keep, func(b *bundle, l *store.JobLock) error {
			_, err := b.s.Jobs.MarkFailed(b.ctx, l, long(store.MaxErrorCodeLen+1), "m")
			return err
		})},
		{"MarkFailedEmptyJobID", "lock.job_id", withLock(func(l *store.JobLock) { l.JobID = "" }, func(b *bundle, l *store.JobLock) error {
			_, err := b.s.Jobs.MarkFailed(b.ctx, l, "C", "m")
			return err
		})},
		{"MarkRetryNegativeDelay", "after", withLock(keep, func(b *bundle, l *store.JobLock) error {
			_, err := b.s.Jobs.MarkRetry(b.ctx, l, "C", "m", -time.Second)
			return err
		})},
		{"MarkRetryMessageWithNUL", "message", withLock(keep, func(b *bundle, l *store.JobLock) error {
			_, err := b.s.Jobs.MarkRetry(b.ctx, l, "C", nul, time.Second)
			return err
		})},
		{"LockRunnableZeroLimit", "limit", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Jobs.LockRunnable(b.ctx, store.RunnableQuery{})
			return err
		}},
		{"LockRunnableUnknownType", "job_types", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Jobs.LockRunnable(b.ctx, store.RunnableQuery{JobTypes: []store.JobType{"REBOOT"}, Limit: 1})
			return err
		}},
		{"ListStuckZeroLimit", "limit", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Jobs.ListStuck(b.ctx, 0)
			return err
		}},
		{"RequeueEmptyID", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Jobs.Requeue(b.ctx, "")
			return err
		}},
	}
}

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
