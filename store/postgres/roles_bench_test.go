package postgres_test

import (
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// BenchmarkAuditPurge purges 1,000 audit events through Audit.Purge as the
// owner, with migration 0005's append-only trigger (Trigger) and with the
// trigger disabled (NoTrigger, the baseline): the cost of the check on the
// retention path. Inserting the events is not timed. INSERT, the hot path,
// has no trigger.
func BenchmarkAuditPurge(b *testing.B) {
	for _, c := range []struct {
		name    string
		disable bool
	}{{"Trigger", false}, {"NoTrigger", true}} {
		b.Run(c.name, func(b *testing.B) {
			db := postgrestest.New(b)
			pool := db.Pool(b)
			ctx := b.Context()
			if c.disable {
				if _, err := pool.Exec(ctx, "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"); err != nil {
					b.Fatal(err)
				}
			}
			s := postgres.New(pool)
			cutoff := time.Now().Add(time.Hour)
			for b.Loop() {
				b.StopTimer()
				if _, err := pool.Exec(ctx, "INSERT INTO audit_events (id, actor, action, status, created_at)"+
					" SELECT 'aud_' || g || '_' || md5(random()::text), 'worker-1', 'job.start', 'SUCCESS', now()"+
					" FROM generate_series(1, 1000) g"); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				n, err := s.Audit.Purge(ctx, cutoff)
				if err != nil || n != 1000 {
					b.Fatalf("Purge: %d, %v", n, err)
				}
			}
		})
	}
}
