package store

import (
	"context"
	"time"
)

// RBACMapping is a row of the rbac_mappings table: it grants an IAM
// principal a role within a team.
type RBACMapping struct {
	ID               string // rbac_…
	IAMPrincipalARN  string // at most 512 bytes
	IAMPrincipalType PrincipalType
	Team             string
	Role             Role
	Enabled          bool
	CreatedAt        time.Time
	UpdatedAt        time.Time
	CreatedBy        *string
	Notes            *string
}

// RBACFilters selects mappings for List. Nil fields do not filter.
type RBACFilters struct {
	IAMPrincipalARN *string
	Team            *string
	Role            *Role
	Enabled         *bool
	Limit           int // 0 means DefaultLimit
	Offset          int
}

// RBACStore is the API of RBAC mappings: Store.RBAC.
type RBACStore struct{ s *Store }

// Create inserts m, assigning m.ID when empty and setting its timestamps.
// ErrConflict if the same principal already has a mapping for the same
// team and role.
func (rs RBACStore) Create(ctx context.Context, m *RBACMapping) error {
	return rs.s.run(ctx, "RBAC.Create", func(ctx context.Context, x Executor) error {
		if err := m.validate(); err != nil {
			return err
		}
		if m.ID == "" {
			m.ID = NewID(PrefixRBAC)
		}
		return x.RBACInsert(ctx, m)
	})
}

// GetByID returns the mapping or ErrNotFound.
func (rs RBACStore) GetByID(ctx context.Context, id string) (*RBACMapping, error) {
	return call(rs.s, ctx, "RBAC.GetByID", func(ctx context.Context, x Executor) (*RBACMapping, error) {
		if err := checkID("id", id); err != nil {
			return nil, err
		}
		return x.RBACGetByID(ctx, id)
	})
}

// ListForPrincipal returns the principal's enabled mappings, ordered by
// team then role: what an authorizer needs per request.
func (rs RBACStore) ListForPrincipal(ctx context.Context, arn string) ([]*RBACMapping, error) {
	return call(rs.s, ctx, "RBAC.ListForPrincipal", func(ctx context.Context, x Executor) ([]*RBACMapping, error) {
		var k checker
		if k.required("arn", arn, MaxARNLen); k.err != nil {
			return nil, k.err
		}
		return x.RBACListForPrincipal(ctx, arn)
	})
}

// List returns a page of matching mappings (oldest first) and the total.
func (rs RBACStore) List(ctx context.Context, f RBACFilters) ([]*RBACMapping, int, error) {
	var total int
	items, err := call(rs.s, ctx, "RBAC.List", func(ctx context.Context, x Executor) ([]*RBACMapping, error) {
		if err := f.validate(); err != nil {
			return nil, err
		}
		items, n, err := x.RBACList(ctx, f)
		total = n
		return items, err
	})
	return items, total, err
}

// SetEnabled enables or disables a mapping.
func (rs RBACStore) SetEnabled(ctx context.Context, id string, enabled bool) (*RBACMapping, error) {
	return call(rs.s, ctx, "RBAC.SetEnabled", func(ctx context.Context, x Executor) (*RBACMapping, error) {
		if err := checkID("id", id); err != nil {
			return nil, err
		}
		return x.RBACSetEnabled(ctx, id, enabled)
	})
}

// Delete removes a mapping, or ErrNotFound.
func (rs RBACStore) Delete(ctx context.Context, id string) error {
	return rs.s.run(ctx, "RBAC.Delete", func(ctx context.Context, x Executor) error {
		if err := checkID("id", id); err != nil {
			return err
		}
		return x.RBACDelete(ctx, id)
	})
}
