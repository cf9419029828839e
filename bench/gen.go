package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
)

// The generator fills a migrated database with a fleet's history through
// COPY (pgx CopyFrom, binary format): clusters, the finished jobs that
// created, configured and destroyed them, and their audit trail. At scale 1
// that is 1,000,000 clusters, 3,000,000 finished jobs and 5,000,000 audit
// events, spread over three years, so a listing, a keyset page and a claim
// run against tables of production size.
//
// Rows are generated in creation order, with IDs and keys that grow with
// it, as the store's own time-ordered IDs do: the indexes take them at
// their right edge, the way they take a live system's inserts.

// Rows per cluster at every scale.
const (
	jobsPerCluster  = 3
	auditPerCluster = 5
	// clustersAtScale1 is the cluster count at -scale 1.
	clustersAtScale1 = 1_000_000
	// teams and owners the clusters are spread over: a team filter
	// selects 1/teams of them.
	teams  = 1000
	owners = 5000
	// activeShare is the share of clusters, the newest, that are still
	// active (READY or HIBERNATED); the others are DESTROYED or FAILED.
	activeShare = 50 // one in 50
)

// dataset is the size and time range of a generated fleet.
type dataset struct {
	Clusters int
	Base     time.Time     // the first cluster's creation
	Span     time.Duration // the clusters' creations spread over [Base, Base+Span)
}

// newDataset returns the fleet of the given scale. Its history ends a day
// before now (the last cluster is created three days before now, and its
// jobs and events follow within two days), so every row the benchmark adds
// later sorts after it.
func newDataset(scale float64, now time.Time) dataset {
	n := max(int(clustersAtScale1*scale), 100)
	span := 3 * 365 * 24 * time.Hour
	return dataset{Clusters: n, Base: now.Add(-span - 3*24*time.Hour).UTC().Truncate(time.Second), Span: span}
}

// Jobs is the number of finished jobs the dataset holds.
func (d dataset) Jobs() int { return d.Clusters * jobsPerCluster }

// Audit is the number of audit events the dataset holds.
func (d dataset) Audit() int { return d.Clusters * auditPerCluster }

// createdAt is the creation time of cluster k.
func (d dataset) createdAt(k int) time.Time {
	return d.Base.Add(time.Duration(int64(d.Span) / int64(d.Clusters) * int64(k)))
}

// genID returns the k-th generated ID with the entity's prefix: 26 digits,
// the length of the store's own IDs, in creation order.
func genID(prefix string, k int) string { return fmt.Sprintf("%s%026d", prefix, k) }

// clusterStatus is cluster k's status: the newest 1/activeShare are active
// (four READY for one HIBERNATED), the older ones DESTROYED, one in ten of
// them FAILED instead.
func (d dataset) clusterStatus(k int) store.ClusterStatus {
	switch {
	case k >= d.Clusters-d.Clusters/activeShare && k%5 == 4:
		return store.ClusterHibernated
	case k >= d.Clusters-d.Clusters/activeShare:
		return store.ClusterReady
	case k%10 == 0:
		return store.ClusterFailed
	default:
		return store.ClusterDestroyed
	}
}

// teamOf and ownerOf spread clusters over teams and owners.
func teamOf(k int) string  { return fmt.Sprintf("team-%03d", k%teams) }
func ownerOf(k int) string { return fmt.Sprintf("user%04d@example.com", k%owners) }

// clusterCopyColumns are the clusters columns the generator fills; the
// others keep their defaults or NULL.
var clusterCopyColumns = []string{"id", "name", "platform", "cluster_type", "version", "profile", "region",
	"base_domain", "owner", "team", "cost_center", "status", "requested_by", "ttl_hours", "created_at",
	"updated_at", "destroyed_at"}

var (
	platforms = store.Platforms()
	regions   = []string{"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1", "us-south", "eastus", "us-central1"}
)

// clusterRow fills vals (clusterCopyColumns) for cluster k with ID id,
// status st, created at.
func clusterRow(vals []any, k int, id string, st store.ClusterStatus, at time.Time) {
	var destroyed any
	if st == store.ClusterDestroyed {
		destroyed = at.Add(72 * time.Hour)
	}
	updated := at
	if !st.Active() {
		updated = at.Add(72 * time.Hour)
	}
	owner := ownerOf(k)
	vals[0], vals[1], vals[2], vals[3] = id, fmt.Sprintf("cluster-%08d", k), string(platforms[k%len(platforms)]), "openshift"
	vals[4], vals[5], vals[6] = fmt.Sprintf("4.%d.%d", 14+k%4, k%30), "standard", regions[k%len(regions)]
	vals[7], vals[8], vals[9], vals[10] = "example.com", owner, teamOf(k), fmt.Sprintf("cc-%02d", k%50)
	vals[11], vals[12], vals[13], vals[14] = string(st), owner, int32(72), at
	vals[15], vals[16] = updated, destroyed
}

// jobCopyColumns are the jobs columns the generator fills.
var jobCopyColumns = []string{"id", "cluster_id", "job_type", "status", "attempt", "max_attempts",
	"error_code", "error_message", "retry_at", "started_at", "ended_at", "created_at", "updated_at"}

// finishedJobRow fills vals (jobCopyColumns) for the m-th job of cluster k:
// CREATE, POST_CONFIGURE, then DESTROY for a destroyed cluster or
// CONFIGURE_EFS for another, all finished; a failed cluster's CREATE failed.
func (d dataset) finishedJobRow(vals []any, k, m int) {
	st := d.clusterStatus(k)
	types := [jobsPerCluster]store.JobType{store.JobCreate, store.JobPostConfigure, store.JobConfigureEFS}
	if st == store.ClusterDestroyed {
		types[2] = store.JobDestroy
	}
	status, code, msg := store.JobSucceeded, any(nil), any(nil)
	if st == store.ClusterFailed && m == 0 {
		status, code, msg = store.JobFailed, "INSTALL_FAILED", "installer exited with status 1"
	}
	created := d.createdAt(k).Add(time.Duration(m) * 24 * time.Hour)
	started, ended := created.Add(time.Second), created.Add(40*time.Minute)
	vals[0], vals[1], vals[2], vals[3] = genID(store.PrefixJob, k*jobsPerCluster+m), genID(store.PrefixCluster, k),
		string(types[m%jobsPerCluster]), string(status)
	vals[4], vals[5], vals[6], vals[7], vals[8] = int32(1), int32(store.DefaultMaxAttempts), code, msg, nil
	vals[9], vals[10], vals[11], vals[12] = started, ended, created, ended
}

// auditCopyColumns are the audit_events columns the generator fills.
var auditCopyColumns = []string{"id", "actor", "action", "target_cluster_id", "target_job_id", "status",
	"metadata", "created_at"}

// auditRow fills vals (auditCopyColumns) for the m-th event of cluster k:
// the request, then a start and an end for two of its jobs. As in a real
// trail, a few are not successes: one request in 50 was DENIED, and a
// failed cluster's first job ended with a FAILURE.
func (d dataset) auditRow(vals []any, k, m int) {
	actions := [auditPerCluster]string{"cluster.create", store.ActionJobStart, store.ActionJobSucceed,
		store.ActionJobStart, store.ActionJobSucceed}
	actor, job, action, status := ownerOf(k), any(nil), actions[m], store.AuditSuccess
	md := map[string]string{"team": teamOf(k)}
	switch {
	case m == 0 && k%50 == 25:
		status = store.AuditDenied
	case m > 0:
		actor = fmt.Sprintf("worker-%d", k%16)
		job = genID(store.PrefixJob, k*jobsPerCluster+(m-1)/2)
		md = map[string]string{"attempt": "1", "token": fmt.Sprint(k*2 + (m-1)/2 + 1)}
	}
	if m == 2 && d.clusterStatus(k) == store.ClusterFailed {
		action, status = store.ActionJobFail, store.AuditFailure
	}
	vals[0], vals[1], vals[2], vals[3] = genID(store.PrefixAudit, k*auditPerCluster+m), actor, action,
		genID(store.PrefixCluster, k)
	vals[4], vals[5], vals[6] = job, string(status), md
	vals[7] = d.createdAt(k).Add(time.Duration(m) * 12 * time.Hour)
}

// lockCopyColumns are the job_locks columns the generator fills.
var lockCopyColumns = []string{"cluster_id", "job_id", "locked_by", "token", "locked_at", "expires_at", "released_at"}

// releasedLockRow fills vals (lockCopyColumns) for cluster k's released
// lock: the one its last job held, with token k+1.
func (d dataset) releasedLockRow(k int, vals []any) {
	m := jobsPerCluster - 1
	created := d.createdAt(k).Add(time.Duration(m) * 24 * time.Hour)
	vals[0], vals[1], vals[2] = genID(store.PrefixCluster, k), genID(store.PrefixJob, k*jobsPerCluster+m), fmt.Sprintf("worker-%d", k%16)
	vals[3], vals[4], vals[5], vals[6] = int64(k+1), created.Add(time.Second), created.Add(5*time.Minute), created.Add(40*time.Minute)
}

// copyRows streams n rows into table with COPY; fill sets the values of
// row i (in columns order) into the slice it is given.
func copyRows(ctx context.Context, pool *pgxpool.Pool, table string, columns []string, n int, fill func(i int, vals []any)) error {
	vals := make([]any, len(columns))
	i := 0
	got, err := pool.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		fill(i, vals)
		i++
		return vals, nil
	}))
	if err != nil {
		return fmt.Errorf("copy into %s: %w", table, err)
	}
	if got != int64(n) {
		return fmt.Errorf("copy into %s: %d rows copied, want %d", table, got, n)
	}
	return nil
}

// generate fills pool's (migrated, empty) database with d, reporting each
// step's time on progress. As bulk loaders do, it drops the tables'
// secondary indexes and foreign keys first and adds them back afterwards:
// building an index from sorted rows, and checking a foreign key with one
// join, is many times faster than doing either row by row. The tables load
// two at a time, each COPY on a connection of its own, since a COPY keeps
// one server process busy.
func generate(ctx context.Context, pool *pgxpool.Pool, d dataset, progress io.Writer) error {
	start := time.Now()
	loads := []load{
		{"audit_events", auditCopyColumns, d.Audit(), func(i int, vals []any) {
			d.auditRow(vals, i/auditPerCluster, i%auditPerCluster)
		}},
		{"jobs", jobCopyColumns, d.Jobs(), func(i int, vals []any) {
			d.finishedJobRow(vals, i/jobsPerCluster, i%jobsPerCluster)
		}},
		{"clusters", clusterCopyColumns, d.Clusters, func(k int, vals []any) {
			clusterRow(vals, k, genID(store.PrefixCluster, k), d.clusterStatus(k), d.createdAt(k))
		}},
	}
	var released bool
	err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'job_locks' AND column_name = 'released_at')`).Scan(&released)
	if err != nil {
		return fmt.Errorf("inspect job_locks: %w", err)
	}
	if released {
		// A schema that keeps released locks holds one per cluster that
		// ever ran a job: the lock of its last job.
		loads = append(loads, load{"job_locks", lockCopyColumns, d.Clusters, d.releasedLockRow})
	}
	tables := make([]string, len(loads))
	for i, l := range loads {
		tables[i] = l.table
	}
	fks, err := dropForeignKeys(ctx, pool, tables)
	if err != nil {
		return err
	}
	defs, err := dropSecondaryIndexes(ctx, pool, tables)
	if err != nil {
		return err
	}
	if err := loadAll(ctx, pool, loads, progress); err != nil {
		return err
	}
	t := time.Now()
	if err := buildIndexes(ctx, pool, defs); err != nil {
		return err
	}
	for _, fk := range fks {
		if _, err := pool.Exec(ctx, fk); err != nil {
			return fmt.Errorf("%s: %w", fk, err)
		}
	}
	if released {
		if _, err := pool.Exec(ctx, "SELECT setval('job_lock_tokens', $1)", int64(d.Clusters)); err != nil {
			return fmt.Errorf("advance the token sequence: %w", err)
		}
	}
	fmt.Fprintf(progress, "  %d secondary indexes built, %d foreign keys checked in %v\n", len(defs), len(fks),
		time.Since(t).Round(time.Second))
	t = time.Now()
	if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) "+strings.Join(tables, ", ")); err != nil {
		return fmt.Errorf("vacuum analyze: %w", err)
	}
	fmt.Fprintf(progress, "  vacuum analyze in %v; generated in %v\n", time.Since(t).Round(time.Second),
		time.Since(start).Round(time.Second))
	return nil
}

// load is one table's COPY: n rows, filled by fill.
type load struct {
	table   string
	columns []string
	n       int
	fill    func(i int, vals []any)
}

// loadAll runs the loads two at a time, in order.
func loadAll(ctx context.Context, pool *pgxpool.Pool, loads []load, progress io.Writer) error {
	const conns = 2
	next := make(chan load)
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			for l := range next {
				if errs[w] != nil {
					continue // keep draining so the sender never blocks; the error is reported below
				}
				t := time.Now()
				if errs[w] = copyRows(ctx, pool, l.table, l.columns, l.n, l.fill); errs[w] != nil {
					continue
				}
				fmt.Fprintf(progress, "  %-12s %10d rows in %v\n", l.table, l.n, time.Since(t).Round(time.Second))
			}
		})
	}
	for _, l := range loads {
		if ctx.Err() != nil {
			break
		}
		next <- l
	}
	close(next)
	wg.Wait()
	return errors.Join(append(errs, ctx.Err())...)
}

// dropForeignKeys drops the foreign keys of tables and returns the
// statements that add them back.
func dropForeignKeys(ctx context.Context, pool *pgxpool.Pool, tables []string) ([]string, error) {
	rows, err := pool.Query(ctx, `SELECT conrelid::regclass::text, conname::text, pg_get_constraintdef(oid)
		FROM pg_constraint
		WHERE contype = 'f' AND conrelid = ANY (SELECT to_regclass(t) FROM unnest($1::text[]) AS t)
		ORDER BY 1, 2`, tables)
	if err != nil {
		return nil, fmt.Errorf("list foreign keys: %w", err)
	}
	type fk struct{ Table, Name, Def string }
	keys, err := pgx.CollectRows(rows, pgx.RowToStructByPos[fk])
	if err != nil {
		return nil, fmt.Errorf("list foreign keys: %w", err)
	}
	adds := make([]string, len(keys))
	for i, k := range keys {
		name := pgx.Identifier{k.Name}.Sanitize()
		if _, err := pool.Exec(ctx, "ALTER TABLE "+k.Table+" DROP CONSTRAINT "+name); err != nil {
			return nil, fmt.Errorf("drop foreign key %s: %w", k.Name, err)
		}
		adds[i] = "ALTER TABLE " + k.Table + " ADD CONSTRAINT " + name + " " + k.Def
	}
	return adds, nil
}

// dropSecondaryIndexes drops the indexes of tables that back no constraint
// (primary keys and unique constraints stay, foreign keys need them) and
// returns their definitions.
func dropSecondaryIndexes(ctx context.Context, pool *pgxpool.Pool, tables []string) ([]string, error) {
	rows, err := pool.Query(ctx, `SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
		FROM pg_index i
		WHERE i.indrelid = ANY (SELECT to_regclass(t) FROM unnest($1::text[]) AS t)
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
		ORDER BY 1`, tables)
	if err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	type index struct{ Name, Def string }
	idx, err := pgx.CollectRows(rows, pgx.RowToStructByPos[index])
	if err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	defs := make([]string, len(idx))
	for i, ix := range idx {
		if _, err := pool.Exec(ctx, "DROP INDEX "+ix.Name); err != nil {
			return nil, fmt.Errorf("drop index %s: %w", ix.Name, err)
		}
		defs[i] = ix.Def
	}
	return defs, nil
}

// buildIndexes runs the CREATE INDEX statements defs on two connections
// at once, with room to sort in memory.
func buildIndexes(ctx context.Context, pool *pgxpool.Pool, defs []string) error {
	const conns = 2
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			errs[w] = pool.AcquireFunc(ctx, func(c *pgxpool.Conn) error {
				if _, err := c.Exec(ctx, "SET maintenance_work_mem = '256MB'"); err != nil {
					return err
				}
				defer c.Exec(context.WithoutCancel(ctx), "RESET maintenance_work_mem") //nolint:errcheck // best effort
				for i := w; i < len(defs); i += conns {
					if _, err := c.Exec(ctx, defs[i]); err != nil {
						return fmt.Errorf("%s: %w", defs[i], err)
					}
				}
				return nil
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("build indexes: %w", err)
	}
	return nil
}
