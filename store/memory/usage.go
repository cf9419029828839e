package memory

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// UsageUpsert is UsageUpsertMany of one sample.
func (s executor) UsageUpsert(ctx context.Context, sample *store.UsageSample) error {
	return s.UsageUpsertMany(ctx, []*store.UsageSample{sample})
}

// UsageUpsertMany checks every sample (cluster exists, no ID clash) before
// it writes any, so a refused batch writes nothing.
func (s executor) UsageUpsertMany(ctx context.Context, samples []*store.UsageSample) error {
	return s.via.write(ctx, func(v *dbView) error {
		rows := make([]*store.UsageSample, len(samples))
		ids := make(map[string]bool, len(samples))
		for i, in := range samples {
			r := cloneUsage(in)
			if v.clusters.get(r.ClusterID) == nil {
				return failedStatement(fmt.Errorf("usage sample: %w", clusterNotFound(r.ClusterID)))
			}
			if id, cur := v.usage.lookup(v.db.usageInstant, instantKey(r)); cur != nil {
				r.ID = id // an upsert keeps the existing row's ID
			} else if v.usage.get(r.ID) != nil || ids[r.ID] {
				return failedStatement(fmt.Errorf("usage sample %s: id exists: %w", r.ID, store.ErrConflict))
			}
			ids[r.ID] = true
			rows[i] = r
		}
		for i, r := range rows {
			v.usage.put(r.ID, r)
			samples[i].ID = r.ID
		}
		return nil
	})
}

// inRange reports whether t is in [from, to).
func inRange(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }

func (s executor) UsageList(ctx context.Context, clusterID string, from, to time.Time) ([]*store.UsageSample, error) {
	var out []*store.UsageSample
	from, to = utc(from), utc(to)
	err := s.via.read(ctx, func(v *dbView) error {
		var rows []*store.UsageSample
		for _, u := range v.usage.in(v.db.usageCluster, clusterID) {
			if inRange(u.SampleTime, from, to) {
				rows = append(rows, u)
			}
		}
		out = cloneAll(window(rows, func(a, b *store.UsageSample) int {
			return byTimeID(a.SampleTime, b.SampleTime, a.ID, b.ID, false)
		}, 0, len(rows)), cloneUsage)
		return nil
	})
	return out, err
}

// tally accumulates one summary. The cost is summed exactly, as
// PostgreSQL's sum over NUMERIC does, of each cost's shortest decimal form
// (what the PostgreSQL backend stores), and rounded to a float64 once.
type tally struct {
	samples int
	cost    big.Rat
}

// addCost adds c to the sum as the decimal strconv writes for it.
func (t *tally) addCost(c float64) {
	var r big.Rat
	r.SetString(strconv.FormatFloat(c, 'f', -1, 64)) // always a valid decimal: c is finite
	t.cost.Add(&t.cost, &r)
}

// summarize groups the samples in r by group(sample's cluster), ordered by
// key in byte order.
func (s executor) usageSummarize(ctx context.Context, r store.UsageRange, group func(*store.Cluster) string) ([]store.UsageSummary, error) {
	var out []store.UsageSummary
	from, to := utc(r.From), utc(r.To)
	err := s.via.read(ctx, func(v *dbView) error {
		rows := v.usage.all()
		if r.ClusterID != nil {
			rows = v.usage.in(v.db.usageCluster, *r.ClusterID)
		}
		sums := make(map[string]*tally)
		for _, u := range rows {
			if !inRange(u.SampleTime, from, to) {
				continue
			}
			c := v.clusters.get(u.ClusterID)
			if c == nil || r.Team != nil && c.Team != *r.Team {
				continue
			}
			k := group(c)
			t := sums[k]
			if t == nil {
				t = &tally{}
				sums[k] = t
			}
			t.samples++
			if u.EstimatedHourlyCost != nil {
				t.addCost(*u.EstimatedHourlyCost)
			}
		}
		hours := store.SampleInterval.Hours()
		out = make([]store.UsageSummary, 0, len(sums))
		for k, t := range sums {
			cost, _ := t.cost.Float64() // the nearest float64, as PostgreSQL's ::float8
			out = append(out, store.UsageSummary{Key: k, Samples: t.samples, Hours: float64(t.samples) * hours,
				EstimatedCost: cost * hours})
		}
		return nil
	})
	slices.SortFunc(out, func(a, b store.UsageSummary) int { return strings.Compare(a.Key, b.Key) })
	return out, err
}

func (s executor) UsageSummarizeByCluster(ctx context.Context, r store.UsageRange) ([]store.UsageSummary, error) {
	return s.usageSummarize(ctx, r, func(c *store.Cluster) string { return c.ID })
}

func (s executor) UsageSummarizeByTeam(ctx context.Context, r store.UsageRange) ([]store.UsageSummary, error) {
	return s.usageSummarize(ctx, r, func(c *store.Cluster) string { return c.Team })
}
