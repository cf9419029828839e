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

// RBACStore persists RBAC mappings.
type RBACStore interface {
	// Create inserts m. ErrConflict if the same principal already has a
	// mapping for the same team and role.
	Create(ctx context.Context, m *RBACMapping) error
	// GetByID returns the mapping or ErrNotFound.
	GetByID(ctx context.Context, id string) (*RBACMapping, error)
	// ListForPrincipal returns the principal's enabled mappings, ordered by
	// team then role: what an authorizer needs per request.
	ListForPrincipal(ctx context.Context, arn string) ([]*RBACMapping, error)
	// List returns a page of matching mappings (oldest first) and the total.
	List(ctx context.Context, f RBACFilters) ([]*RBACMapping, int, error)
	// SetEnabled enables or disables a mapping.
	SetEnabled(ctx context.Context, id string, enabled bool) (*RBACMapping, error)
	// Delete removes a mapping, or ErrNotFound.
	Delete(ctx context.Context, id string) error
}
