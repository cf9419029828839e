package postgres_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

func TestMigrationStatusOfEmptyDatabase(t *testing.T) {
	t.Parallel()
	pool := postgrestest.NewEmpty(t).Pool(t)
	st, err := postgres.MigrationStatus(t.Context(), pool)
	if err != nil {
		t.Fatal(err)
	}
	if st.Applied != 0 || st.Latest != postgres.SchemaVersion() || !slices.Equal(st.Pending, postgres.Migrations()) {
		t.Errorf("MigrationStatus of an empty database = %+v, want applied 0, every migration pending", st)
	}
	// It only reads: the version table is still missing.
	var exists bool
	if err := pool.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", postgres.VersionTable).Scan(&exists); err != nil || exists {
		t.Errorf("%s exists after MigrationStatus (err %v)", postgres.VersionTable, err)
	}
	if err := postgres.CheckSchema(t.Context(), pool); !errors.Is(err, postgres.ErrNotMigrated) {
		t.Errorf("CheckSchema of an empty database = %v, want ErrNotMigrated", err)
	}
}

func TestMigrationStatusOfPartlyMigratedDatabase(t *testing.T) {
	t.Parallel()
	pool := postgrestest.NewEmpty(t).Pool(t)
	mustExec(t, pool, ternVersionTableSQL)
	mustExec(t, pool, postgres.Migrations()[0].SQL())
	mustExec(t, pool, "UPDATE "+postgres.VersionTable+" SET version = 1")
	st, err := postgres.MigrationStatus(t.Context(), pool)
	if err != nil {
		t.Fatal(err)
	}
	if st.Applied != 1 || !slices.Equal(st.Pending, postgres.Migrations()[1:]) {
		t.Errorf("MigrationStatus at version 1 = %+v, want applied 1, migrations 2.. pending", st)
	}
	if err := postgres.CheckSchema(t.Context(), pool); !errors.Is(err, postgres.ErrNotMigrated) {
		t.Errorf("CheckSchema at version 1 = %v, want ErrNotMigrated", err)
	}
}

func TestMigrationStatusOfCurrentDatabase(t *testing.T) {
	t.Parallel()
	pool := postgrestest.New(t).Pool(t)
	st, err := postgres.MigrationStatus(t.Context(), pool)
	if err != nil || st.Applied != postgres.SchemaVersion() || st.Latest != st.Applied || len(st.Pending) != 0 {
		t.Errorf("MigrationStatus of a migrated database = %+v, %v; want current, nothing pending", st, err)
	}
	if err := postgres.CheckSchema(t.Context(), pool); err != nil {
		t.Errorf("CheckSchema of a migrated database = %v", err)
	}
}

// TestMigrationStatusWaitsForMigrateLock: status is read under the lock
// Migrate holds, so it never reports a migration run half way; CheckSchema
// does not wait.
func TestMigrationStatusWaitsForMigrateLock(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	holder := db.Pool(t)
	conn, err := holder.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(t.Context(), "SELECT pg_advisory_lock($1)", postgres.MigrateLockKey); err != nil {
		t.Fatal(err)
	}

	// A pool whose lock_timeout is far shorter than the wait.
	reader := shortLockTimeoutPool(t, db.URL)
	done := make(chan error, 1)
	go func() {
		_, err := postgres.MigrationStatus(t.Context(), reader)
		done <- err
	}()
	waitForMigrateLockWaiter(t, holder, done)
	if err := postgres.CheckSchema(t.Context(), reader); err != nil {
		t.Errorf("CheckSchema while the migrate lock is held = %v, want nil without waiting", err)
	}
	if _, err := conn.Exec(t.Context(), "SELECT pg_advisory_unlock($1)", postgres.MigrateLockKey); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("MigrationStatus after the lock was released: %v", err)
	}
}
