package postgres

import (
	"context"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// auditColumns is the column list of audit_events, in auditRow.dests order.
var auditColumns = []string{"id", "actor", "action", "target_cluster_id", "target_job_id", "target_user_id",
	"status", "metadata", "ip_address", "user_agent", "created_at"}

// auditRow receives an audit_events row.
type auditRow struct{ e store.AuditEvent }

func (r *auditRow) dests() []any {
	e := &r.e
	return []any{&e.ID, &e.Actor, &e.Action, &e.TargetClusterID, &e.TargetJobID, &e.TargetUserID,
		&e.Status, &e.Metadata, &e.IPAddress, &e.UserAgent, &e.CreatedAt}
}

func (r *auditRow) value() *store.AuditEvent {
	e := &r.e
	e.CreatedAt = e.CreatedAt.UTC()
	return e
}

var auditEvents = table[*store.AuditEvent]{name: "audit_events", columns: auditColumns,
	newRow: func() row[*store.AuditEvent] { return new(auditRow) }}

// auditOrder is the only order of audit listings: newest first.
var auditOrder = order{sort: store.AuditSort, desc: true, keyExpr: "created_at", timeKey: true}

// Fixed-shape audit statements, rendered once.
var (
	// $1 id, $2 actor, $3 action, $4 cluster, $5 job, $6 user, $7 status,
	// $8 metadata, $9 ip, $10 user agent, $11 now.
	auditLogSQL = mustSQL(psql.Insert("audit_events").Columns(auditColumns...).
			Values(nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nowExpr(nil)).
			Suffix("RETURNING created_at"))
	// $1 before.
	auditPurgeSQL = mustSQL(psql.Delete("audit_events").Where("created_at < ?", nil))
)

// Log appends e, assigning its ID and CreatedAt in place.
func (s executor) AuditInsert(ctx context.Context, e *store.AuditEvent) error {
	var ip any
	if e.IPAddress != nil {
		ip = *e.IPAddress
	}
	// Scanned in place: a failed INSERT returns no row, so an error leaves it.
	err := s.q.QueryRow(ctx, auditLogSQL, e.ID, e.Actor, e.Action, e.TargetClusterID, e.TargetJobID, e.TargetUserID,
		e.Status, jsonArg(e.Metadata), ip, e.UserAgent, s.now()).Scan(&e.CreatedAt)
	if err != nil {
		return mapError(ctx, err, "log audit event "+e.ID)
	}
	e.CreatedAt = e.CreatedAt.UTC()
	return nil
}

// auditFilters returns the conditions of f's set fields.
func auditFilters(f store.AuditFilters) filter {
	var w filter
	if f.Actor != nil {
		w.add(0, "actor = ?", *f.Actor)
	}
	if f.ClusterID != nil {
		w.add(1, "target_cluster_id = ?", *f.ClusterID)
	}
	if f.JobID != nil {
		w.add(2, "target_job_id = ?", *f.JobID)
	}
	if f.Action != nil {
		w.add(3, "action = ?", *f.Action)
	}
	if f.Status != nil {
		w.add(4, "status = ?", *f.Status)
	}
	if f.Since != nil {
		w.add(5, "created_at >= ?", dbTime(*f.Since))
	}
	if f.Until != nil {
		w.add(6, "created_at < ?", dbTime(*f.Until))
	}
	return w
}

// List returns a page of matching events, newest first, and the total.
func (s executor) AuditList(ctx context.Context, f store.AuditFilters) ([]*store.AuditEvent, int, error) {
	items, total, err := listWithTotal(ctx, s.conn, auditEvents, auditFilters(f), auditOrder, store.EffectiveLimit(f.Limit), f.Offset)
	return items, total, mapError(ctx, err, "list audit events")
}

// ListAfter returns the keyset page after cursor.
func (s executor) AuditListAfter(ctx context.Context, f store.AuditFilters, cursor string) (store.Page[*store.AuditEvent], error) {
	p, err := listAfter(ctx, s.conn, auditEvents, auditFilters(f), auditOrder, cursor, store.EffectiveLimit(f.Limit),
		func(e *store.AuditEvent) (string, string) { return store.TimeKey(e.CreatedAt), e.ID })
	return p, mapError(ctx, err, "list audit events")
}

// Purge deletes events created before the given time.
func (s executor) AuditPurge(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.q.Exec(ctx, auditPurgeSQL, dbTime(before))
	if err != nil {
		return 0, mapError(ctx, err, "purge audit events")
	}
	return tag.RowsAffected(), nil
}
