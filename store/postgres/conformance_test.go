package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/storetest"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestConformance runs the conformance suite on PostgreSQL as a service
// runs in production: connected as the application role, which holds only
// postgres.AppGrants (README: Security), so the suite passing is the proof
// that the grants are enough. Each subtest gets its own fresh database and
// two Stores on two separate pools, as two worker processes would have.
//
// One operation goes through the owner instead: Audit.Purge, retention,
// which the application role may not run (it has no DELETE on
// audit_events; TestAppRolePurgeRefused proves the refusal). The suite's
// Purge case checks what Purge deletes, so it runs on an owner pool,
// opened only when a subtest purges.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock store.Clock) (*store.Store, *store.Store) {
		db := postgrestest.New(t)
		var opts []postgres.BackendOption
		if clock != nil {
			opts = append(opts, postgres.WithClock(clock))
		}
		owner := sync.OnceValue(func() store.Executor { return postgres.NewBackend(db.Pool(t), opts...).Executor() })
		app := func() *store.Store {
			return store.New(ownerPurges{Backend: postgres.NewBackend(db.AppPool(t), opts...), owner: owner})
		}
		return app(), app()
	})
}

// ownerPurges is a Backend connected as the application role whose
// pool-bound Audit.Purge runs as the owner.
type ownerPurges struct {
	*postgres.Backend
	owner func() store.Executor
}

func (b ownerPurges) Executor() store.Executor {
	return purgeAsOwner{Executor: b.Backend.Executor(), owner: b.owner}
}

// purgeAsOwner is an application-role Executor whose AuditPurge is the
// owner's.
type purgeAsOwner struct {
	store.Executor
	owner func() store.Executor
}

func (x purgeAsOwner) AuditPurge(ctx context.Context, before time.Time) (int64, error) {
	return x.owner().AuditPurge(ctx, before)
}

// JobsQueueStats passes the optional capability through: embedding
// store.Executor hides it, and the QueueStats group would find none.
func (x purgeAsOwner) JobsQueueStats(ctx context.Context) (*store.QueueReport, error) {
	return x.Executor.(store.QueueStatsExecutor).JobsQueueStats(ctx)
}
