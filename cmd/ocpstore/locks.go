package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
)

func locksCommand() *command {
	return &command{
		name:    "locks",
		summary: "cluster locks held, and expired but not released, oldest first",
		about: `locks lists the cluster locks that are not released, oldest grant first, on
the database's clock:

  held     live: its holder is heartbeating, or was until less than a TTL ago
  expired  past its expiry but never released: its worker died or lost
           contact. The next Claim of the cluster takes it over, and
           "ocpstore recover" requeues its job if that job is still RUNNING.

AGE is the time since the lock was granted (a renewal by the same holder
keeps the grant); EXPIRES is the time until expiry, or since it.`,
		timeout: time.Minute,
		bind: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			limit := fs.Int("limit", 100, "list at most this many locks (the counts cover all)")
			return func(ctx context.Context, s *session, args []string) error {
				if len(args) != 0 {
					return usageError("unexpected arguments %q", args)
				}
				if *limit < 1 {
					return usageError("-limit must be at least 1")
				}
				pool, err := s.connectMigrated(ctx)
				if err != nil {
					return err
				}
				defer pool.Close()
				r, err := readLocks(ctx, pool, *limit)
				if err != nil {
					return err
				}
				if s.json {
					return s.writeJSON(r)
				}
				return locksTable(s, r)
			}
		},
	}
}

// lockRow is one unreleased lock, as -json writes it.
type lockRow struct {
	State       string        `json:"state"` // "held" or "expired"
	ClusterID   string        `json:"cluster_id"`
	ClusterName string        `json:"cluster_name"`
	JobID       string        `json:"job_id"`
	JobType     store.JobType `json:"job_type"`
	JobStatus   string        `json:"job_status"`
	LockedBy    string        `json:"locked_by"`
	Token       int64         `json:"token"`
	LockedAt    time.Time     `json:"locked_at"`
	ExpiresAt   time.Time     `json:"expires_at"`
}

// locksReport is what locks shows.
type locksReport struct {
	At      time.Time `json:"at"`
	Held    int       `json:"held"`
	Expired int       `json:"expired"`
	Locks   []lockRow `json:"locks"`
}

// locksSQL lists unreleased locks (job_locks_expires_idx covers them) with
// their cluster and job, oldest grant first, and counts all of them by
// state before the limit. $1 limit.
const locksSQL = `
WITH now AS (SELECT statement_timestamp() AS at)
SELECT now.at,
       count(*) FILTER (WHERE l.expires_at > now.at) OVER (),
       count(*) FILTER (WHERE l.expires_at <= now.at) OVER (),
       l.cluster_id, c.name, l.job_id, j.job_type, j.status, l.locked_by, l.token, l.locked_at, l.expires_at
FROM now, job_locks l
JOIN clusters c ON c.id = l.cluster_id
JOIN jobs j ON j.id = l.job_id
WHERE l.released_at IS NULL
ORDER BY l.locked_at, l.cluster_id
LIMIT $1`

// readLocks reads up to limit unreleased locks, and the database's now.
func readLocks(ctx context.Context, pool *pgxpool.Pool, limit int) (*locksReport, error) {
	r := &locksReport{Locks: []lockRow{}}
	// The list's own rows carry the time they were compared with; this
	// read gives an empty list one too.
	if err := pool.QueryRow(ctx, "SELECT statement_timestamp()").Scan(&r.At); err != nil {
		return nil, fmt.Errorf("read the database's time: %w", err)
	}
	rows, err := pool.Query(ctx, locksSQL, limit)
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	var l lockRow
	_, err = pgx.ForEachRow(rows, []any{&r.At, &r.Held, &r.Expired, &l.ClusterID, &l.ClusterName, &l.JobID,
		&l.JobType, &l.JobStatus, &l.LockedBy, &l.Token, &l.LockedAt, &l.ExpiresAt}, func() error {
		l.State = "held"
		if !l.ExpiresAt.After(r.At) {
			l.State = "expired"
		}
		r.Locks = append(r.Locks, l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	return r, nil
}

// locksTable writes the locks and their counts.
func locksTable(s *session, r *locksReport) error {
	if len(r.Locks) == 0 {
		_, err := fmt.Fprintln(s.stdout, "no cluster locks held")
		return err
	}
	var rows [][]string
	for _, l := range r.Locks {
		expires := "in " + age(l.ExpiresAt.Sub(r.At))
		if l.State == "expired" {
			expires = age(r.At.Sub(l.ExpiresAt)) + " ago"
		}
		rows = append(rows, []string{l.State, l.ClusterID, l.ClusterName, l.JobID, string(l.JobType), l.JobStatus,
			l.LockedBy, fmt.Sprint(l.Token), age(r.At.Sub(l.LockedAt)), expires})
	}
	err := table(s.stdout, []string{"STATE", "CLUSTER", "NAME", "JOB", "TYPE", "JOB STATUS", "HOLDER", "TOKEN", "AGE", "EXPIRES"}, rows)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.stdout, "\n%d held, %d expired but not released", r.Held, r.Expired)
	if shown := len(r.Locks); shown < r.Held+r.Expired {
		fmt.Fprintf(s.stdout, " (%d shown; raise -limit for more)", shown)
	}
	_, err = fmt.Fprintln(s.stdout)
	return err
}
