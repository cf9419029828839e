package postgres_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// The pgbench scripts of scripts/pgbench are the database's ceiling for
// the store's worker operations (bench/, -mode ceiling): they must
// send the statements the store sends, in the same order and transaction
// structure. These tests record what the store sends on a real database
// and compare it, statement by statement, with the scripts, so that a
// change to the store's SQL fails here until the scripts follow.

// sqlRecorder is a pgx tracer recording every statement sent while on.
type sqlRecorder struct {
	mu   sync.Mutex
	on   bool
	sent []sentSQL
}

// sentSQL is one statement as pgx sent it.
type sentSQL struct {
	sql  string
	args []any
}

func (r *sqlRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		r.sent = append(r.sent, sentSQL{sql: d.SQL, args: d.Args})
	}
	return ctx
}

func (r *sqlRecorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// record runs fn and returns the statements it sent.
func (r *sqlRecorder) record(t *testing.T, fn func() error) []sentSQL {
	t.Helper()
	r.mu.Lock()
	r.on, r.sent = true, nil
	r.mu.Unlock()
	err := fn()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	if err != nil {
		t.Fatal(err)
	}
	return r.sent
}

// tracedStore returns a Store on a fresh database whose statements tracer
// sees.
func tracedStore(t *testing.T, tracer pgx.QueryTracer) (*store.Store, *postgrestest.DB) {
	t.Helper()
	db := postgrestest.New(t)
	cfg, err := postgres.DefaultConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.PoolConfig.MaxConns = postgrestest.PoolMaxConns
	cfg.Tracer = tracer
	pool, err := postgres.NewPool(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return postgres.New(pool), db
}

// scriptStatements reads a pgbench script and returns its SQL statements
// in order, whitespace collapsed, without comments, meta-commands or the
// \aset that ends some of them.
func scriptStatements(t *testing.T, name string) []string {
	t.Helper()
	raw, err := os.ReadFile("../../scripts/pgbench/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var cur []string
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "", strings.HasPrefix(line, "--"):
			continue
		case strings.HasPrefix(line, `\`) && len(cur) == 0:
			continue // a meta-command: \set, \if, \else, \endif
		}
		end := false
		if s, ok := strings.CutSuffix(line, `\aset`); ok {
			line, end = s, true
		}
		if s, ok := strings.CutSuffix(line, ";"); ok {
			line, end = s, true
		}
		cur = append(cur, line)
		if end {
			out = append(out, collapse(strings.Join(cur, " ")))
			cur = nil
		}
	}
	if len(cur) > 0 {
		t.Fatalf("%s: unterminated statement %q", name, strings.Join(cur, " "))
	}
	return out
}

var spaces = regexp.MustCompile(`\s+`)

// collapse makes whitespace runs single spaces, and drops the spaces just
// inside parentheses, so that a script may break and indent long lines.
func collapse(s string) string {
	s = spaces.ReplaceAllString(strings.TrimSpace(s), " ")
	return strings.ReplaceAll(strings.ReplaceAll(s, "( ", "("), " )", ")")
}

var placeholder = regexp.MustCompile(`\$(\d+)`)

// scriptForm is the statement the store sent as the pgbench script writes
// it: each $n replaced by vars[n-1] (a pgbench variable, or NULL where the
// store sends NULL, which the test checks), then the aliases applied.
func scriptForm(t *testing.T, st sentSQL, vars []string, aliases map[string]string) string {
	t.Helper()
	if len(vars) != len(st.args) {
		t.Fatalf("statement has %d arguments, the test maps %d: %s", len(st.args), len(vars), st.sql)
	}
	for i, v := range vars {
		if (v == "NULL") != isNull(st.args[i]) {
			t.Fatalf("argument $%d is %v, the script passes %s: %s", i+1, st.args[i], v, st.sql)
		}
	}
	s := placeholder.ReplaceAllStringFunc(st.sql, func(m string) string {
		n, _ := strconv.Atoi(m[1:])
		return vars[n-1]
	})
	for from, to := range aliases {
		s = strings.Replace(s, from, to, 1)
	}
	return collapse(s)
}

// isNull reports whether pgx sends a as SQL NULL: nil, or a nil pointer,
// map or slice.
func isNull(a any) bool {
	if a == nil {
		return true
	}
	switch v := reflect.ValueOf(a); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// expected is one statement of a script: its variables, in the store's
// argument order, and the aliases the script adds.
type expected struct {
	what    string
	vars    []string
	aliases map[string]string
}

// Transaction control, which pgx sends without arguments.
var (
	beginTx  = expected{what: "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE"}
	commitTx = expected{what: "COMMIT"}
)

// compareScript checks that sent is script's statements want, in order.
func compareScript(t *testing.T, script string, sent []sentSQL, stmts []string, want []expected) {
	t.Helper()
	if len(sent) != len(want) {
		var got []string
		for _, s := range sent {
			got = append(got, s.sql)
		}
		t.Fatalf("%s: the store sent %d statements, the test expects %d:\n%s", script, len(sent), len(want),
			strings.Join(got, "\n"))
	}
	if len(stmts) < len(want) {
		t.Fatalf("%s has %d statements, want at least %d", script, len(stmts), len(want))
	}
	for i, w := range want {
		got := scriptForm(t, sent[i], w.vars, w.aliases)
		if w.vars == nil && strings.EqualFold(got, w.what) && strings.EqualFold(stmts[i], w.what) {
			continue
		}
		if got != stmts[i] {
			t.Errorf("%s statement %d (%s) differs from the store's:\nstore:  %s\nscript: %s", script, i+1, w.what, got, stmts[i])
		}
	}
}

// scriptsCluster creates a READY cluster with one pending day-2 job.
func scriptsCluster(t *testing.T, s *store.Store) (*store.Cluster, *store.Job) {
	t.Helper()
	ctx := t.Context()
	c := &store.Cluster{Name: "pgbench", Platform: store.PlatformAWS, Version: "4.16", Profile: "p", Region: "r",
		Owner: "o@example.com", Team: "t", CostCenter: "cc", Status: store.ClusterReady, RequestedBy: "o", TTLHours: 1}
	if err := s.Clusters.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	j := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
	if err := s.Jobs.Create(ctx, j); err != nil {
		t.Fatal(err)
	}
	return c, j
}

func TestPgbenchAcquireReleaseScript(t *testing.T) {
	t.Parallel()
	rec := &sqlRecorder{}
	s, _ := tracedStore(t, rec)
	c, j := scriptsCluster(t, s)
	ctx := t.Context()
	stmts := scriptStatements(t, "acquire_release.sql")
	acquire := expected{what: "Acquire", vars: []string{":client_id", "NULL", ":ttl", ":cid", ":cid"}}

	sent := rec.record(t, func() error {
		l, err := s.JobLocks.Acquire(ctx, c.ID, j.ID, "0", time.Minute)
		if err != nil {
			return err
		}
		return s.JobLocks.Release(ctx, l)
	})
	compareScript(t, "acquire_release.sql", sent, stmts, []expected{acquire,
		{what: "Release", vars: []string{"NULL", ":cid", ":cid", ":token"}}})

	// Refused: the script's \else branch follows the Acquire.
	if _, err := s.JobLocks.Acquire(ctx, c.ID, j.ID, "other", time.Minute); err != nil {
		t.Fatal(err)
	}
	sent = rec.record(t, func() error {
		_, err := s.JobLocks.Acquire(ctx, c.ID, j.ID, "0", time.Minute)
		if !errors.Is(err, store.ErrLockHeld) {
			return err
		}
		return nil
	})
	compareScript(t, "acquire_release.sql", sent, []string{stmts[0], stmts[2]}, []expected{acquire,
		{what: "Acquire's existence check", vars: []string{":cid", ":cid"}}})
}

func TestPgbenchClaimFinishScript(t *testing.T) {
	t.Parallel()
	rec := &sqlRecorder{}
	s, _ := tracedStore(t, rec)
	scriptsCluster(t, s)
	ctx := t.Context()
	stmts := scriptStatements(t, "claim_finish.sql")
	lockRunnable := expected{what: "LockRunnable", vars: []string{"NULL", ":types", ":limit"},
		aliases: map[string]string{"SELECT j.id,": "SELECT j.id AS job_id,"}}
	logEvents := func(id, action, md string) expected {
		return expected{what: "the audit events", vars: []string{"NULL", "ARRAY[" + id + "]", "ARRAY[:client_id]",
			"ARRAY[" + action + "]", "ARRAY[:cluster_id]", "ARRAY[:job_id]", "ARRAY[NULL]", "ARRAY[:ok]",
			"ARRAY[" + md + "]", "ARRAY[NULL]", "ARRAY[NULL]"}}
	}

	sent := rec.record(t, func() error {
		c, err := s.Claim(ctx, store.ClaimParams{WorkerID: "0", LockTTL: time.Minute})
		if err != nil {
			return err
		}
		_, err = s.Finish(ctx, c.Lock, store.Succeeded(map[string]string{"bench": "1"}))
		return err
	})
	compareScript(t, "claim_finish.sql", sent, stmts, []expected{
		beginTx,
		lockRunnable,
		{what: "the batch start", vars: []string{"ARRAY[:job_id]", "ARRAY[:cluster_id]", "ARRAY['READY']", ":client_id",
			"NULL", ":ttl"}},
		logEvents(":start_id", ":act_start", ":md_start"),
		commitTx,
		beginTx,
		{what: "the jobs", vars: []string{"ARRAY[:job_id]"}},
		{what: "the clusters", vars: []string{"ARRAY[:cluster_id]"}},
		{what: "the batch end", vars: []string{"ARRAY[:cluster_id]", "ARRAY[:job_id]", "ARRAY[:token]",
			"ARRAY['SUCCEEDED']", "ARRAY['']", "ARRAY['']", "ARRAY['0']", "ARRAY[:md_job]", "ARRAY['READY']", "NULL"}},
		logEvents(":done_id", ":act_done", ":md_done"),
		commitTx,
	})

	// Nothing runnable: the script's \else branch commits after the query.
	sent = rec.record(t, func() error {
		if _, err := s.Claim(ctx, store.ClaimParams{WorkerID: "0", LockTTL: time.Minute}); !errors.Is(err, store.ErrNoJob) {
			return errors.Join(errors.New("claim on an empty queue"), err)
		}
		return nil
	})
	compareScript(t, "claim_finish.sql", sent, []string{stmts[0], stmts[1], stmts[len(stmts)-1]},
		[]expected{beginTx, lockRunnable, commitTx})
}
