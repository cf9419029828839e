package postgres

import (
	"context"
	"time"

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

// Fixed-shape RBAC statements, rendered once.
var (
	// $1..$6 the columns id … enabled, $7 now, $8 now, $9 created_by,
	// $10 notes.
	rbacCreateSQL = mustSQL(psql.Insert("rbac_mappings").Columns(rbacColumns...).
			Values(nil, nil, nil, nil, nil, nil, nowExpr(nil), nowExpr(nil), nil, nil).
			Suffix("RETURNING created_at, updated_at"))
	// $1 id.
	rbacGetSQL = mustSQL(psql.Select(rbacColumns...).From("rbac_mappings").Where("id = ?", nil))
	// $1 arn. Team and role in byte order, as every backend sorts.
	rbacForPrincipalSQL = mustSQL(psql.Select(rbacColumns...).From("rbac_mappings").
				Where("iam_principal_arn = ? AND enabled", nil).OrderBy(`team COLLATE "C"`, `role COLLATE "C"`))
	// $1 enabled, $2 now, $3 id.
	rbacSetEnabledSQL = mustSQL(psql.Update("rbac_mappings").Set("enabled", nil).Set("updated_at", nowExpr(nil)).
				Where("id = ?", nil).Suffix("RETURNING " + joinColumns(rbacColumns)))
	// $1 id.
	rbacDeleteSQL = mustSQL(psql.Delete("rbac_mappings").Where("id = ?", nil))
)

// rbacOrder is the order of RBAC listings: oldest first.
var rbacOrder = order{sort: "created_at", keyExpr: "created_at", timeKey: true}

// Create inserts m, assigning its ID and timestamps in place.
func (s executor) RBACInsert(ctx context.Context, m *store.RBACMapping) error {
	now := s.now()
	var created, updated time.Time
	err := s.q.QueryRow(ctx, rbacCreateSQL, m.ID, m.IAMPrincipalARN, m.IAMPrincipalType, m.Team, m.Role, m.Enabled,
		now, now, m.CreatedBy, m.Notes).Scan(&created, &updated)
	if err != nil {
		return mapError(ctx, err, "create RBAC mapping "+m.ID)
	}
	m.CreatedAt, m.UpdatedAt = created.UTC(), updated.UTC()
	return nil
}

// GetByID returns the mapping or ErrNotFound.
func (s executor) RBACGetByID(ctx context.Context, id string) (*store.RBACMapping, error) {
	m, err := rbacMappings.queryOne(ctx, s.q, rbacGetSQL, id)
	return m, mapError(ctx, err, "RBAC mapping "+id)
}

// ListForPrincipal returns the principal's enabled mappings by team, role.
func (s executor) RBACListForPrincipal(ctx context.Context, arn string) ([]*store.RBACMapping, error) {
	ms, err := rbacMappings.queryAll(ctx, s.q, rbacForPrincipalSQL, arn)
	return ms, mapError(ctx, err, "list RBAC mappings of "+arn)
}

// List returns a page of matching mappings, oldest first, and the total.
func (s executor) RBACList(ctx context.Context, f store.RBACFilters) ([]*store.RBACMapping, int, error) {
	var w filter
	if f.IAMPrincipalARN != nil {
		w.add(0, "iam_principal_arn = ?", *f.IAMPrincipalARN)
	}
	if f.Team != nil {
		w.add(1, "team = ?", *f.Team)
	}
	if f.Role != nil {
		w.add(2, "role = ?", *f.Role)
	}
	if f.Enabled != nil {
		w.add(3, "enabled = ?", *f.Enabled)
	}
	items, total, err := listWithTotal(ctx, s.conn, rbacMappings, w, rbacOrder, store.EffectiveLimit(f.Limit), f.Offset)
	return items, total, mapError(ctx, err, "list RBAC mappings")
}

// SetEnabled enables or disables a mapping.
func (s executor) RBACSetEnabled(ctx context.Context, id string, enabled bool) (*store.RBACMapping, error) {
	m, err := rbacMappings.queryOne(ctx, s.q, rbacSetEnabledSQL, enabled, s.now(), id)
	return m, mapError(ctx, err, "RBAC mapping "+id)
}

// Delete removes a mapping, or ErrNotFound.
func (s executor) RBACDelete(ctx context.Context, id string) error {
	tag, err := s.q.Exec(ctx, rbacDeleteSQL, id)
	if err != nil {
		return mapError(ctx, err, "delete RBAC mapping "+id)
	}
	if tag.RowsAffected() == 0 {
		return notFound("RBAC mapping " + id)
	}
	return nil
}
