package storetest

import (
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// testTimes checks the time contract: times written come back as the same
// instant truncated to microseconds, in UTC, whatever zone they were
// given in; and every timestamp a backend sets comes from the injected
// clock.
func testTimes(t *testing.T, setup setupFunc) {
	t.Run("MicrosecondRoundTripInUTC", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		zone := time.FixedZone("UTC+5:30", 5*3600+1800)
		given := time.Date(2032, time.July, 1, 23, 59, 59, 123456789, zone)
		want := given.Truncate(time.Microsecond)

		c := b.cluster(t, func(c *store.Cluster) { c.DestroyAt = &given })
		requireTimePtr(t, want, b.getCluster(t, c.ID).DestroyAt, "cluster DestroyAt")
		updated, err := b.s.Clusters.Update(b.ctx, c.ID, store.ClusterUpdate{DestroyAt: ptr(given.Add(time.Hour))})
		requireNoErr(t, err, "update DestroyAt")
		requireTimePtr(t, want.Add(time.Hour), updated.DestroyAt, "updated DestroyAt")
		requireTimePtr(t, want.Add(time.Hour), b.getCluster(t, c.ID).DestroyAt, "updated DestroyAt read back")

		requireNoErr(t, b.s.Outputs.Upsert(b.ctx, &store.ClusterOutputs{ClusterID: c.ID, SATokenExpiresAt: &given}), "upsert outputs")
		o, err := b.s.Outputs.Get(b.ctx, c.ID)
		requireNoErr(t, err, "get outputs")
		requireTimePtr(t, want, o.SATokenExpiresAt, "outputs SATokenExpiresAt")

		requireNoErr(t, b.s.Usage.Record(b.ctx, &store.UsageSample{ClusterID: c.ID, SampleTime: given, State: store.ClusterReady}), "record")
		samples, err := b.s.Usage.List(b.ctx, c.ID, want, want.Add(time.Microsecond))
		requireNoErr(t, err, "list samples")
		if len(samples) != 1 {
			t.Fatalf("%d samples at the truncated instant, want 1", len(samples))
		}
		requireTime(t, want, samples[0].SampleTime, "usage SampleTime")

		start := store.NewTimeOfDay(23, 59) + store.TimeOfDay(59*time.Second+999999*time.Microsecond)
		updated, err = b.s2.Clusters.Update(b.ctx, c.ID, store.ClusterUpdate{WorkHoursStart: &start})
		requireNoErr(t, err, "update WorkHoursStart")
		if got := b.getCluster(t, c.ID).WorkHoursStart; got == nil || *got != start || *updated.WorkHoursStart != start {
			t.Fatalf("WorkHoursStart read back %v, want %v", got, start)
		}
	})

	t.Run("TimestampsComeFromTheClock", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		now := b.clock.Advance(1234567 * time.Microsecond)
		c := b.cluster(t)
		j := b.job(t, c.ID, store.JobCreate)
		e := &store.AuditEvent{Actor: "a", Action: "x", Status: store.AuditSuccess}
		requireNoErr(t, b.s.Audit.Log(b.ctx, e), "log")
		m := &store.RBACMapping{IAMPrincipalARN: "arn", IAMPrincipalType: store.PrincipalUser, Team: "t", Role: store.RoleAuditor}
		requireNoErr(t, b.s.RBAC.Create(b.ctx, m), "create mapping")
		k, _, err := b.s.Idempotency.Reserve(b.ctx, store.IdempotencyReservation{Scope: "s", Key: "k", RequestHash: "h", TTL: time.Minute})
		requireNoErr(t, err, "reserve")
		a := &store.ClusterArtifact{ClusterID: c.ID, ArtifactType: store.ArtifactLog, S3URI: "s3://b/k"}
		requireNoErr(t, b.s.Outputs.AddArtifact(b.ctx, a), "add artifact")
		requireNoErr(t, b.s.Outputs.Upsert(b.ctx, &store.ClusterOutputs{ClusterID: c.ID}), "upsert outputs")
		o, err := b.s.Outputs.Get(b.ctx, c.ID)
		requireNoErr(t, err, "get outputs")
		for what, got := range map[string]time.Time{
			"cluster CreatedAt": b.getCluster(t, c.ID).CreatedAt, "cluster UpdatedAt": b.getCluster(t, c.ID).UpdatedAt,
			"job CreatedAt": b.getJob(t, j.ID).CreatedAt, "job UpdatedAt": b.getJob(t, j.ID).UpdatedAt,
			"audit CreatedAt": e.CreatedAt, "mapping CreatedAt": m.CreatedAt, "mapping UpdatedAt": m.UpdatedAt,
			"idempotency CreatedAt": k.CreatedAt, "artifact CreatedAt": a.CreatedAt,
			"outputs CreatedAt": o.CreatedAt, "outputs UpdatedAt": o.UpdatedAt,
		} {
			requireTime(t, now, got, what)
		}
	})
}
