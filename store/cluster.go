package store

import (
	"context"
	"fmt"
	"time"
)

// Cluster is a row of the clusters table. Pointer fields are nullable columns.
// Backends return times in UTC with microsecond precision.
type Cluster struct {
	ID                string // clu_…; Create assigns one when empty
	Name              string
	Platform          Platform
	ClusterType       ClusterType // empty means openshift on Create
	Version           string
	Profile           string
	Region            string
	BaseDomain        *string
	Owner             string  // owner email
	OwnerID           *string // owner's user UUID, canonical lower case
	Team              string
	CostCenter        string
	Status            ClusterStatus // empty means PENDING on Create
	RequestedBy       string
	TTLHours          int
	DestroyAt         *time.Time
	CreatedAt         time.Time  // set by Create
	UpdatedAt         time.Time  // set by every write
	DestroyedAt       *time.Time // set when the status becomes DESTROYED
	RequestTags       map[string]string
	EffectiveTags     map[string]string
	SSHPublicKey      *string
	OffhoursOptIn     bool
	WorkHoursEnabled  *bool
	WorkHoursStart    *TimeOfDay
	WorkHoursEnd      *TimeOfDay
	WorkDays          *WorkDays
	PreserveOnFailure bool
	CredentialsMode   *string
}

// TimeOfDay is a wall-clock time within a day (a TIME column): the offset
// from midnight, with microsecond precision, in [0, 24h).
type TimeOfDay time.Duration

// NewTimeOfDay returns hour:minute as a TimeOfDay.
func NewTimeOfDay(hour, minute int) TimeOfDay {
	return TimeOfDay(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

// Valid reports whether t lies within a day and has microsecond precision.
func (t TimeOfDay) Valid() bool {
	d := time.Duration(t)
	return d >= 0 && d < 24*time.Hour && d%time.Microsecond == 0
}

// String formats t as HH:MM:SS.
func (t TimeOfDay) String() string {
	d := time.Duration(t)
	return fmt.Sprintf("%02d:%02d:%02d", int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60)
}

// WorkDays is a set of weekdays as a bit mask: bit 0 is Sunday, bit 6 Saturday.
type WorkDays int16

// NewWorkDays returns the set of the given weekdays.
func NewWorkDays(days ...time.Weekday) WorkDays {
	var w WorkDays
	for _, d := range days {
		w |= 1 << d
	}
	return w
}

// Has reports whether d is in the set.
func (w WorkDays) Has(d time.Weekday) bool { return w&(1<<d) != 0 }

// Valid reports whether only the seven weekday bits are set.
func (w WorkDays) Valid() bool { return w >= 0 && w < 1<<7 }

// ClusterSort is a column clusters may be listed by. Only these are allowed.
type ClusterSort string

// Cluster sort orders. Ties are broken by ID, so every order is total.
const (
	ClusterByCreatedAt ClusterSort = "created_at" // the default
	ClusterByName      ClusterSort = "name"       // byte order (COLLATE "C"), not locale order
)

// Valid reports whether s is an allowed sort column; empty means the default.
func (s ClusterSort) Valid() bool { return s == "" || s == ClusterByCreatedAt || s == ClusterByName }

// ClusterFilters selects clusters for List and ListAfter. Nil fields do not
// filter; set fields are combined with AND.
type ClusterFilters struct {
	Team        *string
	Owner       *string
	OwnerID     *string
	Status      *ClusterStatus
	Platform    *Platform
	ClusterType *ClusterType
	Profile     *string
	Region      *string

	Sort ClusterSort // default created_at
	Desc bool        // descending order

	// Limit is the page size: 0 means DefaultLimit, more than MaxLimit is refused.
	Limit int
	// Offset skips rows (List only; ListAfter refuses a non-zero Offset).
	Offset int
}

// ClusterUpdate changes the mutable, non-status fields of a cluster: each
// non-nil field is written, the rest are left alone. Status changes go
// through UpdateStatus so the state machine is always enforced.
type ClusterUpdate struct {
	DestroyAt         *time.Time
	TTLHours          *int
	EffectiveTags     *map[string]string
	OffhoursOptIn     *bool
	WorkHoursEnabled  *bool
	WorkHoursStart    *TimeOfDay
	WorkHoursEnd      *TimeOfDay
	WorkDays          *WorkDays
	PreserveOnFailure *bool
	CredentialsMode   *string
}

// ClusterStore is the API of clusters: Store.Clusters.
type ClusterStore struct{ s *Store }

// Create inserts c, assigning c.ID when empty and setting CreatedAt and
// UpdatedAt (and defaults for empty Status and ClusterType) on c.
// ErrConflict if the ID exists or an active cluster (Status.Active) has
// the same name, platform and base domain.
func (cs ClusterStore) Create(ctx context.Context, c *Cluster) error {
	return cs.s.run(ctx, "Clusters.Create", func(ctx context.Context, x Executor) error {
		if err := c.validate(); err != nil {
			return err
		}
		if c.ID == "" {
			c.ID = NewID(PrefixCluster)
		}
		c.Status = orDefault(c.Status, ClusterPending)
		c.ClusterType = orDefault(c.ClusterType, ClusterTypeOpenShift)
		return x.ClusterInsert(ctx, c)
	})
}

// GetByID returns the cluster or ErrNotFound.
func (cs ClusterStore) GetByID(ctx context.Context, id string) (*Cluster, error) {
	return call(cs.s, ctx, "Clusters.GetByID", func(ctx context.Context, x Executor) (*Cluster, error) {
		if err := checkID("id", id); err != nil {
			return nil, err
		}
		return x.ClusterGetByID(ctx, id)
	})
}

// GetByIDForUpdate is GetByID that also locks the row until the enclosing
// transaction ends (SELECT … FOR NO KEY UPDATE), so other writers of the
// row, and other GetByIDForUpdate calls, wait; inserting a job or granting
// a lock for the cluster does not. Outside a transaction the lock ends
// with the call.
func (cs ClusterStore) GetByIDForUpdate(ctx context.Context, id string) (*Cluster, error) {
	return call(cs.s, ctx, "Clusters.GetByIDForUpdate", func(ctx context.Context, x Executor) (*Cluster, error) {
		if err := checkID("id", id); err != nil {
			return nil, err
		}
		return x.ClusterGetByIDForUpdate(ctx, id)
	})
}

// List returns one page of matching clusters and the total number of
// matches, both from one snapshot.
func (cs ClusterStore) List(ctx context.Context, f ClusterFilters) ([]*Cluster, int, error) {
	var total int
	items, err := call(cs.s, ctx, "Clusters.List", func(ctx context.Context, x Executor) ([]*Cluster, error) {
		if err := f.validate(); err != nil {
			return nil, err
		}
		items, n, err := x.ClusterList(ctx, f)
		total = n
		return items, err
	})
	return items, total, err
}

// ListAfter returns the page after cursor ("" for the first page) in
// keyset order: its cost does not grow with depth, and rows inserted
// between calls never make a row skipped or repeated. The returned Page's
// Next is "" after the last page. A cursor is only valid with the filters'
// sort order; otherwise ErrInvalidArgument.
func (cs ClusterStore) ListAfter(ctx context.Context, f ClusterFilters, cursor string) (Page[*Cluster], error) {
	return call(cs.s, ctx, "Clusters.ListAfter", func(ctx context.Context, x Executor) (Page[*Cluster], error) {
		if err := f.validate(); err != nil {
			return Page[*Cluster]{}, err
		}
		if err := checkAfter(f.Offset, cursor, string(orDefault(f.Sort, ClusterByCreatedAt)), f.Desc); err != nil {
			return Page[*Cluster]{}, err
		}
		return x.ClusterListAfter(ctx, f, cursor)
	})
}

// UpdateStatus moves the cluster to status to, atomically and only from a
// status the state machine allows (see AllowedFrom): a compare-and-set in
// one statement. It sets DestroyedAt when to is DESTROYED. Otherwise
// ErrInvalidStateTransition naming from and to (*TransitionError), or
// ErrNotFound.
func (cs ClusterStore) UpdateStatus(ctx context.Context, id string, to ClusterStatus) (*Cluster, error) {
	return call(cs.s, ctx, "Clusters.UpdateStatus", func(ctx context.Context, x Executor) (*Cluster, error) {
		if err := checkID("id", id); err != nil {
			return nil, err
		}
		if !to.Valid() {
			return nil, invalid("status", "unknown value %q", to)
		}
		return x.ClusterUpdateStatus(ctx, id, to)
	})
}

// Update writes the non-nil fields of u and returns the updated cluster.
func (cs ClusterStore) Update(ctx context.Context, id string, u ClusterUpdate) (*Cluster, error) {
	return call(cs.s, ctx, "Clusters.Update", func(ctx context.Context, x Executor) (*Cluster, error) {
		if err := checkID("id", id); err != nil {
			return nil, err
		}
		if err := u.validate(); err != nil {
			return nil, err
		}
		return x.ClusterUpdate(ctx, id, u)
	})
}

// ListExpired returns up to limit clusters whose DestroyAt has passed and
// whose status a DESTROY may start from (READY, FAILED, HIBERNATED,
// DESTROY_FAILED), oldest DestroyAt first: the TTL janitor's query.
func (cs ClusterStore) ListExpired(ctx context.Context, limit int) ([]*Cluster, error) {
	return call(cs.s, ctx, "Clusters.ListExpired", func(ctx context.Context, x Executor) ([]*Cluster, error) {
		if err := checkLimit(limit); err != nil {
			return nil, err
		}
		return x.ClusterListExpired(ctx, limit)
	})
}
