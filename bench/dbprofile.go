package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The database-side profile of a drain (-profile): what the server did for
// the store's burn-down, per job, from its own counters read before and
// after the run: the statements it executed (pg_stat_statements: calls,
// time, rows, buffers, WAL), the transactions it committed, the WAL it
// wrote, and the tuples and index bytes each table gained. It is the input
// for a redesign of Claim and Finish: which statement costs what, how many
// commits and index entries a job pays for, which updates are HOT.
//
// The counters are the server's: the WAL and the tables' counters include
// what autovacuum and the checkpointer did meanwhile, and the full-page
// images that follow the checkpoint taken before every run (the same for
// every run). The harness's own queries carry profileTag and are left out
// of the statements.

// profileTag marks the harness's own queries, so that the statement
// profile leaves them out.
const profileTag = "/* ocpbench-profile */"

// storeTables are the tables the store's claim and finish write, and
// riverTables River's.
var (
	storeTables = []string{"jobs", "job_locks", "audit_events", "clusters"}
	riverTables = []string{"river_job"}
)

// dbSnapshot is what the server had counted at one moment.
type dbSnapshot struct {
	walLSN     uint64                 // pg_current_wal_lsn()
	walAt      string                 // the same, as PostgreSQL prints it
	walRecords int64                  // pg_stat_wal, the whole server
	walFPI     int64                  // full-page images among them
	commits    int64                  // pg_stat_database.xact_commit of the database
	tableNames []string               // the tables profiled, in order
	tables     map[string]tableCounts // pg_stat_user_tables, by table
	indexes    []indexSize            // the indexes of the tables, with their sizes
	statements []statementStats       // pg_stat_statements since the reset (the snapshot after a run)
}

// tableCounts are a table's cumulative tuple counters.
type tableCounts struct {
	inserts, updates, hotUpdates, deletes int64
}

// indexSize is an index of a profiled table and its size in bytes.
type indexSize struct {
	table, index string
	bytes        int64
}

// statementStats is one row of pg_stat_statements.
type statementStats struct {
	query              string
	toplevel           bool // sent by the client; false: run inside another (a foreign key check)
	calls, rows        int64
	totalMS            float64
	hit, read, dirtied int64
	walRecords, walFPI int64
	walBytes           float64
}

// enableStatements creates the pg_stat_statements extension in the
// database; it fails when the server has not preloaded the library.
func enableStatements(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := pool.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		return fmt.Errorf("pg_stat_statements: %w", err)
	}
	var n int64
	if err := pool.QueryRow(ctx, profileTag+" SELECT count(*) FROM pg_stat_statements").Scan(&n); err != nil {
		return fmt.Errorf("pg_stat_statements (is it in shared_preload_libraries?): %w", err)
	}
	return nil
}

// takeSnapshot reads the server's counters for tables. It first ends
// the pool's sessions and waits until no other session is left on the
// database, since a session flushes its counters when it ends: before a
// run, the harness's own (which laid the queue) must not count in it;
// after, the run's must. With reset (before a run) and statements it
// empties pg_stat_statements; without reset (after) it reads it.
func takeSnapshot(ctx context.Context, pool *pgxpool.Pool, tables []string, reset, statements bool) (*dbSnapshot, error) {
	pool.Reset()
	if reset && statements {
		if _, err := pool.Exec(ctx, profileTag+" SELECT pg_stat_statements_reset()"); err != nil {
			return nil, fmt.Errorf("profile: %w", err)
		}
	}
	if err := waitForSessions(ctx, pool); err != nil {
		return nil, err
	}
	s := &dbSnapshot{tableNames: tables, tables: map[string]tableCounts{}}
	err := pool.QueryRow(ctx, profileTag+` SELECT pg_current_wal_lsn()::text, w.wal_records, w.wal_fpi, d.xact_commit
		FROM pg_stat_wal w, pg_stat_database d WHERE d.datname = current_database()`).Scan(&s.walAt, &s.walRecords, &s.walFPI, &s.commits)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if s.walLSN, err = parseLSN(s.walAt); err != nil {
		return nil, err
	}
	rows, err := pool.Query(ctx, profileTag+` SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del
		FROM pg_stat_user_tables WHERE relname = ANY($1)`, tables)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	var name string
	var c tableCounts
	if _, err := pgx.ForEachRow(rows, []any{&name, &c.inserts, &c.updates, &c.hotUpdates, &c.deletes}, func() error {
		s.tables[name] = c
		return nil
	}); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	rows, err = pool.Query(ctx, profileTag+` SELECT relname, indexrelname, pg_relation_size(indexrelid)
		FROM pg_stat_user_indexes WHERE relname = ANY($1) ORDER BY relname, indexrelname`, tables)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	var ix indexSize
	if _, err := pgx.ForEachRow(rows, []any{&ix.table, &ix.index, &ix.bytes}, func() error {
		s.indexes = append(s.indexes, ix)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if reset || !statements {
		return s, nil
	}
	rows, err = pool.Query(ctx, profileTag+` SELECT query, toplevel, calls, rows, total_exec_time, shared_blks_hit, shared_blks_read,
			shared_blks_dirtied, wal_records, wal_fpi, wal_bytes::float8
		FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE $1
		ORDER BY toplevel DESC, calls DESC, total_exec_time DESC`, "%"+profileTag+"%")
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	var st statementStats
	if _, err := pgx.ForEachRow(rows, []any{&st.query, &st.toplevel, &st.calls, &st.rows, &st.totalMS, &st.hit, &st.read,
		&st.dirtied, &st.walRecords, &st.walFPI, &st.walBytes}, func() error {
		s.statements = append(s.statements, st)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return s, nil
}

// waitForSessions waits, for at most 10 s, until the only client sessions
// left on the database are the pool's own (its first query opens one).
func waitForSessions(ctx context.Context, pool *pgxpool.Pool) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var others int
		err := pool.QueryRow(ctx, profileTag+` SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND backend_type = 'client backend'`).Scan(&others)
		if err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		if others <= int(pool.Stat().TotalConns()) || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// parseLSN parses a WAL location as PostgreSQL prints it ("16/B374D848").
func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("profile: WAL location %q: %w", s, errors.Join(err1, err2))
	}
	return h<<32 | l, nil
}

// printProfile prints what the database did per job between two
// snapshots of a run that worked jobs jobs.
func printProfile(out io.Writer, label string, jobs int, before, after *dbSnapshot) {
	n := float64(jobs)
	var calls int64
	var dbMS float64
	for _, st := range after.statements {
		if st.toplevel {
			calls += st.calls
			dbMS += st.totalMS
		}
	}
	fmt.Fprintf(out, "\ndatabase-side profile: %s, %d jobs; per job:\n", label, jobs)
	fmt.Fprintf(out, "  statements sent %.2f, transactions committed %.2f, statement time %.3f ms\n",
		float64(calls)/n, float64(after.commits-before.commits)/n, dbMS/n)
	fmt.Fprintf(out, "  WAL %.0f bytes, %.2f records, %.3f full-page images (the whole server, autovacuum included;\n"+
		"  pg_waldump -s %s -e %s shows them)\n", float64(after.walLSN-before.walLSN)/n,
		float64(after.walRecords-before.walRecords)/n, float64(after.walFPI-before.walFPI)/n, before.walAt, after.walAt)
	fmt.Fprintf(out, "  %9s %8s %9s %9s %9s %9s  %s\n", "calls/job", "ms/call", "rows/call", "blks/call", "dirt/call", "WAL B/job", "statement")
	for _, st := range after.statements {
		c := float64(st.calls)
		fmt.Fprintf(out, "  %9.3f %8.3f %9.2f %9.1f %9.2f %9.0f  %s\n", c/n, st.totalMS/c, float64(st.rows)/c,
			float64(st.hit+st.read)/c, float64(st.dirtied)/c, st.walBytes/n, nested(st)+shortSQL(st.query, 100))
	}
	fmt.Fprintf(out, "  %-14s %8s %8s %8s %8s %8s %12s\n", "table", "ins/job", "upd/job", "HOT/job", "del/job", "indexes", "idx grew B/job")
	for _, t := range after.tableNames {
		b, a := before.tables[t], after.tables[t]
		var nIdx int
		var grew int64
		for _, ix := range after.indexes {
			if ix.table == t {
				nIdx++
				grew += ix.bytes - sizeOf(before.indexes, ix.index)
			}
		}
		fmt.Fprintf(out, "  %-14s %8.2f %8.2f %8.2f %8.2f %8d %12.0f\n", t, float64(a.inserts-b.inserts)/n,
			float64(a.updates-b.updates)/n, float64(a.hotUpdates-b.hotUpdates)/n, float64(a.deletes-b.deletes)/n,
			nIdx, float64(grew)/n)
	}
	grown := append([]indexSize(nil), after.indexes...)
	for i := range grown {
		grown[i].bytes -= sizeOf(before.indexes, grown[i].index)
	}
	sort.SliceStable(grown, func(i, j int) bool { return grown[i].bytes > grown[j].bytes })
	fmt.Fprintf(out, "  index growth over the run (bytes per job): ")
	for i, ix := range grown {
		if i > 0 {
			fmt.Fprint(out, ", ")
		}
		fmt.Fprintf(out, "%s %.0f", ix.index, float64(ix.bytes)/n)
	}
	fmt.Fprintln(out)
}

// nested marks a statement run inside another (a foreign key check).
func nested(st statementStats) string {
	if st.toplevel {
		return ""
	}
	return "(nested) "
}

// sizeOf is the size of index name in ixs, 0 when absent.
func sizeOf(ixs []indexSize, name string) int64 {
	for _, ix := range ixs {
		if ix.index == name {
			return ix.bytes
		}
	}
	return 0
}

// shortSQL is q on one line, cut to at most n characters.
func shortSQL(q string, n int) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > n {
		return q[:n-3] + "..."
	}
	return q
}
