package memory

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

func clusterNotFound(id string) error { return fmt.Errorf("cluster %s: %w", id, store.ErrNotFound) }

// checkName refuses c when another active cluster has its name, platform
// and base domain (the partial unique index).
func checkName(v *dbView, c *store.Cluster) error {
	k, ok := nameKey(c)
	if !ok {
		return nil
	}
	if id, other := v.clusters.lookup(v.db.clusterName, k); other != nil && id != c.ID {
		return failedStatement(fmt.Errorf("cluster %s: active cluster %s already has name %q on %s: %w",
			c.ID, id, c.Name, c.Platform, store.ErrConflict))
	}
	return nil
}

func (s executor) ClusterInsert(ctx context.Context, c *store.Cluster) error {
	return s.via.write(ctx, func(v *dbView) error {
		r := cloneCluster(c)
		now := s.b.now()
		r.CreatedAt, r.UpdatedAt = now, now
		if v.clusters.get(r.ID) != nil {
			return failedStatement(fmt.Errorf("cluster %s: id exists: %w", r.ID, store.ErrConflict))
		}
		if err := checkName(v, r); err != nil {
			return err
		}
		v.clusters.put(r.ID, r)
		c.CreatedAt, c.UpdatedAt = now, now
		return nil
	})
}

func (s executor) ClusterGetByID(ctx context.Context, id string) (*store.Cluster, error) {
	var out *store.Cluster
	err := s.via.read(ctx, func(v *dbView) error {
		r := v.clusters.get(id)
		if r == nil {
			return clusterNotFound(id)
		}
		out = cloneCluster(r)
		return nil
	})
	return out, err
}

// GetByIDForUpdate waits for the write token like a write, since an open
// transaction is presumed to lock every row; in a transaction it is GetByID.
func (s executor) ClusterGetByIDForUpdate(ctx context.Context, id string) (*store.Cluster, error) {
	var out *store.Cluster
	err := s.via.write(ctx, func(v *dbView) error {
		r := v.clusters.get(id)
		if r == nil {
			return clusterNotFound(id)
		}
		out = cloneCluster(r)
		return nil
	})
	return out, err
}

// UpdateStatus is a compare-and-set on the state machine: the row moves
// only from a status store.AllowedFrom(to) lists, and a cluster becoming
// active again must not collide with an active namesake.
func (s executor) ClusterUpdateStatus(ctx context.Context, id string, to store.ClusterStatus) (*store.Cluster, error) {
	var out *store.Cluster
	err := s.via.write(ctx, func(v *dbView) error {
		c, err := v.moveCluster(id, to, s.b.now())
		if err == nil {
			out = cloneCluster(c)
		}
		return err
	})
	return out, err
}

// moveCluster is ClusterUpdateStatus's write at now.
func (v *dbView) moveCluster(id string, to store.ClusterStatus, now time.Time) (*store.Cluster, error) {
	cur := v.clusters.get(id)
	if cur == nil {
		return nil, clusterNotFound(id)
	}
	if !store.CanTransition(cur.Status, to) {
		return nil, fmt.Errorf("update status: %w",
			&store.TransitionError{Entity: "cluster", ID: id, From: string(cur.Status), To: string(to)})
	}
	r := *cur
	r.Status, r.UpdatedAt = to, now
	if to == store.ClusterDestroyed {
		r.DestroyedAt = &now
	}
	if err := checkName(v, &r); err != nil {
		return nil, err
	}
	v.clusters.put(id, &r)
	return &r, nil
}

func (s executor) ClusterUpdate(ctx context.Context, id string, u store.ClusterUpdate) (*store.Cluster, error) {
	var out *store.Cluster
	err := s.via.write(ctx, func(v *dbView) error {
		cur := v.clusters.get(id)
		if cur == nil {
			return clusterNotFound(id)
		}
		r := *cur
		if u.DestroyAt != nil {
			r.DestroyAt = timePtr(u.DestroyAt)
		}
		if u.TTLHours != nil {
			r.TTLHours = *u.TTLHours
		}
		if u.EffectiveTags != nil {
			r.EffectiveTags = maps.Clone(*u.EffectiveTags)
		}
		if u.OffhoursOptIn != nil {
			r.OffhoursOptIn = *u.OffhoursOptIn
		}
		if u.WorkHoursEnabled != nil {
			r.WorkHoursEnabled = ptr(u.WorkHoursEnabled)
		}
		if u.WorkHoursStart != nil {
			r.WorkHoursStart = ptr(u.WorkHoursStart)
		}
		if u.WorkHoursEnd != nil {
			r.WorkHoursEnd = ptr(u.WorkHoursEnd)
		}
		if u.WorkDays != nil {
			r.WorkDays = ptr(u.WorkDays)
		}
		if u.PreserveOnFailure != nil {
			r.PreserveOnFailure = *u.PreserveOnFailure
		}
		if u.CredentialsMode != nil {
			r.CredentialsMode = ptr(u.CredentialsMode)
		}
		r.UpdatedAt = s.b.now()
		v.clusters.put(id, &r)
		out = cloneCluster(&r)
		return nil
	})
	return out, err
}
