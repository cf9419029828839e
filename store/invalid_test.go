package store_test

import (
	"math"
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
		{"EdgeValues", edgeInvalidCases()},
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
