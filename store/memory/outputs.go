package memory

import (
	"context"
	"fmt"
	"strings"

	"github.com/ocpctl/ocpstore/store"
)

func (s executor) OutputsUpsert(ctx context.Context, o *store.ClusterOutputs) error {
	return s.via.write(ctx, func(v *dbView) error {
		if v.clusters.get(o.ClusterID) == nil {
			return failedStatement(fmt.Errorf("outputs: %w", clusterNotFound(o.ClusterID)))
		}
		r := cloneOutputs(o)
		now := s.b.now()
		r.UpdatedAt = now
		if cur := v.outputs.get(o.ClusterID); cur != nil {
			r.ID, r.CreatedAt = cur.ID, cur.CreatedAt
		} else {
			if _, other := v.outputs.lookup(v.db.outputsID, r.ID); other != nil {
				return failedStatement(fmt.Errorf("outputs %s: id exists: %w", r.ID, store.ErrConflict))
			}
			r.CreatedAt = now
		}
		v.outputs.put(r.ClusterID, r)
		o.ID, o.CreatedAt, o.UpdatedAt = r.ID, r.CreatedAt, r.UpdatedAt
		return nil
	})
}

func outputsNotFound(clusterID string) error {
	return fmt.Errorf("outputs of cluster %s: %w", clusterID, store.ErrNotFound)
}

func (s executor) OutputsGet(ctx context.Context, clusterID string) (*store.ClusterOutputs, error) {
	var out *store.ClusterOutputs
	err := s.via.read(ctx, func(v *dbView) error {
		r := v.outputs.get(clusterID)
		if r == nil {
			return outputsNotFound(clusterID)
		}
		out = cloneOutputs(r)
		return nil
	})
	return out, err
}

func (s executor) OutputsDelete(ctx context.Context, clusterID string) error {
	return s.via.write(ctx, func(v *dbView) error {
		if v.outputs.get(clusterID) == nil {
			return outputsNotFound(clusterID)
		}
		v.outputs.del(clusterID)
		return nil
	})
}

func (s executor) ArtifactInsert(ctx context.Context, a *store.ClusterArtifact) error {
	return s.via.write(ctx, func(v *dbView) error {
		r := cloneArtifact(a)
		r.CreatedAt = s.b.now()
		if v.artifacts.get(r.ID) != nil {
			return failedStatement(fmt.Errorf("artifact %s: id exists: %w", r.ID, store.ErrConflict))
		}
		if v.clusters.get(r.ClusterID) == nil {
			return failedStatement(fmt.Errorf("artifact %s: %w", r.ID, clusterNotFound(r.ClusterID)))
		}
		v.artifacts.put(r.ID, r)
		a.CreatedAt = r.CreatedAt
		return nil
	})
}

func (s executor) ArtifactList(ctx context.Context, clusterID string, t *store.ArtifactType) ([]*store.ClusterArtifact, error) {
	var out []*store.ClusterArtifact
	err := s.via.read(ctx, func(v *dbView) error {
		var rows []*store.ClusterArtifact
		for _, a := range v.artifacts.in(v.db.artifactClu, clusterID) {
			if t == nil || a.ArtifactType == *t {
				rows = append(rows, a)
			}
		}
		out = cloneAll(window(rows, func(a, b *store.ClusterArtifact) int {
			return byTimeID(a.CreatedAt, b.CreatedAt, a.ID, b.ID, false)
		}, 0, len(rows)), cloneArtifact)
		return nil
	})
	return out, err
}

func (s executor) OutputsListAfter(ctx context.Context, afterClusterID string, limit int) ([]*store.ClusterOutputs, error) {
	var out []*store.ClusterOutputs
	err := s.via.read(ctx, func(v *dbView) error {
		var rows []*store.ClusterOutputs
		for _, r := range v.outputs.all() {
			if r.ClusterID > afterClusterID {
				rows = append(rows, r)
			}
		}
		out = cloneAll(window(rows, func(a, b *store.ClusterOutputs) int {
			return strings.Compare(a.ClusterID, b.ClusterID)
		}, 0, limit), cloneOutputs)
		return nil
	})
	return out, err
}

func (s executor) OutputsSwapSecrets(ctx context.Context, swaps []store.SecretsSwap) (int, error) {
	n := 0
	err := s.via.write(ctx, func(v *dbView) error {
		n = 0
		for _, sw := range swaps {
			cur := v.outputs.get(sw.ClusterID)
			if cur == nil || !sameText(cur.DashboardToken, sw.Old.DashboardToken) ||
				!sameText(cur.SAToken, sw.Old.SAToken) || !sameText(cur.OCLoginCommand, sw.Old.OCLoginCommand) {
				continue
			}
			r := cloneOutputs(cur)
			r.DashboardToken, r.SAToken, r.OCLoginCommand = ptr(sw.New.DashboardToken), ptr(sw.New.SAToken), ptr(sw.New.OCLoginCommand)
			v.outputs.put(r.ClusterID, r)
			n++
		}
		return nil
	})
	return n, err
}

// sameText reports whether a and b are both nil or hold the same text.
func sameText(a, b *string) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}
