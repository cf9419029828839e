package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	// ErrNotMigrated is returned (wrapped) by CheckSchema when the database
	// is behind this build's schema, or was never migrated: run Migrate.
	ErrNotMigrated = errors.New("database is not migrated to this build's schema")
	// ErrSchemaTooNew is returned (wrapped) by Migrate and CheckSchema when
	// the database is at a higher version than this build knows: a newer
	// release migrated it, and this one must not write to it.
	ErrSchemaTooNew = errors.New("database schema is newer than this build")
)

// tooNew is ErrSchemaTooNew with the two versions.
func tooNew(applied, latest int) error {
	return fmt.Errorf("%w: database at version %d, this build knows %d", ErrSchemaTooNew, applied, latest)
}

// MigrationState is where a database stands against the migrations embedded
// in this build.
type MigrationState struct {
	// Applied is the version recorded in VersionTable: the number of
	// migrations applied. 0 when the database was never migrated.
	Applied int
	// Latest is SchemaVersion(): the version Migrate brings the database to.
	Latest int
	// Pending lists the migrations Migrate would apply, in order. Empty when
	// the database is current, and when it is newer than this build
	// (Applied > Latest).
	Pending []Migration
}

// MigrationStatus reports the database's state under the advisory lock
// Migrate holds (MigrateLockKey), so it never observes a migration run half
// way: while one is in progress it waits for it (bounded by ctx only, as
// Migrate's own wait) and reports the state it left. It changes nothing; a
// database never migrated reports Applied 0 and every migration pending.
// Like Migrate, it runs on a connection of its own, closed afterwards.
func MigrationStatus(ctx context.Context, pool *pgxpool.Pool) (MigrationState, error) {
	all, err := embedded()
	if err != nil {
		return MigrationState{}, fmt.Errorf("postgres: migration status: embedded migrations: %w", err)
	}
	var st MigrationState
	err = withMigrateLock(ctx, pool, "migration status", func(conn *pgx.Conn) error {
		st, err = readState(ctx, conn, all)
		if err != nil {
			return fmt.Errorf("postgres: migration status: %w", err)
		}
		return nil
	})
	return st, err
}

// CheckSchema returns nil when the database is at exactly this build's
// schema version, an error matching ErrNotMigrated when it is behind (or was
// never migrated), and one matching ErrSchemaTooNew when it is ahead. A
// service whose migrations are run by someone else (a deploy job, `ocpstore
// migrate`) calls it at start-up instead of Migrate, so it refuses to run on
// a schema it was not built for.
//
// Unlike MigrationStatus it does not take MigrateLockKey: it reads the
// committed version without waiting for a migration in progress, so a
// read-only tool stays usable during a long migration. Each migration
// commits together with its version, so what it reads is a version the
// schema really had.
func CheckSchema(ctx context.Context, pool *pgxpool.Pool) error {
	all, err := embedded()
	if err != nil {
		return fmt.Errorf("postgres: check schema: embedded migrations: %w", err)
	}
	st, err := readState(ctx, pool, all)
	if err != nil {
		return fmt.Errorf("postgres: check schema: %w", err)
	}
	switch {
	case st.Applied < st.Latest:
		return fmt.Errorf("postgres: check schema: %w: database at version %d of %d (%d pending)",
			ErrNotMigrated, st.Applied, st.Latest, len(st.Pending))
	case st.Applied > st.Latest:
		return fmt.Errorf("postgres: check schema: %w", tooNew(st.Applied, st.Latest))
	}
	return nil
}

// readState reads the recorded version through q and compares it with all.
// A missing VersionTable means version 0.
func readState(ctx context.Context, q querier, all []Migration) (MigrationState, error) {
	st := MigrationState{Latest: len(all)}
	exists, err := versionTableExists(ctx, q)
	if err != nil {
		return MigrationState{}, err
	}
	if exists {
		if st.Applied, err = readVersion(ctx, q); err != nil {
			return MigrationState{}, err
		}
	}
	if st.Applied < len(all) {
		st.Pending = slices.Clone(all[st.Applied:])
	}
	return st, nil
}
