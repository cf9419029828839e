package store_test

import (
	"encoding/json"
	"math"
	"net/netip"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// Times outside the range the store accepts (years 1 to 9999, UTC): the
// PostgreSQL driver's encoding overflows far enough out, and would store
// another instant than the one given.
var (
	afterYear9999 = time.Date(10000, time.January, 1, 0, 0, 0, 0, time.UTC)
	beforeYear1   = time.Date(0, time.December, 31, 23, 59, 59, 0, time.UTC)
)

// Cursors a client could forge: each is refused for the field "cursor".
var (
	cursorNotBase64  = "%%%"
	cursorNoID       = "e30" // base64 of {}
	cursorOfNameSort = store.EncodeCursor(store.Cursor{Sort: string(store.ClusterByName), Key: "a", ID: "clu_x"})
	cursorIDWithNUL  = store.Cursor{Sort: store.AuditSort, Key: store.TimeKey(epoch), ID: "clu\x00"}
	cursorKeyNotTime = store.Cursor{Sort: store.AuditSort, Key: "yesterday", ID: "x"}
	// cursorFarFuture's key is the largest Unix microsecond count, year 294247.
	cursorFarFuture = store.Cursor{Sort: store.AuditSort, Key: "9223372036854775807", ID: "x"}
	// cursorFarPast's key is the smallest, year -290308.
	cursorFarPast = store.Cursor{Sort: store.AuditSort, Key: "-9223372036854775808", ID: "x"}
)

// ascCursor encodes c for an ascending listing.
func ascCursor(c store.Cursor) string {
	c.Desc = false
	return store.EncodeCursor(c)
}

// descCursor encodes c for a descending listing.
func descCursor(c store.Cursor) string {
	c.Desc = true
	return store.EncodeCursor(c)
}

func clustersAfter(f store.ClusterFilters, cursor string) func(*bundle, *validationFixture) error {
	return func(b *bundle, _ *validationFixture) error {
		_, err := b.s.Clusters.ListAfter(b.ctx, f, cursor)
		return err
	}
}

func jobsAfter(cursor string) func(*bundle, *validationFixture) error {
	return func(b *bundle, _ *validationFixture) error {
		_, err := b.s.Jobs.ListAfter(b.ctx, store.JobFilters{}, cursor)
		return err
	}
}

func eventsAfter(cursor string) func(*bundle, *validationFixture) error {
	return func(b *bundle, _ *validationFixture) error {
		_, err := b.s.Audit.ListAfter(b.ctx, store.AuditFilters{}, cursor)
		return err
	}
}

// edgeInvalidCases extends the cases of invalid_test.go and
// invalid_records_test.go: forged cursors, times out
// of range, and refusals of every sub-store method for which that file has
// none of a kind (a too long or NUL-holding ID, an oversized batch, a body
// that is not UTF-8).
func edgeInvalidCases() []invalidCase {
	return []invalidCase{
		// Clusters.
		{"ClustersAfterCursorNotBase64", "cursor", clustersAfter(store.ClusterFilters{}, cursorNotBase64)},
		{"ClustersAfterCursorWithoutID", "cursor", clustersAfter(store.ClusterFilters{}, cursorNoID)},
		{"ClustersAfterCursorOfAnotherSort", "cursor", clustersAfter(store.ClusterFilters{}, cursorOfNameSort)},
		{"ClustersByNameAfterCursorIDWithNUL", "cursor", clustersAfter(store.ClusterFilters{Sort: store.ClusterByName},
			store.EncodeCursor(store.Cursor{Sort: string(store.ClusterByName), Key: "a", ID: "clu\x00"}))},
		{"ClustersByNameAfterCursorKeyWithNUL", "cursor", clustersAfter(store.ClusterFilters{Sort: store.ClusterByName},
			store.EncodeCursor(store.Cursor{Sort: string(store.ClusterByName), Key: "a\x00", ID: "clu_x"}))},
		{"ClustersAfterCursorFarFuture", "cursor", clustersAfter(store.ClusterFilters{}, ascCursor(cursorFarFuture))},
		{"ClustersAfterCursorFarPast", "cursor", clustersAfter(store.ClusterFilters{}, ascCursor(cursorFarPast))},
		{"ClustersAfterCursorKeyNotATime", "cursor", clustersAfter(store.ClusterFilters{}, ascCursor(cursorKeyNotTime))},
		{"CreateDestroyAtAfterYear9999", "cluster.destroy_at", createCluster(func(c *store.Cluster) { c.DestroyAt = &afterYear9999 })},
		{"CreateOwnerIDTooLong", "cluster.owner_id", createCluster(func(c *store.Cluster) {
			c.OwnerID = ptr("00000000-0000-0000-0000-0000000000000")
		})},
		{"UpdateDestroyAtBeforeYear1", "update.destroy_at", updateCluster(store.ClusterUpdate{DestroyAt: &beforeYear1})},
		{"GetIDWithNUL", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Clusters.GetByID(b.ctx, "clu\x00")
			return err
		}},
		{"GetForUpdateIDOverColumnSize", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Clusters.GetByIDForUpdate(b.ctx, long(store.MaxIDLen+1))
			return err
		}},
		{"UpdateStatusIDNotUTF8", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Clusters.UpdateStatus(b.ctx, badUTF8, store.ClusterDestroying)
			return err
		}},
		{"UpdateStatusEmptyStatus", "status", func(b *bundle, fx *validationFixture) error {
			_, err := b.s.Clusters.UpdateStatus(b.ctx, fx.cluster.ID, "")
			return err
		}},
		{"ListExpiredNegativeLimit", "limit", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Clusters.ListExpired(b.ctx, -1)
			return err
		}},
		{"ListOffsetOverInt32", "offset", listClusters(store.ClusterFilters{Offset: 1 << 31})},

		// Jobs.
		{"JobsAfterCursorNotBase64", "cursor", jobsAfter(cursorNotBase64)},
		{"JobsAfterCursorOfDescendingOrder", "cursor", jobsAfter(descCursor(cursorKeyNotTime))},
		{"JobsAfterCursorIDWithNUL", "cursor", jobsAfter(ascCursor(cursorIDWithNUL))},
		{"JobsAfterCursorFarPast", "cursor", jobsAfter(ascCursor(cursorFarPast))},
		{"JobGetIDOverColumnSize", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Jobs.GetByID(b.ctx, long(store.MaxIDLen+1))
			return err
		}},
		{"MarkStartedIDWithNUL", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Jobs.MarkStarted(b.ctx, "job\x00")
			return err
		}},
		{"RequeueIDNotUTF8", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Jobs.Requeue(b.ctx, badUTF8)
			return err
		}},
		{"ListStuckLimitOverMax", "limit", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Jobs.ListStuck(b.ctx, store.MaxLimit+1)
			return err
		}},
		{"LockRunnableLimitOverMax", "limit", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Jobs.LockRunnable(b.ctx, store.RunnableQuery{Limit: store.MaxLimit + 1})
			return err
		}},
		{"JobMetadataKeyOverColumnSize", "job.metadata key", createJob(func(j *store.Job) {
			j.Metadata = map[string]string{tooLong255: "v"}
		})},

		// Locks.
		{"AcquireWorkerWithNUL", "worker_id", func(b *bundle, fx *validationFixture) error {
			_, err := b.s.JobLocks.Acquire(b.ctx, fx.cluster.ID, fx.job.ID, nul, time.Hour)
			return err
		}},
		{"LockGetIDNotUTF8", "cluster_id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.JobLocks.Get(b.ctx, badUTF8)
			return err
		}},
		{"ReleaseZeroToken", "lock.token", withLock(func(l *store.JobLock) { l.Token = 0 }, func(b *bundle, l *store.JobLock) error {
			return b.s.JobLocks.Release(b.ctx, l)
		})},

		// Idempotency.
		{"CompleteBodyNotUTF8", "body", complete(idemScope, 200, "\"a\xffb\"")},
		{"CompleteBodyOverColumnSize", "body", func(b *bundle, _ *validationFixture) error {
			body := json.RawMessage(`"` + long(store.MaxTextLen-1) + `"`)
			_, err := b.s.Idempotency.Complete(b.ctx, idemScope, idemKey, 200, body)
			return err
		}},
		{"CompleteEmptyBody", "body", complete(idemScope, 200, "")},
		{"CompleteKeyWithNUL", "key", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Idempotency.Complete(b.ctx, idemScope, nul, 200, nil)
			return err
		}},
		{"IdempotencyGetScopeOverColumnSize", "scope", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Idempotency.Get(b.ctx, tooLong255, idemKey)
			return err
		}},
		{"ReserveScopeNotUTF8", "scope", reserve(func(r *store.IdempotencyReservation) { r.Scope = badUTF8 })},

		// RBAC.
		{"ListForPrincipalOverColumnSize", "arn", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.RBAC.ListForPrincipal(b.ctx, long(store.MaxARNLen+1))
			return err
		}},
		{"ListForPrincipalWithNUL", "arn", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.RBAC.ListForPrincipal(b.ctx, nul)
			return err
		}},
		{"RBACGetIDWithNUL", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.RBAC.GetByID(b.ctx, "rbac\x00")
			return err
		}},
		{"SetEnabledIDOverColumnSize", "id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.RBAC.SetEnabled(b.ctx, long(store.MaxIDLen+1), false)
			return err
		}},
		{"RBACDeleteIDNotUTF8", "id", func(b *bundle, _ *validationFixture) error { return b.s.RBAC.Delete(b.ctx, badUTF8) }},
		{"RBACListTeamOverColumnSize", "filters.team", listMappings(store.RBACFilters{Team: &tooLong255})},
		{"RBACListLimitOverMax", "limit", listMappings(store.RBACFilters{Limit: store.MaxLimit + 1})},

		// Audit.
		{"EventsAfterCursorNotBase64", "cursor", eventsAfter(cursorNotBase64)},
		{"EventsAfterAscendingCursor", "cursor", eventsAfter(store.EncodeCursor(store.Cursor{Sort: store.AuditSort,
			Key: store.TimeKey(epoch), ID: "aud_x"}))},
		{"EventsAfterCursorIDWithNUL", "cursor", eventsAfter(descCursor(cursorIDWithNUL))},
		{"EventsAfterCursorFarFuture", "cursor", eventsAfter(descCursor(cursorFarFuture))},
		{"EventsAfterCursorKeyNotATime", "cursor", eventsAfter(descCursor(cursorKeyNotTime))},
		{"ListSinceAfterYear9999", "filters.since", listEvents(store.AuditFilters{Since: &afterYear9999})},
		{"ListUntilBeforeYear1", "filters.until", listEvents(store.AuditFilters{Until: &beforeYear1})},
		{"PurgeAfterYear9999", "before", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Audit.Purge(b.ctx, afterYear9999)
			return err
		}},
		{"EventMetadataValueWithNUL", "event.metadata[k]", logEvent(func(e *store.AuditEvent) { e.Metadata = map[string]string{"k": nul} })},
		{"EventIDOverColumnSize", "event.id", logEvent(func(e *store.AuditEvent) { e.ID = long(store.MaxIDLen + 1) })},

		// Outputs.
		{"UpsertTokenExpiryAfterYear9999", "outputs.sa_token_expires_at", upsertOutputs(func(o *store.ClusterOutputs) {
			o.SATokenExpiresAt = &afterYear9999
		})},
		{"UpsertLoginCommandOverColumnSize", "outputs.oc_login_command", upsertOutputs(func(o *store.ClusterOutputs) {
			o.OCLoginCommand = ptr(long(store.MaxTextLen + 1))
		})},
		{"OutputsGetIDWithNUL", "cluster_id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Outputs.Get(b.ctx, nul)
			return err
		}},
		{"OutputsDeleteIDOverColumnSize", "cluster_id", func(b *bundle, _ *validationFixture) error {
			return b.s.Outputs.Delete(b.ctx, long(store.MaxIDLen+1))
		}},
		{"ArtifactS3URIWithNUL", "artifact.s3_uri", addArtifact(func(a *store.ClusterArtifact) { a.S3URI = nul })},
		{"ListArtifactsIDNotUTF8", "cluster_id", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Outputs.ListArtifacts(b.ctx, badUTF8, nil)
			return err
		}},

		// Usage.
		{"RecordSampleTimeAfterYear9999", "sample.sample_time", record(func(s *store.UsageSample) { s.SampleTime = afterYear9999 })},
		{"RecordInfiniteCost", "sample.estimated_hourly_cost", record(func(s *store.UsageSample) {
			s.EstimatedHourlyCost = ptr(math.Inf(1))
		})},
		{"RecordReplicasOverInt32", "sample.replicas", record(func(s *store.UsageSample) { s.WorkerReplicas = 1 << 31 })},
		{"BatchOverMax", "samples", func(b *bundle, fx *validationFixture) error {
			batch := make([]*store.UsageSample, store.MaxBatch+1)
			for i := range batch {
				batch[i] = goodSample(fx, i)
			}
			return b.s.Usage.RecordBatch(b.ctx, batch)
		}},
		{"UsageListToAfterYear9999", "range.to", func(b *bundle, fx *validationFixture) error {
			_, err := b.s.Usage.List(b.ctx, fx.cluster.ID, epoch, afterYear9999)
			return err
		}},
		{"SummarizeFromBeforeYear1", "range.from", summarize(store.UsageRange{From: beforeYear1, To: epoch})},
		{"SummarizeByTeamOverColumnSize", "range.team", func(b *bundle, _ *validationFixture) error {
			_, err := b.s.Usage.SummarizeByTeam(b.ctx, store.UsageRange{From: epoch, To: epoch.Add(time.Hour), Team: &tooLong255})
			return err
		}},
	}
}

// exactValueCases are values a backend could not give back as given,
// refused before it (storetest's ExactValues group shows that every value
// accepted comes back exactly).
func exactValueCases() []invalidCase {
	upper := "6F1C2A9E-4B7D-4C1E-9A3B-2D5E8F7A1B0C"
	return []invalidCase{
		{"ZonedIPv6Address", "event.ip_address", logEvent(func(e *store.AuditEvent) {
			e.IPAddress = ptr(netip.MustParseAddr("fe80::1%eth0"))
		})},
		{"UpperCaseOwnerID", "cluster.owner_id", createCluster(func(c *store.Cluster) { c.OwnerID = &upper })},
		{"MixedCaseOwnerID", "cluster.owner_id", createCluster(func(c *store.Cluster) {
			c.OwnerID = ptr("6f1c2a9e-4b7d-4c1e-9a3b-2d5e8f7a1B0c")
		})},
		{"UpperCaseTargetUserID", "event.target_user_id", logEvent(func(e *store.AuditEvent) { e.TargetUserID = &upper })},
		{"UpperCaseOwnerIDFilter", "filters.owner_id", listClusters(store.ClusterFilters{OwnerID: &upper})},
		{"NegativeZeroCost", "sample.estimated_hourly_cost", func(b *bundle, fx *validationFixture) error {
			return b.s.Usage.Record(b.ctx, &store.UsageSample{ClusterID: fx.cluster.ID, SampleTime: epoch.Add(time.Hour),
				State: store.ClusterReady, EstimatedHourlyCost: ptr(math.Copysign(0, -1))})
		}},
	}
}
