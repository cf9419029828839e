package main

import (
	"errors"
	"flag"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// pgbench15Report is the tail of a PostgreSQL 15 pgbench run.
const pgbench15Report = `pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: scripts/pgbench/claim_finish.sql
scaling factor: 1
query mode: prepared
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 10 s
number of transactions actually processed: 4231
number of failed transactions: 0 (0.000%)
latency average = 18.905 ms
initial connection time = 22.016 ms
tps = 423.175329 (without initial connection time)
`

func TestParsePgbench(t *testing.T) {
	t.Parallel()
	r, err := parsePgbench(pgbench15Report)
	if err != nil {
		t.Fatal(err)
	}
	if r.Txns != 4231 || r.Failed != 0 || r.TPS < 423.17 || r.TPS > 423.18 {
		t.Errorf("parsePgbench = %+v", r)
	}
	if e := r.Elapsed(); e < 9990*time.Millisecond || e > 10010*time.Millisecond {
		t.Errorf("Elapsed = %v, want about 10s", e)
	}
	if _, err := parsePgbench("pgbench: error: connection refused\n"); err == nil {
		t.Error("parsePgbench of a failed run: no error")
	}
}

func TestPgbenchCommandLine(t *testing.T) {
	t.Parallel()
	r := pgbenchRun{bin: "/usr/bin/pgbench", dbURL: "postgres://u@h:5432/ocpbench_ceiling?sslmode=disable",
		script: "scripts/pgbench/acquire_release.sql", clients: 8, duration: 10 * time.Second,
		vars: map[string]string{"ttl": "1 minute", "clusters": "50000"}}
	want := "pgbench -n -M prepared -c 8 -j 2 -T 10 -f scripts/pgbench/acquire_release.sql -D clusters=50000 " +
		"-D 'ttl=1 minute' 'postgres://u@h:5432/ocpbench_ceiling?sslmode=disable'"
	if got := r.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags([]string{"-mode", "drain", "-batches", "1, 50", "-contention", "hot"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.mode != "drain" || len(o.batches) != 2 || o.batches[1] != 50 || len(o.contention) != 1 || !o.contention[0] {
		t.Errorf("parseFlags = %+v", o)
	}
	for _, bad := range [][]string{{"-mode", "fast"}, {"-batches", "0"}, {"-workloads", "claim,x"}, {"-scale", "0"}, {"extra"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q): no error", bad)
		}
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("parseFlags(-h) = %v, want flag.ErrHelp", err)
	}
}

func TestDropRefusesOtherDatabases(t *testing.T) {
	t.Parallel()
	srv, err := newServer("postgres://nobody@127.0.0.1:1/postgres")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.drop(t.Context(), "test"); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("drop(test) = %v, want a refusal before any connection", err)
	}
}

// TestGeneratedRowsAreStoreRows generates a small dataset and reads it back
// through the store: the generator's rows must be rows the store accepts,
// and its indexes and foreign keys must come back.
func TestGeneratedRowsAreStoreRows(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	ctx := t.Context()
	pool, err := openPool(ctx, db.URL, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	d := newDataset(0.0002, time.Now())
	if err := generate(ctx, pool, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	s := postgres.New(pool)
	team, destroyed := teamOf(7), store.ClusterDestroyed
	inTeam := 0
	for k := range d.Clusters {
		if teamOf(k) == team {
			inTeam++
		}
	}
	if _, total, err := s.Clusters.List(ctx, store.ClusterFilters{Team: &team}); err != nil || total != inTeam {
		t.Errorf("Clusters.List(team) total %d, %v; want %d", total, err, inTeam)
	}
	if p, err := s.Clusters.ListAfter(ctx, store.ClusterFilters{Status: &destroyed, Sort: store.ClusterByName}, ""); err != nil || len(p.Items) != store.DefaultLimit {
		t.Errorf("Clusters.ListAfter(DESTROYED by name): %d items, %v", len(p.Items), err)
	}
	if _, total, err := s.Jobs.List(ctx, store.JobFilters{}); err != nil || total != d.Jobs() {
		t.Errorf("Jobs.List total %d, %v; want %d", total, err, d.Jobs())
	}
	if _, total, err := s.Audit.List(ctx, store.AuditFilters{}); err != nil || total != d.Audit() {
		t.Errorf("Audit.List total %d, %v; want %d", total, err, d.Audit())
	}
	if expired, err := s.Clusters.ListExpired(ctx, 10); err != nil || len(expired) != 0 {
		t.Errorf("ListExpired = %d clusters, %v; the history expires none", len(expired), err)
	}
	if _, err := s.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Minute}); !errors.Is(err, store.ErrNoJob) {
		t.Errorf("Claim on the finished history = %v, want ErrNoJob", err)
	}
	// A new grant's token exceeds every generated one.
	first := &store.Job{ClusterID: genID(store.PrefixCluster, d.Clusters-1), JobType: store.JobPostConfigure}
	if err := s.Jobs.Create(ctx, first); err != nil {
		t.Fatal(err)
	}
	if l, err := s.JobLocks.Acquire(ctx, first.ClusterID, first.ID, "w", time.Minute); err != nil || l.Token <= int64(d.Clusters) {
		t.Errorf("Acquire on a generated cluster = %+v, %v; want a token above %d", l, err, d.Clusters)
	}
	var indexes, fks int
	err = pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_indexes WHERE tablename IN ('clusters', 'jobs', 'audit_events')),
		(SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = 'jobs'::regclass)`).Scan(&indexes, &fks)
	if err != nil || indexes < 20 || fks != 1 {
		t.Errorf("after generate: %d indexes, %d foreign keys on jobs (%v)", indexes, fks, err)
	}
}

// TestDrainWorksEveryJobOnce drains a small queue one job at a time (plain
// and through a store.Coalescer) and in batches, and verifies the run as
// the drain mode does.
func TestDrainWorksEveryJobOnce(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	ctx := t.Context()
	pool, err := openPool(ctx, db.URL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const jobs = 40
	now := time.Now().UTC()
	if err := copyRows(ctx, pool, "clusters", clusterCopyColumns, jobs, func(k int, vals []any) {
		clusterRow(vals, k, genID(store.PrefixCluster, k), store.ClusterReady, now.Add(-time.Hour))
	}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	variants := []drainVariant{variantFor(1, true), variantFor(1, false), variantFor(7, true)}
	for i := range 2 * len(variants) {
		history, v := i >= len(variants), variants[i%len(variants)]
		batch := v.batch
		if v.coalesce {
			batch = 3 // at most one job per worker per batch
		}
		if err := resetQueue(ctx, pool, jobs, rng, history); err != nil {
			t.Fatal(err)
		}
		before, err := takeSnapshot(ctx, pool, storeTables, true, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := drain(ctx, db.URL, 3, jobs, v); err != nil {
			t.Fatalf("%s, history %v: %v", v.key(3), history, err)
		}
		after, err := takeSnapshot(ctx, pool, storeTables, false, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifyDrain(ctx, pool, jobs); err != nil {
			t.Errorf("%s, history %v: %v", v.key(3), history, err)
		}
		// The profile's counters saw the drain and only the drain: two
		// audit events per job (start and success), every job updated, a
		// commit per claim at least, and none of the jobs the loader
		// inserted before the first snapshot.
		audit := after.tables["audit_events"].inserts - before.tables["audit_events"].inserts
		updated := after.tables["jobs"].updates - before.tables["jobs"].updates
		loaded := after.tables["jobs"].inserts - before.tables["jobs"].inserts
		commits := after.commits - before.commits
		if audit != 2*jobs || updated < jobs || loaded != 0 || commits < int64(jobs/batch) || after.walLSN <= before.walLSN {
			t.Errorf("%s, history %v: profile counted %d audit inserts, %d job updates, %d job inserts, %d commits, WAL %d..%d; "+
				"want %d, >= %d, 0, >= %d, growing",
				v.key(3), history, audit, updated, loaded, commits, before.walLSN, after.walLSN, 2*jobs, jobs, jobs/batch)
		}
	}
}

func TestDrainResultLine(t *testing.T) {
	t.Parallel()
	// The format issue 11 asks for: scripts read these lines.
	for _, tc := range []struct {
		v    drainVariant
		rate float64
		want string
	}{
		{variantFor(1, false), 256.6, "drain batch=1 workers=8 jobs_per_sec=257"},
		{variantFor(1, true), 256.6, "drain batch=1 workers=8 coalesce=false jobs_per_sec=257"},
		{variantFor(100, false), 2007, "drain batch=100 workers=8 jobs_per_sec=2007"},
		{variantFor(100, true), 2007, "drain batch=100 workers=8 jobs_per_sec=2007"},
	} {
		if got := drainResult(tc.v, 8, tc.rate); got != tc.want {
			t.Errorf("drainResult = %q, want %q", got, tc.want)
		}
	}
	var names []string
	for _, v := range variantsFor([]int{1, 100}, "both", []int{1}) {
		names = append(names, v.key(8))
	}
	if got := strings.Join(names, "; "); got != "batch=1 workers=8; batch=1 workers=8 coalesce=false; batch=100 workers=8" {
		t.Errorf("variants of -coalesce both: %s", got)
	}
	names = nil
	for _, v := range variantsFor([]int{1}, "true", []int{1, 2}) {
		names = append(names, drainResult(v, 8, 1))
	}
	if got := strings.Join(names, "; "); got != "drain batch=1 workers=8 jobs_per_sec=1; drain batch=1 workers=8 in_flight=2 jobs_per_sec=1" {
		t.Errorf("variants of -in-flight 1,2: %s", got)
	}
}

func TestParseLSN(t *testing.T) {
	t.Parallel()
	a, err := parseLSN("16/B374D848")
	if err != nil || a != 0x16_B374D848 {
		t.Errorf("parseLSN(16/B374D848) = %x, %v", a, err)
	}
	for _, bad := range []string{"", "16", "x/1", "1/y"} {
		if _, err := parseLSN(bad); err == nil {
			t.Errorf("parseLSN(%q): no error", bad)
		}
	}
}
