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

// AuditStore appends and lists audit events. There is no update or delete
// API except the retention Purge. Log inside the transaction of the action
// it records, so the event exists exactly when the action committed.
type AuditStore interface {
	// Log appends e, assigning ID and CreatedAt.
	Log(ctx context.Context, e *AuditEvent) error
	// List returns a page of matching events and the total, from one snapshot.
	List(ctx context.Context, f AuditFilters) ([]*AuditEvent, int, error)
	// ListAfter returns the keyset page after cursor ("" for the first).
	ListAfter(ctx context.Context, f AuditFilters, cursor string) (Page[*AuditEvent], error)
	// Purge deletes events created before the given time (retention) and
	// returns how many.
	Purge(ctx context.Context, before time.Time) (int64, error)
}
