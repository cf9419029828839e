package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// schemaState is what a migration run leaves behind: the recorded version,
// the rows of the version table, and the number of relations.
type schemaState struct {
	version, versionRows, relations int
}

func readSchemaState(t *testing.T, pool *pgxpool.Pool) schemaState {
	t.Helper()
	var s schemaState
	err := pool.QueryRow(t.Context(), `
		SELECT (SELECT max(version) FROM `+postgres.VersionTable+`),
		       (SELECT count(*) FROM `+postgres.VersionTable+`),
		       (SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::text::regnamespace)`,
	).Scan(&s.version, &s.versionRows, &s.relations)
	if err != nil {
		t.Fatalf("read schema state: %v", err)
	}
	return s
}

func TestSchemaVersionCountsEmbeddedMigrations(t *testing.T) {
	t.Parallel()
	if v := postgres.SchemaVersion(); v < 1 {
		t.Fatalf("SchemaVersion() = %d, want at least 1", v)
	}
}

func TestMigrateFreshDatabase(t *testing.T) {
	t.Parallel()
	pool := postgrestest.NewEmpty(t).Pool(t)
	if err := postgres.Migrate(t.Context(), pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	s := readSchemaState(t, pool)
	if s.version != postgres.SchemaVersion() || s.versionRows != 1 {
		t.Errorf("version table: version %d in %d rows, want %d in 1", s.version, s.versionRows, postgres.SchemaVersion())
	}
	for _, table := range []string{"clusters", "jobs", "job_locks", "idempotency_keys", "rbac_mappings",
		"audit_events", "cluster_outputs", "cluster_artifacts", "usage_samples"} {
		var ok bool
		if err := pool.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok); err != nil || !ok {
			t.Errorf("table %s missing after Migrate (err %v)", table, err)
		}
	}
	// Migrate returns its connection to nobody: the pool is whole again.
	if _, err := pool.Exec(t.Context(), "SELECT 1"); err != nil {
		t.Errorf("pool unusable after Migrate: %v", err)
	}
}

func TestMigrateRerunIsNoop(t *testing.T) {
	t.Parallel()
	pool := postgrestest.New(t).Pool(t) // already migrated
	before := readSchemaState(t, pool)
	for range 2 {
		if err := postgres.Migrate(t.Context(), pool); err != nil {
			t.Fatalf("Migrate on a current database: %v", err)
		}
	}
	if after := readSchemaState(t, pool); after != before {
		t.Errorf("re-running Migrate changed the schema: before %+v, after %+v", before, after)
	}
}

func TestMigrateConcurrentProcesses(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewEmpty(t)
	// Two pools stand for two processes; two migrators on each.
	pools := []*pgxpool.Pool{db.Pool(t), db.Pool(t)}
	start := make(chan struct{})
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			<-start
			errs <- postgres.Migrate(t.Context(), pools[i%2])
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Migrate: %v", err)
		}
	}
	s := readSchemaState(t, pools[0])
	if s.version != postgres.SchemaVersion() || s.versionRows != 1 {
		t.Errorf("version table: version %d in %d rows, want %d in 1", s.version, s.versionRows, postgres.SchemaVersion())
	}
	// Applied once: the same relations as a database migrated alone.
	if want := readSchemaState(t, postgrestest.New(t).Pool(t)); s != want {
		t.Errorf("after concurrent migrations %+v, want %+v", s, want)
	}
}

// TestMigrateWaitsForLockHolder holds MigrateLockKey as another migrator
// would and checks that Migrate waits for it, even with a lock_timeout far
// shorter than the wait, then proceeds once it is released.
func TestMigrateWaitsForLockHolder(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewEmpty(t)
	holder := db.Pool(t)
	cfg, err := postgres.DefaultConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.PoolConfig.MinConns, cfg.PoolConfig.MaxConns = 0, 2
	cfg.LockTimeout = 1 // rounded up to 1ms
	migrator, err := postgres.NewPool(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(migrator.Close)

	conn, err := holder.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(t.Context(), "SELECT pg_advisory_lock($1)", postgres.MigrateLockKey); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() { done <- postgres.Migrate(t.Context(), migrator) }()

	// Wait until the migrator has been blocked on the lock for longer than
	// its lock_timeout (observed on the server, not by sleeping here).
	waitForMigrateLockWaiter(t, holder, done)

	if _, err := conn.Exec(t.Context(), "SELECT pg_advisory_unlock($1)", postgres.MigrateLockKey); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Migrate after the holder released the lock: %v", err)
	}
	if s := readSchemaState(t, holder); s.version != postgres.SchemaVersion() {
		t.Errorf("version %d after Migrate, want %d", s.version, postgres.SchemaVersion())
	}
}

// waitForMigrateLockWaiter returns once a session of holder's database has
// waited for MigrateLockKey for more than 50ms, as the server sees it. It
// fails t if the waiter, which reports on done, returns first.
func waitForMigrateLockWaiter(t *testing.T, holder *pgxpool.Pool, done <-chan error) {
	t.Helper()
	for {
		var waiting bool
		err := holder.QueryRow(t.Context(), `
			SELECT EXISTS (
				SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
				WHERE l.locktype = 'advisory' AND NOT l.granted
				  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
				  AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid
				  AND clock_timestamp() - a.query_start > interval '50 milliseconds')`,
			postgres.MigrateLockKey).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("returned while the lock was held: %v", err)
		default:
		}
	}
}

func TestMigrateCanceledContext(t *testing.T) {
	t.Parallel()
	pool := postgrestest.NewEmpty(t).Pool(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := postgres.Migrate(ctx, pool); !errors.Is(err, context.Canceled) {
		t.Fatalf("Migrate with a canceled context = %v, want context.Canceled", err)
	}
	// Nothing applied, nothing held: a later Migrate succeeds.
	if err := postgres.Migrate(t.Context(), pool); err != nil {
		t.Fatalf("Migrate after a canceled one: %v", err)
	}
}
