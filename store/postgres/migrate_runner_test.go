package postgres_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// ternVersionTableSQL is what tern v2.3.4 (migrate.go,
// ensureSchemaVersionTableExists), which applied ocpstore's migrations
// before ocpstore had its own runner, ran to create the version table.
const ternVersionTableSQL = `
    create table if not exists ocpstore_schema_version(version int4 not null);

    insert into ocpstore_schema_version(version)
    select 0
    where 0=(select count(*) from ocpstore_schema_version);`

func mustExec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", strings.TrimSpace(sql), err)
	}
}

// versionTableLayout describes VersionTable's columns, constraints and
// indexes.
func versionTableLayout(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var layout string
	err := pool.QueryRow(t.Context(), `
		SELECT (SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' notnull=' || attnotnull, ', ' ORDER BY attnum)
		          FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped)
		    || '; constraints ' || (SELECT count(*) FROM pg_constraint WHERE conrelid = $1::regclass)
		    || '; indexes ' || (SELECT count(*) FROM pg_index WHERE indrelid = $1::regclass)
		    || '; rows ' || (SELECT count(*) FROM `+postgres.VersionTable+`)`,
		postgres.VersionTable).Scan(&layout)
	if err != nil {
		t.Fatalf("read %s's layout: %v", postgres.VersionTable, err)
	}
	return layout
}

// TestVersionTableLayoutMatchesTern: the version table Migrate creates is
// the one tern created, so either can read what the other wrote.
func TestVersionTableLayoutMatchesTern(t *testing.T) {
	t.Parallel()
	ours := postgrestest.NewEmpty(t).Pool(t)
	if err := postgres.Migrate(t.Context(), ours); err != nil {
		t.Fatal(err)
	}
	terns := postgrestest.NewEmpty(t).Pool(t)
	mustExec(t, terns, ternVersionTableSQL)
	got, want := versionTableLayout(t, ours), versionTableLayout(t, terns)
	if got != want {
		t.Errorf("Migrate's %s: %s; tern's: %s", postgres.VersionTable, got, want)
	}
	if want != "version integer notnull=true; constraints 0; indexes 0; rows 1" {
		t.Errorf("tern's layout is %s", want) // the fixture itself
	}
}

// TestMigrateContinuesTernMigratedDatabase starts from a database as a
// release that applied migration 1 with tern left it, and checks that
// Migrate applies exactly the later migrations.
func TestMigrateContinuesTernMigratedDatabase(t *testing.T) {
	t.Parallel()
	pool := postgrestest.NewEmpty(t).Pool(t)
	mustExec(t, pool, ternVersionTableSQL)
	mustExec(t, pool, postgres.Migrations()[0].SQL())
	mustExec(t, pool, "update "+postgres.VersionTable+" set version=$1", 1)

	var applied []int
	err := postgres.Migrate(t.Context(), pool, postgres.OnApplied(func(m postgres.Migration, _ time.Duration) {
		applied = append(applied, m.Version)
	}))
	if err != nil {
		t.Fatalf("Migrate on a database tern migrated to version 1: %v", err)
	}
	var want []int
	for v := 2; v <= postgres.SchemaVersion(); v++ {
		want = append(want, v)
	}
	if !slices.Equal(applied, want) {
		t.Errorf("applied versions %v, want %v", applied, want)
	}
	if got, fresh := readSchemaState(t, pool), readSchemaState(t, postgrestest.New(t).Pool(t)); got != fresh {
		t.Errorf("after Migrate %+v, a freshly migrated database %+v", got, fresh)
	}
}

func TestMigrateReportsEachMigration(t *testing.T) {
	t.Parallel()
	pool := postgrestest.NewEmpty(t).Pool(t)
	var applied []string
	err := postgres.Migrate(t.Context(), pool, postgres.OnApplied(func(m postgres.Migration, took time.Duration) {
		if took <= 0 {
			t.Errorf("%s took %v", m.Name, took)
		}
		applied = append(applied, m.Name)
	}))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range postgres.Migrations() {
		want = append(want, m.Name)
	}
	if !slices.Equal(applied, want) {
		t.Errorf("OnApplied saw %v, want %v", applied, want)
	}
	applied = nil
	if err := postgres.Migrate(t.Context(), pool, postgres.OnApplied(func(m postgres.Migration, _ time.Duration) {
		applied = append(applied, m.Name)
	})); err != nil || applied != nil {
		t.Errorf("second Migrate: %v, applied %v; want nil, nothing", err, applied)
	}
}

func TestMigrateRefusesNewerDatabase(t *testing.T) {
	t.Parallel()
	pool := postgrestest.New(t).Pool(t)
	newer := postgres.SchemaVersion() + 1
	mustExec(t, pool, "UPDATE "+postgres.VersionTable+" SET version = $1", newer)
	before := readSchemaState(t, pool)

	if err := postgres.Migrate(t.Context(), pool); !errors.Is(err, postgres.ErrSchemaTooNew) {
		t.Errorf("Migrate on a newer database = %v, want ErrSchemaTooNew", err)
	}
	if after := readSchemaState(t, pool); after != before {
		t.Errorf("Migrate changed a newer database: %+v, then %+v", before, after)
	}
	if err := postgres.CheckSchema(t.Context(), pool); !errors.Is(err, postgres.ErrSchemaTooNew) {
		t.Errorf("CheckSchema on a newer database = %v, want ErrSchemaTooNew", err)
	}
	st, err := postgres.MigrationStatus(t.Context(), pool)
	if err != nil || st.Applied != newer || st.Latest != postgres.SchemaVersion() || len(st.Pending) != 0 {
		t.Errorf("MigrationStatus = %+v, %v; want applied %d, latest %d, nothing pending", st, err, newer, postgres.SchemaVersion())
	}
}

// TestMigrateFailingMigrationRollsBack: each migration is its own
// transaction with its version, so a failure keeps the migrations before it
// and nothing of itself, and a corrected file is applied on the next run.
func TestMigrateFailingMigrationRollsBack(t *testing.T) {
	t.Parallel()
	pool := postgrestest.NewEmpty(t).Pool(t)
	files := fstest.MapFS{
		"0001_a.sql": {Data: []byte("CREATE TABLE a (x int);")},
		"0002_b.sql": {Data: []byte("CREATE TABLE b (x int);\nSELECT 1/0;")},
		"0003_c.sql": {Data: []byte("CREATE TABLE c (x int);")},
	}
	err := postgres.MigrateFS(t.Context(), pool, files)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "22012" || !strings.Contains(err.Error(), "0002_b.sql") {
		t.Fatalf("Migrate with a failing 0002 = %v, want division_by_zero naming 0002_b.sql", err)
	}
	tables := func() (a, b, c bool) {
		err := pool.QueryRow(t.Context(),
			"SELECT to_regclass('a') IS NOT NULL, to_regclass('b') IS NOT NULL, to_regclass('c') IS NOT NULL").Scan(&a, &b, &c)
		if err != nil {
			t.Fatal(err)
		}
		return a, b, c
	}
	if a, b, c := tables(); !a || b || c {
		t.Errorf("after the failure: tables a %v, b %v, c %v; want only a", a, b, c)
	}
	if s := readSchemaState(t, pool); s.version != 1 || s.versionRows != 1 {
		t.Errorf("after the failure: version %d in %d rows, want 1 in 1", s.version, s.versionRows)
	}

	files["0002_b.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE b (x int);")}
	if err := postgres.MigrateFS(t.Context(), pool, files); err != nil {
		t.Fatalf("Migrate with 0002 corrected: %v", err)
	}
	if a, b, c := tables(); !a || !b || !c {
		t.Errorf("after the corrected run: tables a %v, b %v, c %v; want all", a, b, c)
	}
	if s := readSchemaState(t, pool); s.version != 3 {
		t.Errorf("after the corrected run: version %d, want 3", s.version)
	}
}

// TestMigrationStatementsRunUnderLockTimeout: a migration whose table lock
// is held by someone else fails with lock_not_available after the pool's
// lock_timeout instead of queueing every later query on that table.
func TestMigrationStatementsRunUnderLockTimeout(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewEmpty(t)
	holder := db.Pool(t)
	mustExec(t, holder, "CREATE TABLE busy (x int)")
	tx, err := holder.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(t.Context())
	if _, err := tx.Exec(t.Context(), "LOCK TABLE busy IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}

	migrator := shortLockTimeoutPool(t, db.URL)
	err = postgres.MigrateFS(t.Context(), migrator, fstest.MapFS{
		"0001_alter.sql": {Data: []byte("ALTER TABLE busy ADD COLUMN y int;")},
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "55P03" {
		t.Fatalf("Migrate on a locked table = %v, want lock_not_available (55P03)", err)
	}
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s := readSchemaState(t, holder); s.version != 0 {
		t.Errorf("version %d after the failed migration, want 0", s.version)
	}
}

// shortLockTimeoutPool opens a pool on url whose lock_timeout is 1ms.
func shortLockTimeoutPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	cfg, err := postgres.DefaultConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.PoolConfig.MinConns, cfg.PoolConfig.MaxConns = 0, 2
	cfg.LockTimeout = time.Millisecond
	pool, err := postgres.NewPool(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}
