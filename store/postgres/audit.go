package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

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

// The fixed audit statements.
var (
	auditLogSQL = named("INSERT INTO audit_events (" + joinColumns(auditColumns) + ")" +
		" VALUES (" + params(auditColumns[:10]...) + ", " + nowSQL + ") RETURNING created_at")
	auditPurgeSQL = named("DELETE FROM audit_events WHERE created_at < @before")
	// auditRetentionSQL sets AuditRetentionSetting for the transaction.
	auditRetentionSQL = "SELECT set_config('" + AuditRetentionSetting + "', $1, true)"
)

// Log appends e, assigning its ID and CreatedAt in place.
func (s executor) AuditInsert(ctx context.Context, e *store.AuditEvent) error {
	var ip any
	if e.IPAddress != nil {
		ip = *e.IPAddress
	}
	// Scanned in place: a failed INSERT returns no row, so an error leaves it.
	err := s.q.QueryRow(ctx, auditLogSQL.sql, auditLogSQL.args(pgx.NamedArgs{"id": e.ID, "actor": e.Actor,
		"action": e.Action, "target_cluster_id": e.TargetClusterID, "target_job_id": e.TargetJobID,
		"target_user_id": e.TargetUserID, "status": e.Status, "metadata": jsonArg(e.Metadata), "ip_address": ip,
		"user_agent": e.UserAgent, "now": s.now()})...).Scan(&e.CreatedAt)
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
		w.add(0, eq, "actor", *f.Actor)
	}
	if f.ClusterID != nil {
		w.add(1, eq, "target_cluster_id", *f.ClusterID)
	}
	if f.JobID != nil {
		w.add(2, eq, "target_job_id", *f.JobID)
	}
	if f.Action != nil {
		w.add(3, eq, "action", *f.Action)
	}
	if f.Status != nil {
		w.add(4, eq, "status", *f.Status)
	}
	if f.Since != nil {
		w.add(5, atLeast, "created_at", dbTime(*f.Since))
	}
	if f.Until != nil {
		w.add(6, below, "created_at", dbTime(*f.Until))
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

// AuditRetentionSetting is the transaction-local setting through which
// Purge passes the append-only trigger of audit_events (migration 0005):
// the trigger lets a DELETE or TRUNCATE through only when it is 'purge'
// and the current role is a member of the table's owner. An owner's own
// maintenance (a benchmark emptying the trail) uses it the same way:
//
//	BEGIN; SELECT set_config('ocpstore.audit_retention', 'purge', true); TRUNCATE audit_events; COMMIT;
const AuditRetentionSetting = "ocpstore.audit_retention"

// Purge deletes events created before the given time. It is an owner
// operation: the application role has no DELETE on audit_events, and the
// trigger refuses anyone else but the owner, so as the application role it
// fails with ErrPermissionDenied. The setting is set and cleared around
// the DELETE, in the caller's transaction or a short one of its own.
func (s executor) AuditPurge(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.atomically(ctx, func(c conn) error {
		if _, err := c.q.Exec(ctx, auditRetentionSQL, "purge"); err != nil {
			return err
		}
		tag, err := c.q.Exec(ctx, auditPurgeSQL.sql, auditPurgeSQL.args(pgx.NamedArgs{"before": dbTime(before)})...)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = c.q.Exec(ctx, auditRetentionSQL, "")
		return err
	})
	if isPermissionDenied(err) {
		return 0, mapError(ctx, err, "purge audit events: Purge is an owner operation"+
			" (the application role may not DELETE from audit_events): run it as the owner role (README: Security)")
	}
	if err != nil {
		return 0, mapError(ctx, err, "purge audit events")
	}
	return n, nil
}
