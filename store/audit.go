package store

import (
	"context"
	"net/netip"
	"time"
)

// AuditEvent is a row of the append-only audit_events table.
type AuditEvent struct {
	ID              string // aud_…
	Actor           string // at most 512 bytes
	Action          string // at most 100 bytes
	TargetClusterID *string
	TargetJobID     *string
	TargetUserID    *string // a UUID, canonical lower case
	Status          AuditStatus
	Metadata        map[string]string
	IPAddress       *netip.Addr // without an IPv6 zone, which inet cannot keep
	UserAgent       *string
	CreatedAt       time.Time // set by Log
}

// AuditFilters selects events. Nil fields do not filter. Events are listed
// newest first (CreatedAt, then ID, descending).
type AuditFilters struct {
	Actor     *string
	ClusterID *string
	JobID     *string
	Action    *string
	Status    *AuditStatus
	Since     *time.Time // CreatedAt >= Since
	Until     *time.Time // CreatedAt < Until
	Limit     int        // 0 means DefaultLimit
	Offset    int        // List only
}

// AuditSort is the sort name audit cursors are made for.
const AuditSort = "created_at"

// AuditStore is the API of the audit log: Store.Audit. It appends and
// lists events; there is no update or delete but the retention Purge. Log
// inside the transaction of the action it records, so the event exists
// exactly when the action committed.
type AuditStore struct{ s *Store }

// Log appends e, assigning e.ID when empty, and CreatedAt.
func (as AuditStore) Log(ctx context.Context, e *AuditEvent) error {
	return as.s.run(ctx, "Audit.Log", func(ctx context.Context, x Executor) error {
		if err := e.validate(); err != nil {
			return err
		}
		if e.ID == "" {
			e.ID = NewID(PrefixAudit)
		}
		return x.AuditInsert(ctx, e)
	})
}

// List returns a page of matching events and the total, from one snapshot.
func (as AuditStore) List(ctx context.Context, f AuditFilters) ([]*AuditEvent, int, error) {
	var total int
	items, err := call(as.s, ctx, "Audit.List", func(ctx context.Context, x Executor) ([]*AuditEvent, error) {
		if err := f.validate(); err != nil {
			return nil, err
		}
		items, n, err := x.AuditList(ctx, f)
		total = n
		return items, err
	})
	return items, total, err
}

// ListAfter returns the keyset page after cursor ("" for the first).
func (as AuditStore) ListAfter(ctx context.Context, f AuditFilters, cursor string) (Page[*AuditEvent], error) {
	return call(as.s, ctx, "Audit.ListAfter", func(ctx context.Context, x Executor) (Page[*AuditEvent], error) {
		if err := f.validate(); err != nil {
			return Page[*AuditEvent]{}, err
		}
		if err := checkAfter(f.Offset, cursor, AuditSort, true); err != nil {
			return Page[*AuditEvent]{}, err
		}
		return x.AuditListAfter(ctx, f, cursor)
	})
}

// Purge deletes events created before the given time (retention) and
// returns how many. On PostgreSQL it is an owner operation: run as the
// application role it fails with postgres.ErrPermissionDenied, because
// that role may not delete audit events (README: Security).
func (as AuditStore) Purge(ctx context.Context, before time.Time) (int64, error) {
	return call(as.s, ctx, "Audit.Purge", func(ctx context.Context, x Executor) (int64, error) {
		var k checker
		if k.time("before", before); k.err != nil {
			return 0, k.err
		}
		return x.AuditPurge(ctx, before)
	})
}
