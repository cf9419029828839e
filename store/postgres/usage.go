package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/jackc/pgx/v5"

	"github.com/ocpctl/ocpstore/store"
)

// usageColumns is the column list of usage_samples, in usageRow.dests order.
var usageColumns = []string{"id", "cluster_id", "sample_time", "state", "control_plane_replicas",
	"worker_replicas", "estimated_hourly_cost", "metadata"}

// usageRow receives a usage_samples row.
type usageRow struct{ s store.UsageSample }

func (r *usageRow) dests() []any {
	s := &r.s
	return []any{&s.ID, &s.ClusterID, &s.SampleTime, &s.State, &s.ControlPlaneReplicas, &s.WorkerReplicas,
		&s.EstimatedHourlyCost, &s.Metadata}
}

func (r *usageRow) value() *store.UsageSample {
	s := &r.s
	s.SampleTime = s.SampleTime.UTC()
	return s
}

var usageSamples = table[*store.UsageSample]{name: "usage_samples", columns: usageColumns,
	newRow: func() row[*store.UsageSample] { return new(usageRow) }}

// usageUpsert is the conflict clause of Record and RecordBatch: a sample of
// the same cluster and time gets the new values and keeps its ID.
var usageUpsert = "ON CONFLICT (cluster_id, sample_time) DO UPDATE SET " + excluded(usageColumns[3:]...)

// The fixed usage statements.
var (
	usageRecordSQL = named("INSERT INTO usage_samples (" + joinColumns(usageColumns) + ")" +
		" VALUES (" + params(usageColumns...) + ") " + usageUpsert + " RETURNING id")
	// usageRecordBatchSQL takes one array per column: the whole batch in
	// one statement, so it is recorded all or none.
	usageRecordBatchSQL = named("INSERT INTO usage_samples (" + joinColumns(usageColumns) + ")" +
		" SELECT * FROM unnest(@ids::text[], @cluster_ids::text[], @sample_times::timestamptz[], @states::text[]," +
		" @control_plane_replicas::integer[], @worker_replicas::integer[], @costs::numeric[], @metadata::jsonb[])" +
		" " + usageUpsert + " RETURNING id, cluster_id, sample_time")
	usageListSQL = named("SELECT " + joinColumns(usageColumns) + " FROM usage_samples" +
		" WHERE cluster_id = @cluster_id AND sample_time >= @from AND sample_time < @to ORDER BY sample_time")
)

// Record upserts s on (cluster, sample time); s.ID becomes the row's ID.
func (s executor) UsageUpsert(ctx context.Context, u *store.UsageSample) error {
	var id string
	err := s.q.QueryRow(ctx, usageRecordSQL.sql, usageRecordSQL.args(pgx.NamedArgs{"id": u.ID, "cluster_id": u.ClusterID,
		"sample_time": dbTime(u.SampleTime), "state": u.State, "control_plane_replicas": u.ControlPlaneReplicas,
		"worker_replicas": u.WorkerReplicas, "estimated_hourly_cost": u.EstimatedHourlyCost,
		"metadata": jsonArg(u.Metadata)})...).Scan(&id)
	if err != nil {
		return mapError(ctx, err, "record usage of cluster "+u.ClusterID)
	}
	u.ID = id
	return nil
}

// usageKey identifies a sample within a batch.
type usageKey struct {
	cluster string
	at      time.Time
}

// RecordBatch upserts every sample in one statement and sets each
// sample's ID to its row's.
func (s executor) UsageUpsertMany(ctx context.Context, samples []*store.UsageSample) error {
	n := len(samples)
	ids, clusters, states := make([]string, n), make([]string, n), make([]string, n)
	times := make([]time.Time, n)
	cps, workers := make([]int32, n), make([]int32, n)
	costs := make([]*float64, n)
	metadata := make([]*string, n)
	byKey := make(map[usageKey]*store.UsageSample, n)
	for i, u := range samples {
		ids[i], clusters[i], times[i], states[i] = u.ID, u.ClusterID, dbTime(u.SampleTime), string(u.State)
		cps[i], workers[i], costs[i] = int32(u.ControlPlaneReplicas), int32(u.WorkerReplicas), u.EstimatedHourlyCost
		if u.Metadata != nil {
			js, _ := json.Marshal(u.Metadata) // a map of strings always marshals
			metadata[i] = new(string(js))
		}
		byKey[usageKey{u.ClusterID, times[i]}] = u
	}
	rows, err := s.q.Query(ctx, usageRecordBatchSQL.sql, usageRecordBatchSQL.args(pgx.NamedArgs{"ids": ids,
		"cluster_ids": clusters, "sample_times": times, "states": states, "control_plane_replicas": cps,
		"worker_replicas": workers, "costs": costs, "metadata": metadata})...)
	if err != nil {
		return mapError(ctx, err, "record usage batch")
	}
	defer rows.Close()
	for rows.Next() {
		var k usageKey
		var id string
		if err := rows.Scan(&id, &k.cluster, &k.at); err != nil {
			return mapError(ctx, err, "record usage batch")
		}
		if u := byKey[usageKey{k.cluster, k.at.UTC()}]; u != nil {
			u.ID = id
		}
	}
	return mapError(ctx, rows.Err(), "record usage batch")
}

// List returns the cluster's samples in [from, to), oldest first.
func (s executor) UsageList(ctx context.Context, clusterID string, from, to time.Time) ([]*store.UsageSample, error) {
	us, err := usageSamples.all(ctx, s.q, usageListSQL, pgx.NamedArgs{"cluster_id": clusterID, "from": dbTime(from), "to": dbTime(to)})
	return us, mapError(ctx, err, "list usage of cluster "+clusterID)
}

// SummarizeByCluster aggregates the range's samples per cluster.
func (s executor) UsageSummarizeByCluster(ctx context.Context, r store.UsageRange) ([]store.UsageSummary, error) {
	return s.usageSummarize(ctx, r, "s.cluster_id")
}

// SummarizeByTeam aggregates the range's samples per team of their cluster.
func (s executor) UsageSummarizeByTeam(ctx context.Context, r store.UsageRange) ([]store.UsageSummary, error) {
	return s.usageSummarize(ctx, r, "c.team")
}

// summarize counts and sums the range's samples in SQL, grouped by key (a
// column of s, the samples, or c, their clusters), in byte order of key.
// The sum is exact (NUMERIC) and converted to float64 once.
func (s executor) usageSummarize(ctx context.Context, r store.UsageRange, key string) ([]store.UsageSummary, error) {
	b := psql.Select(key, "count(*)", "COALESCE(sum(s.estimated_hourly_cost), 0)::float8").
		From("usage_samples s").
		Where("s.sample_time >= ? AND s.sample_time < ?", dbTime(r.From), dbTime(r.To))
	if r.Team != nil || strings.HasPrefix(key, "c.") {
		b = b.Join("clusters c ON c.id = s.cluster_id")
	}
	if r.ClusterID != nil {
		b = b.Where(sq.Eq{"s.cluster_id": *r.ClusterID})
	}
	if r.Team != nil {
		b = b.Where(sq.Eq{"c.team": *r.Team})
	}
	sqlStr, args, err := b.GroupBy(key).OrderBy(key + ` COLLATE "C"`).ToSql()
	if err != nil {
		return nil, err
	}
	rows, err := s.q.Query(ctx, sqlStr, args...)
	if err != nil {
		return nil, mapError(ctx, err, "summarize usage")
	}
	hours := store.SampleInterval.Hours()
	out := []store.UsageSummary{}
	for rows.Next() {
		var sum store.UsageSummary
		var cost float64
		if err := rows.Scan(&sum.Key, &sum.Samples, &cost); err != nil {
			rows.Close()
			return nil, mapError(ctx, err, "summarize usage")
		}
		sum.Hours = float64(sum.Samples) * hours
		sum.EstimatedCost = cost * hours
		out = append(out, sum)
	}
	return out, mapError(ctx, rows.Err(), "summarize usage")
}
