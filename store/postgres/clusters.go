package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ocpctl/ocpstore/store"
)

// clusterColumns is the column list of clusters, in clusterRow.dests order.
var clusterColumns = []string{"id", "name", "platform", "cluster_type", "version", "profile", "region",
	"base_domain", "owner", "owner_id", "team", "cost_center", "status", "requested_by", "ttl_hours",
	"destroy_at", "created_at", "updated_at", "destroyed_at", "request_tags", "effective_tags",
	"ssh_public_key", "offhours_opt_in", "work_hours_enabled", "work_hours_start", "work_hours_end",
	"work_days", "preserve_on_failure", "credentials_mode"}

// clusterRow receives a clusters row.
type clusterRow struct {
	c          store.Cluster
	start, end pgtype.Time
	days       *int16
}

func (r *clusterRow) dests() []any {
	c := &r.c
	return []any{&c.ID, &c.Name, &c.Platform, &c.ClusterType, &c.Version, &c.Profile, &c.Region,
		&c.BaseDomain, &c.Owner, &c.OwnerID, &c.Team, &c.CostCenter, &c.Status, &c.RequestedBy, &c.TTLHours,
		&c.DestroyAt, &c.CreatedAt, &c.UpdatedAt, &c.DestroyedAt, &c.RequestTags, &c.EffectiveTags,
		&c.SSHPublicKey, &c.OffhoursOptIn, &c.WorkHoursEnabled, &r.start, &r.end,
		&r.days, &c.PreserveOnFailure, &c.CredentialsMode}
}

func (r *clusterRow) value() *store.Cluster {
	c := &r.c
	inUTC(c.DestroyAt)
	inUTC(c.DestroyedAt)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	c.WorkHoursStart, c.WorkHoursEnd, c.WorkDays = timeOfDay(r.start), timeOfDay(r.end), workDays(r.days)
	return c
}

var clusters = table[*store.Cluster]{name: "clusters", columns: clusterColumns,
	newRow: func() row[*store.Cluster] { return new(clusterRow) }}

// clusterValues returns the values of clusterColumns by name, for
// clusterCreateSQL.
func clusterValues(c *store.Cluster, now any) pgx.NamedArgs {
	return pgx.NamedArgs{"id": c.ID, "name": c.Name, "platform": c.Platform, "cluster_type": c.ClusterType,
		"version": c.Version, "profile": c.Profile, "region": c.Region, "base_domain": c.BaseDomain, "owner": c.Owner,
		"owner_id": c.OwnerID, "team": c.Team, "cost_center": c.CostCenter, "status": c.Status,
		"requested_by": c.RequestedBy, "ttl_hours": c.TTLHours, "destroy_at": optTime(c.DestroyAt), "now": now,
		"destroyed_at": optTime(c.DestroyedAt), "request_tags": jsonArg(c.RequestTags),
		"effective_tags": jsonArg(c.EffectiveTags), "ssh_public_key": c.SSHPublicKey,
		"offhours_opt_in": c.OffhoursOptIn, "work_hours_enabled": c.WorkHoursEnabled,
		"work_hours_start": timeArg(c.WorkHoursStart), "work_hours_end": timeArg(c.WorkHoursEnd),
		"work_days": workDaysArg(c.WorkDays), "preserve_on_failure": c.PreserveOnFailure,
		"credentials_mode": c.CredentialsMode}
}

// allowedFrom is store.AllowedFrom of every status, computed once:
// UpdateStatus runs on every claim and finish, and AllowedFrom walks the
// whole state machine.
var allowedFrom = func() map[store.ClusterStatus][]store.ClusterStatus {
	m := make(map[store.ClusterStatus][]store.ClusterStatus)
	for _, s := range store.ClusterStatuses() {
		m[s] = store.AllowedFrom(s)
	}
	return m
}()

// destroyStartSQL lists the statuses a destroy may start from, the
// clusters_destroy_at_idx predicate ListExpired repeats.
var destroyStartSQL = func() string {
	tr, _ := store.TransitionFor(store.JobDestroy)
	return literals(tr.From...)
}()

// The fixed cluster statements.
var (
	// clusterCreateSQL inserts every column, created_at and updated_at
	// being now.
	clusterCreateSQL = named("INSERT INTO clusters (" + joinColumns(clusterColumns) + ")" +
		" VALUES (" + params(clusterColumns[:16]...) + ", " + nowSQL + ", " + nowSQL + ", " +
		params(clusterColumns[18:]...) + ") RETURNING created_at, updated_at")
	clusterGetSQL          = named("SELECT " + joinColumns(clusterColumns) + " FROM clusters WHERE id = @id")
	clusterGetForUpdateSQL = named("SELECT " + joinColumns(clusterColumns) + " FROM clusters WHERE id = @id FOR NO KEY UPDATE")
	// clusterUpdateStatusSQL is the compare-and-set: the row changes only
	// from a status in @from.
	clusterUpdateStatusSQL = named("UPDATE clusters SET status = @to, updated_at = " + nowSQL + "," +
		" destroyed_at = CASE WHEN @destroyed::boolean THEN " + nowSQL + " ELSE destroyed_at END" +
		" WHERE id = @id AND status = ANY(@from::text[]) RETURNING " + joinColumns(clusterColumns))
	// clusterListExpiredSQL's predicate repeats clusters_destroy_at_idx's.
	clusterListExpiredSQL = named("SELECT " + joinColumns(clusterColumns) + " FROM clusters" +
		" WHERE destroy_at IS NOT NULL AND status IN (" + destroyStartSQL + ") AND destroy_at <= " + nowSQL +
		" ORDER BY destroy_at, id LIMIT @limit")
)

// ClusterInsert inserts c and sets its timestamps in place.
func (s executor) ClusterInsert(ctx context.Context, c *store.Cluster) error {
	now := s.now()
	// Scanned in place: a failed INSERT returns no row, so an error leaves them.
	err := s.q.QueryRow(ctx, clusterCreateSQL.sql, clusterCreateSQL.args(clusterValues(c, now))...).Scan(&c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return mapError(ctx, err, "create cluster "+c.ID)
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return nil
}

// GetByID returns the cluster or ErrNotFound.
func (s executor) ClusterGetByID(ctx context.Context, id string) (*store.Cluster, error) {
	c, err := clusters.one(ctx, s.q, clusterGetSQL, pgx.NamedArgs{"id": id})
	if err != nil {
		return nil, mapError(ctx, err, "cluster "+id)
	}
	return c, nil
}

// GetByIDForUpdate is GetByID with SELECT … FOR NO KEY UPDATE: it blocks
// every other writer of the row, and lets the foreign-key checks of rows
// that reference it (a job's insert, a lock's grant: FOR KEY SHARE) through
// (see "Lock order" in the package documentation).
func (s executor) ClusterGetByIDForUpdate(ctx context.Context, id string) (*store.Cluster, error) {
	c, err := clusters.one(ctx, s.q, clusterGetForUpdateSQL, pgx.NamedArgs{"id": id})
	if err != nil {
		return nil, mapError(ctx, err, "cluster "+id)
	}
	return c, nil
}

// clusterOrder returns the order of a cluster listing.
func clusterOrder(f store.ClusterFilters) order {
	if f.Sort == store.ClusterByName {
		return order{sort: string(store.ClusterByName), desc: f.Desc, keyExpr: `name COLLATE "C"`}
	}
	return order{sort: string(store.ClusterByCreatedAt), desc: f.Desc, keyExpr: "created_at", timeKey: true}
}

// clusterFilters returns the conditions of f's set fields.
func clusterFilters(f store.ClusterFilters) filter {
	var w filter
	if f.Team != nil {
		w.add(0, eq, "team", *f.Team)
	}
	if f.Owner != nil {
		w.add(1, eq, "owner", *f.Owner)
	}
	if f.OwnerID != nil {
		w.add(2, eq, "owner_id", *f.OwnerID)
	}
	if f.Status != nil {
		w.add(3, eq, "status", *f.Status)
	}
	if f.Platform != nil {
		w.add(4, eq, "platform", *f.Platform)
	}
	if f.ClusterType != nil {
		w.add(5, eq, "cluster_type", *f.ClusterType)
	}
	if f.Profile != nil {
		w.add(6, eq, "profile", *f.Profile)
	}
	if f.Region != nil {
		w.add(7, eq, "region", *f.Region)
	}
	return w
}

// List returns a page and the total from one statement (one snapshot).
func (s executor) ClusterList(ctx context.Context, f store.ClusterFilters) ([]*store.Cluster, int, error) {
	items, total, err := listWithTotal(ctx, s.conn, clusters, clusterFilters(f), clusterOrder(f),
		store.EffectiveLimit(f.Limit), f.Offset)
	if err != nil {
		return nil, 0, mapError(ctx, err, "list clusters")
	}
	return items, total, nil
}

// ListAfter returns the keyset page after cursor.
func (s executor) ClusterListAfter(ctx context.Context, f store.ClusterFilters, cursor string) (store.Page[*store.Cluster], error) {
	o := clusterOrder(f)
	p, err := listAfter(ctx, s.conn, clusters, clusterFilters(f), o, cursor, store.EffectiveLimit(f.Limit),
		func(c *store.Cluster) (string, string) {
			if o.timeKey {
				return store.TimeKey(c.CreatedAt), c.ID
			}
			return c.Name, c.ID
		})
	return p, mapError(ctx, err, "list clusters")
}

// UpdateStatus is a compare-and-set on the status: it changes the row only
// from a status store.AllowedFrom(to) lists. When no row changed it reads
// the row to tell a missing cluster from a refused transition.
func (s executor) ClusterUpdateStatus(ctx context.Context, id string, to store.ClusterStatus) (*store.Cluster, error) {
	c, err := clusters.one(ctx, s.q, clusterUpdateStatusSQL,
		pgx.NamedArgs{"to": to, "now": s.now(), "destroyed": to == store.ClusterDestroyed, "id": id, "from": allowedFrom[to]})
	if err == nil {
		return c, nil
	}
	if !isNoRows(err) {
		return nil, mapError(ctx, err, fmt.Sprintf("update cluster %s status to %s", id, to))
	}
	cur, err := s.ClusterGetByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return nil, &store.TransitionError{Entity: "cluster", ID: id, From: string(cur.Status), To: string(to)}
}

// Update writes the non-nil fields of u, each to its named column.
func (s executor) ClusterUpdate(ctx context.Context, id string, u store.ClusterUpdate) (*store.Cluster, error) {
	b := psql.Update("clusters").Set("updated_at", nowExpr(s.now()))
	if u.DestroyAt != nil {
		b = b.Set("destroy_at", dbTime(*u.DestroyAt))
	}
	if u.TTLHours != nil {
		b = b.Set("ttl_hours", *u.TTLHours)
	}
	if u.EffectiveTags != nil {
		b = b.Set("effective_tags", jsonArg(*u.EffectiveTags))
	}
	if u.OffhoursOptIn != nil {
		b = b.Set("offhours_opt_in", *u.OffhoursOptIn)
	}
	if u.WorkHoursEnabled != nil {
		b = b.Set("work_hours_enabled", *u.WorkHoursEnabled)
	}
	if u.WorkHoursStart != nil {
		b = b.Set("work_hours_start", timeArg(u.WorkHoursStart))
	}
	if u.WorkHoursEnd != nil {
		b = b.Set("work_hours_end", timeArg(u.WorkHoursEnd))
	}
	if u.WorkDays != nil {
		b = b.Set("work_days", workDaysArg(u.WorkDays))
	}
	if u.PreserveOnFailure != nil {
		b = b.Set("preserve_on_failure", *u.PreserveOnFailure)
	}
	if u.CredentialsMode != nil {
		b = b.Set("credentials_mode", *u.CredentialsMode)
	}
	sqlStr, args, err := b.Where("id = ?", id).Suffix("RETURNING " + joinColumns(clusterColumns)).ToSql()
	if err != nil {
		return nil, err
	}
	c, err := clusters.queryOne(ctx, s.q, sqlStr, args...)
	return c, mapError(ctx, err, "update cluster "+id)
}

// ListExpired returns clusters past their DestroyAt that a destroy may
// start from, oldest DestroyAt first.
func (s executor) ClusterListExpired(ctx context.Context, limit int) ([]*store.Cluster, error) {
	cs, err := clusters.all(ctx, s.q, clusterListExpiredSQL, pgx.NamedArgs{"now": s.now(), "limit": limit})
	return cs, mapError(ctx, err, "list expired clusters")
}
