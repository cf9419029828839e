package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ocpctl/ocpstore/store"
)

// rbacColumns is the column list of rbac_mappings, in rbacRow.dests order.
var rbacColumns = []string{"id", "iam_principal_arn", "iam_principal_type", "team", "role", "enabled",
	"created_at", "updated_at", "created_by", "notes"}

// rbacRow receives an rbac_mappings row.
type rbacRow struct{ m store.RBACMapping }

func (r *rbacRow) dests() []any {
	m := &r.m
	return []any{&m.ID, &m.IAMPrincipalARN, &m.IAMPrincipalType, &m.Team, &m.Role, &m.Enabled,
		&m.CreatedAt, &m.UpdatedAt, &m.CreatedBy, &m.Notes}
}

func (r *rbacRow) value() *store.RBACMapping {
	m := &r.m
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m
}

var rbacMappings = table[*store.RBACMapping]{name: "rbac_mappings", columns: rbacColumns,
	newRow: func() row[*store.RBACMapping] { return new(rbacRow) }}

// The fixed RBAC statements.
var (
	rbacCreateSQL = named("INSERT INTO rbac_mappings (" + joinColumns(rbacColumns) + ")" +
		" VALUES (" + params(rbacColumns[:6]...) + ", " + nowSQL + ", " + nowSQL + ", @created_by, @notes)" +
		" RETURNING created_at, updated_at")
	rbacGetSQL = named("SELECT " + joinColumns(rbacColumns) + " FROM rbac_mappings WHERE id = @id")
	// rbacForPrincipalSQL orders team and role in byte order, as every
	// backend sorts.
	rbacForPrincipalSQL = named("SELECT " + joinColumns(rbacColumns) + " FROM rbac_mappings" +
		` WHERE iam_principal_arn = @arn AND enabled ORDER BY team COLLATE "C", role COLLATE "C"`)
	rbacSetEnabledSQL = named("UPDATE rbac_mappings SET enabled = @enabled, updated_at = " + nowSQL +
		" WHERE id = @id RETURNING " + joinColumns(rbacColumns))
	rbacDeleteSQL = named("DELETE FROM rbac_mappings WHERE id = @id")
)

// rbacOrder is the order of RBAC listings: oldest first.
var rbacOrder = order{sort: "created_at", keyExpr: "created_at", timeKey: true}

// Create inserts m, assigning its ID and timestamps in place.
func (s executor) RBACInsert(ctx context.Context, m *store.RBACMapping) error {
	now := s.now()
	var created, updated time.Time
	err := s.q.QueryRow(ctx, rbacCreateSQL.sql, rbacCreateSQL.args(pgx.NamedArgs{"id": m.ID,
		"iam_principal_arn": m.IAMPrincipalARN, "iam_principal_type": m.IAMPrincipalType, "team": m.Team,
		"role": m.Role, "enabled": m.Enabled, "now": now, "created_by": m.CreatedBy, "notes": m.Notes})...).
		Scan(&created, &updated)
	if err != nil {
		return mapError(ctx, err, "create RBAC mapping "+m.ID)
	}
	m.CreatedAt, m.UpdatedAt = created.UTC(), updated.UTC()
	return nil
}

// GetByID returns the mapping or ErrNotFound.
func (s executor) RBACGetByID(ctx context.Context, id string) (*store.RBACMapping, error) {
	m, err := rbacMappings.one(ctx, s.q, rbacGetSQL, pgx.NamedArgs{"id": id})
	return m, mapError(ctx, err, "RBAC mapping "+id)
}

// ListForPrincipal returns the principal's enabled mappings by team, role.
func (s executor) RBACListForPrincipal(ctx context.Context, arn string) ([]*store.RBACMapping, error) {
	ms, err := rbacMappings.all(ctx, s.q, rbacForPrincipalSQL, pgx.NamedArgs{"arn": arn})
	return ms, mapError(ctx, err, "list RBAC mappings of "+arn)
}

// List returns a page of matching mappings, oldest first, and the total.
func (s executor) RBACList(ctx context.Context, f store.RBACFilters) ([]*store.RBACMapping, int, error) {
	var w filter
	if f.IAMPrincipalARN != nil {
		w.add(0, eq, "iam_principal_arn", *f.IAMPrincipalARN)
	}
	if f.Team != nil {
		w.add(1, eq, "team", *f.Team)
	}
	if f.Role != nil {
		w.add(2, eq, "role", *f.Role)
	}
	if f.Enabled != nil {
		w.add(3, eq, "enabled", *f.Enabled)
	}
	items, total, err := listWithTotal(ctx, s.conn, rbacMappings, w, rbacOrder, store.EffectiveLimit(f.Limit), f.Offset)
	return items, total, mapError(ctx, err, "list RBAC mappings")
}

// SetEnabled enables or disables a mapping.
func (s executor) RBACSetEnabled(ctx context.Context, id string, enabled bool) (*store.RBACMapping, error) {
	m, err := rbacMappings.one(ctx, s.q, rbacSetEnabledSQL, pgx.NamedArgs{"enabled": enabled, "now": s.now(), "id": id})
	return m, mapError(ctx, err, "RBAC mapping "+id)
}

// Delete removes a mapping, or ErrNotFound.
func (s executor) RBACDelete(ctx context.Context, id string) error {
	tag, err := s.q.Exec(ctx, rbacDeleteSQL.sql, rbacDeleteSQL.args(pgx.NamedArgs{"id": id})...)
	if err != nil {
		return mapError(ctx, err, "delete RBAC mapping "+id)
	}
	if tag.RowsAffected() == 0 {
		return notFound("RBAC mapping " + id)
	}
	return nil
}
