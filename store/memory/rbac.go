package memory

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/ocpctl/ocpstore/store"
)

func mappingNotFound(id string) error {
	return fmt.Errorf("rbac mapping %s: %w", id, store.ErrNotFound)
}

func (s executor) RBACInsert(ctx context.Context, m *store.RBACMapping) error {
	return s.via.write(ctx, func(v *dbView) error {
		r := cloneRBAC(m)
		now := s.b.now()
		r.CreatedAt, r.UpdatedAt = now, now
		if v.rbac.get(r.ID) != nil {
			return failedStatement(fmt.Errorf("rbac mapping %s: id exists: %w", r.ID, store.ErrConflict))
		}
		if id, other := v.rbac.lookup(v.db.rbacGrant, grantKey(r.IAMPrincipalARN, r.Team, r.Role)); other != nil {
			return failedStatement(fmt.Errorf("rbac mapping: %s already has role %s in team %s (mapping %s): %w",
				r.IAMPrincipalARN, r.Role, r.Team, id, store.ErrConflict))
		}
		v.rbac.put(r.ID, r)
		m.CreatedAt, m.UpdatedAt = now, now
		return nil
	})
}

func (s executor) RBACGetByID(ctx context.Context, id string) (*store.RBACMapping, error) {
	var out *store.RBACMapping
	err := s.via.read(ctx, func(v *dbView) error {
		r := v.rbac.get(id)
		if r == nil {
			return mappingNotFound(id)
		}
		out = cloneRBAC(r)
		return nil
	})
	return out, err
}

// ListForPrincipal returns the enabled mappings of arn by (team, role), in
// byte order.
func (s executor) RBACListForPrincipal(ctx context.Context, arn string) ([]*store.RBACMapping, error) {
	var out []*store.RBACMapping
	err := s.via.read(ctx, func(v *dbView) error {
		var rows []*store.RBACMapping
		for _, m := range v.rbac.in(v.db.rbacARN, arn) {
			if m.Enabled {
				rows = append(rows, m)
			}
		}
		out = cloneAll(window(rows, func(a, b *store.RBACMapping) int {
			return cmp.Or(strings.Compare(a.Team, b.Team), strings.Compare(string(a.Role), string(b.Role)))
		}, 0, len(rows)), cloneRBAC)
		return nil
	})
	return out, err
}

func (s executor) RBACList(ctx context.Context, f store.RBACFilters) ([]*store.RBACMapping, int, error) {
	var out []*store.RBACMapping
	var total int
	err := s.via.read(ctx, func(v *dbView) error {
		rows := v.rbac.all()
		if f.IAMPrincipalARN != nil {
			rows = v.rbac.in(v.db.rbacARN, *f.IAMPrincipalARN)
		}
		var match []*store.RBACMapping
		for _, m := range rows {
			if (f.Team == nil || m.Team == *f.Team) && (f.Role == nil || m.Role == *f.Role) &&
				(f.Enabled == nil || m.Enabled == *f.Enabled) {
				match = append(match, m)
			}
		}
		total = len(match)
		out = cloneAll(window(match, func(a, b *store.RBACMapping) int {
			return byTimeID(a.CreatedAt, b.CreatedAt, a.ID, b.ID, false)
		}, f.Offset, store.EffectiveLimit(f.Limit)), cloneRBAC)
		return nil
	})
	return out, total, err
}

func (s executor) RBACSetEnabled(ctx context.Context, id string, enabled bool) (*store.RBACMapping, error) {
	var out *store.RBACMapping
	err := s.via.write(ctx, func(v *dbView) error {
		cur := v.rbac.get(id)
		if cur == nil {
			return mappingNotFound(id)
		}
		r := *cur
		r.Enabled, r.UpdatedAt = enabled, s.b.now()
		v.rbac.put(id, &r)
		out = cloneRBAC(&r)
		return nil
	})
	return out, err
}

func (s executor) RBACDelete(ctx context.Context, id string) error {
	return s.via.write(ctx, func(v *dbView) error {
		if v.rbac.get(id) == nil {
			return mappingNotFound(id)
		}
		v.rbac.del(id)
		return nil
	})
}
