package postgres_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// The benchmarks of this package compare each hot operation of the Store
// (sub-benchmark "store") with the same work written by hand with pgx
// (sub-benchmark "raw"): the identical SQL text with arguments of the same
// types, on the same pool, scanning into the same domain types. Before
// timing anything, benchEnv.sameSQL runs both once on a traced pool and
// fails the benchmark if their statements differ, so the baseline cannot
// drift from what the store sends. Compare the two with benchstat, e.g.
//
//	go test -run '^$' -bench . -benchmem -count 6 ./store/postgres/ | tee /tmp/bench.txt
//	grep -v /raw /tmp/bench.txt | sed 's,/store,,' > /tmp/store.txt
//	grep -v /store /tmp/bench.txt | sed 's,/raw,,' > /tmp/raw.txt
//	benchstat /tmp/raw.txt /tmp/store.txt

// benchEnv is one benchmark's database: a pool, a Store on it, and a traced
// pool for checking SQL.
type benchEnv struct {
	ctx   context.Context
	db    *postgrestest.DB
	pool  *pgxpool.Pool
	store *store.Store
	rec   *recorder
	trace *pgxpool.Pool // a pool whose statements rec records
}

// newBenchEnv returns a fresh database for b (skipping b without a server).
func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	db := postgrestest.New(b)
	pool := db.Pool(b)
	rec := &recorder{}
	cfg, err := postgres.DefaultConfig(db.URL)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Tracer = rec
	cfg.PoolConfig.MaxConns = 2
	trace, err := postgres.NewPool(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(trace.Close)
	return &benchEnv{ctx: b.Context(), db: db, pool: pool, store: postgres.New(pool), rec: rec, trace: trace}
}

// statement is one statement a pool sent.
type statement struct {
	sql  string
	args []any
}

// recorder is a pgx.QueryTracer that records every statement.
type recorder struct {
	mu    sync.Mutex
	stmts []statement
}

// TraceQueryStart records the statement.
func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stmts = append(r.stmts, statement{sql: d.SQL, args: d.Args})
	return ctx
}

// TraceQueryEnd does nothing.
func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// record runs fn and returns the statements it sent through the traced pool.
func (e *benchEnv) record(b *testing.B, what string, fn func() error) []statement {
	b.Helper()
	e.rec.mu.Lock()
	e.rec.stmts = nil
	e.rec.mu.Unlock()
	if err := fn(); err != nil {
		b.Fatalf("%s: %v", what, err)
	}
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	return slices.Clone(e.rec.stmts)
}

// sql returns the statements storeOp sends: the benchmarks' raw baselines
// copy the SQL of operations whose statement is built per call from here.
func (e *benchEnv) sql(b *testing.B, storeOp func(s *store.Store) error) []string {
	b.Helper()
	stmts := e.record(b, "store", func() error { return storeOp(postgres.New(e.trace)) })
	out := make([]string, len(stmts))
	for i, st := range stmts {
		out[i] = st.sql
	}
	return out
}

// sameSQL runs storeOp and rawOp once each on the traced pool and fails b
// unless they sent the same statements, with arguments of the same types.
func (e *benchEnv) sameSQL(b *testing.B, storeOp func(s *store.Store) error, rawOp func(p *pgxpool.Pool) error) {
	b.Helper()
	got := e.record(b, "store", func() error { return storeOp(postgres.New(e.trace)) })
	want := e.record(b, "raw", func() error { return rawOp(e.trace) })
	if len(got) != len(want) {
		b.Fatalf("store sent %d statements, raw %d:\nstore: %s\nraw:   %s", len(got), len(want), sqls(got), sqls(want))
	}
	for i := range got {
		if got[i].sql != want[i].sql {
			b.Fatalf("statement %d differs:\nstore: %s\nraw:   %s", i, got[i].sql, want[i].sql)
		}
		if g, w := argTypes(got[i].args), argTypes(want[i].args); !slices.Equal(g, w) {
			b.Fatalf("statement %d (%s): argument types differ:\nstore: %v\nraw:   %v", i, got[i].sql, g, w)
		}
	}
}

func sqls(stmts []statement) []string {
	out := make([]string, len(stmts))
	for i, s := range stmts {
		out[i] = s.sql
	}
	return out
}

func argTypes(args []any) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = "nil"
		if a != nil {
			out[i] = reflect.TypeOf(a).String()
		}
	}
	return out
}

// readCommitted is the transaction mode the Store asks for.
var readCommitted = pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite}

// benchEpoch is where the rows COPY inserts start their created_at.
var benchEpoch = time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC)

// clusterCopyColumns are the columns copyClusters fills.
var clusterCopyColumns = []string{"id", "name", "platform", "cluster_type", "version", "profile", "region",
	"base_domain", "owner", "team", "cost_center", "status", "requested_by", "ttl_hours", "created_at",
	"updated_at", "request_tags", "offhours_opt_in", "preserve_on_failure"}

// benchStatuses are the statuses copyClusters cycles through by default.
var benchStatuses = []store.ClusterStatus{store.ClusterReady, store.ClusterPending, store.ClusterHibernated,
	store.ClusterFailed}

// copyClusters inserts n clusters with COPY, created one microsecond apart
// (so their order is their index), in teams team-0 … team-9 and in status
// status(i), and returns their IDs in order.
func (e *benchEnv) copyClusters(b *testing.B, n int, status func(i int) store.ClusterStatus) []string {
	b.Helper()
	ids := make([]string, n)
	rows := make([][]any, n)
	tag := uniqueTag()
	for i := range n {
		ids[i] = store.NewID(store.PrefixCluster)
		at := benchEpoch.Add(time.Duration(i) * time.Microsecond)
		rows[i] = []any{ids[i], fmt.Sprintf("bench-%s-%d", tag, i), "aws", "openshift", "4.18.1", "aws-standard",
			"us-east-1", "example.com", "owner@example.com", fmt.Sprintf("team-%d", i%10), "cc-100",
			string(status(i)), "requester@example.com", 24, at, at, map[string]string{"env": "bench"}, false, false}
	}
	if _, err := e.pool.CopyFrom(e.ctx, pgx.Identifier{"clusters"}, clusterCopyColumns, pgx.CopyFromRows(rows)); err != nil {
		b.Fatalf("copy clusters: %v", err)
	}
	return ids
}

// copyJobs inserts one PENDING job of type jt per cluster with COPY, in
// cluster order, perCluster rounds, and returns their IDs in creation order.
func (e *benchEnv) copyJobs(b *testing.B, clusterIDs []string, perCluster int, jt store.JobType) []string {
	b.Helper()
	var ids []string
	var rows [][]any
	at := time.Now().UTC()
	for range perCluster {
		for _, c := range clusterIDs {
			id := store.NewID(store.PrefixJob)
			ids = append(ids, id)
			at = at.Add(time.Microsecond)
			rows = append(rows, []any{id, c, string(jt), string(store.JobPending), 0, 3, at, at})
		}
	}
	cols := []string{"id", "cluster_id", "job_type", "status", "attempt", "max_attempts", "created_at", "updated_at"}
	if _, err := e.pool.CopyFrom(e.ctx, pgx.Identifier{"jobs"}, cols, pgx.CopyFromRows(rows)); err != nil {
		b.Fatalf("copy jobs: %v", err)
	}
	return ids
}

// vacuum runs VACUUM ANALYZE, so each timed run starts from tables without
// the dead rows earlier runs left (the test server has autovacuum off) and
// with fresh planner statistics.
func (e *benchEnv) vacuum(b *testing.B) {
	b.Helper()
	if _, err := e.pool.Exec(e.ctx, "VACUUM ANALYZE"); err != nil {
		b.Fatalf("vacuum: %v", err)
	}
}

var tagSeq struct {
	sync.Mutex
	n int
}

// uniqueTag makes the names of one copyClusters call unique.
func uniqueTag() string {
	tagSeq.Lock()
	defer tagSeq.Unlock()
	tagSeq.n++
	return fmt.Sprintf("%d-%d", time.Now().UnixNano(), tagSeq.n)
}

// Hand-written scanning, as a program using pgx directly would write it.

// clusterScan receives a clusters row in clusterColumns order.
type clusterScan struct {
	c          store.Cluster
	start, end pgtype.Time
	days       *int16
}

func (r *clusterScan) dests() []any {
	c := &r.c
	return []any{&c.ID, &c.Name, &c.Platform, &c.ClusterType, &c.Version, &c.Profile, &c.Region,
		&c.BaseDomain, &c.Owner, &c.OwnerID, &c.Team, &c.CostCenter, &c.Status, &c.RequestedBy, &c.TTLHours,
		&c.DestroyAt, &c.CreatedAt, &c.UpdatedAt, &c.DestroyedAt, &c.RequestTags, &c.EffectiveTags,
		&c.SSHPublicKey, &c.OffhoursOptIn, &c.WorkHoursEnabled, &r.start, &r.end,
		&r.days, &c.PreserveOnFailure, &c.CredentialsMode}
}

func (r *clusterScan) cluster() *store.Cluster {
	c := &r.c
	c.DestroyAt, c.DestroyedAt = utc(c.DestroyAt), utc(c.DestroyedAt)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if r.start.Valid {
		c.WorkHoursStart = new(store.TimeOfDay(time.Duration(r.start.Microseconds) * time.Microsecond))
	}
	if r.end.Valid {
		c.WorkHoursEnd = new(store.TimeOfDay(time.Duration(r.end.Microseconds) * time.Microsecond))
	}
	if r.days != nil {
		c.WorkDays = new(store.WorkDays(*r.days))
	}
	return c
}

func jobDests(j *store.Job) []any {
	return []any{&j.ID, &j.ClusterID, &j.JobType, &j.Status, &j.Attempt, &j.MaxAttempts, &j.ErrorCode,
		&j.ErrorMessage, &j.RetryAt, &j.StartedAt, &j.EndedAt, &j.CreatedAt, &j.UpdatedAt, &j.Metadata}
}

func fixJob(j *store.Job) {
	j.RetryAt, j.StartedAt, j.EndedAt = utc(j.RetryAt), utc(j.StartedAt), utc(j.EndedAt)
	j.CreatedAt, j.UpdatedAt = j.CreatedAt.UTC(), j.UpdatedAt.UTC()
}

func lockDests(l *store.JobLock) []any {
	return []any{&l.ClusterID, &l.JobID, &l.LockedBy, &l.Token, &l.LockedAt, &l.ExpiresAt}
}

func fixLock(l *store.JobLock) { l.LockedAt, l.ExpiresAt = l.LockedAt.UTC(), l.ExpiresAt.UTC() }

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return new(t.UTC())
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// compare runs an operation's sub-benchmarks against a baseline: "store"
// runs storeOp and "raw" runs rawOp (see comparePaired).
func compare(b *testing.B, setup func(b *testing.B, n int), storeOp, rawOp func(i int) error) {
	b.Helper()
	comparePaired(b, setup, "store", storeOp, "raw", rawOp)
}

// comparePaired runs two sub-benchmarks, named and run as name and base,
// each reporting, next to the wall time and allocations, the client's CPU
// time per operation (cpu-ns/op: what the Go side costs, which waiting for
// the server does not blur); then "paired" runs both in one loop,
// alternating which goes first, and reports the ratio of the two
// (name/baseName) from the medians of the two halves' times (name-p50-ns,
// baseName-p50-ns). Both halves of a pair see the same load, and a median
// ignores the stalls (a checkpoint, another process) a few operations hit,
// so on a shared, noisy machine that ratio is the steadier figure. setup,
// when not nil, prepares the data of n operations (of each kind) before the
// timer starts; an op's argument is the operation's number.
func comparePaired(b *testing.B, setup func(b *testing.B, n int), name string, op func(i int) error,
	baseName string, base func(i int) error) {
	b.Helper()
	single := func(op func(int) error) func(*testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			if setup != nil {
				setup(b, b.N)
			}
			b.ResetTimer()
			start := cpuTime()
			for i := range b.N {
				if err := op(i); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}
	b.Run(name, single(op))
	b.Run(baseName, single(base))
	b.Run("paired", func(b *testing.B) {
		if setup != nil {
			setup(b, 2*b.N)
		}
		b.ResetTimer()
		inOp, inBase := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
		for i := range b.N {
			first, second, dFirst, dSecond := op, base, &inOp, &inBase
			if i%2 == 1 {
				first, second, dFirst, dSecond = base, op, &inBase, &inOp
			}
			t0 := time.Now()
			if err := first(i); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := second(i); err != nil {
				b.Fatal(err)
			}
			*dFirst = append(*dFirst, t1.Sub(t0))
			*dSecond = append(*dSecond, time.Since(t1))
		}
		mo, mb := median(inOp), median(inBase)
		b.ReportMetric(float64(mo), name+"-p50-ns")
		b.ReportMetric(float64(mb), baseName+"-p50-ns")
		b.ReportMetric(float64(mo)/float64(mb), name+"/"+baseName)
	})
}

// median returns the median of ds (which it sorts).
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	if n := len(ds); n%2 == 0 {
		return (ds[n/2-1] + ds[n/2]) / 2
	}
	return ds[len(ds)/2]
}
