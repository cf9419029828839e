package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"

	"github.com/ocpctl/ocpstore/migrations"
)

// VersionTable is the table in which Migrate records the schema version (the
// number of migrations applied). Its name is ocpstore's own, so ocpstore can
// share a database and schema with an application that uses tern (whose
// default table is schema_version) or another migration tool.
const VersionTable = "ocpstore_schema_version"

// MigrateLockKey is the pg_advisory_lock key Migrate holds while it runs: the
// ASCII bytes of "ocpstore". An operator sees it in pg_locks (classid
// 0x6f637073, objid 0x746f7265) while a migration is in progress or waiting.
const MigrateLockKey int64 = 0x6f637073_746f7265

// SchemaVersion returns the number of migrations embedded in this build: the
// version Migrate brings a database to, and the value VersionTable holds
// afterwards. It panics if the embedded files are misnumbered (a gap or a
// duplicate), a defect of the build that the package's tests catch.
func SchemaVersion() int {
	paths, err := migrate.FindMigrations(migrations.FS())
	if err != nil {
		panic(fmt.Sprintf("postgres: embedded migrations: %v", err))
	}
	return len(paths)
}

// Migrate brings the database pool connects to up to SchemaVersion, applying
// the embedded migrations that are not yet recorded in VersionTable, each in
// its own transaction. A database that is already current is left untouched,
// so calling Migrate at every process start is cheap and safe.
//
// Concurrent callers (several replicas starting at once) are serialized by
// the session advisory lock MigrateLockKey: the first applies the
// migrations, the others wait for it and then find nothing to do. The wait is
// bounded only by ctx: it is not subject to the pool's lock_timeout
// (Config.LockTimeout), which would otherwise fail a replica that starts
// while a long migration runs. The migration statements themselves do run
// under lock_timeout, so DDL that cannot get its table lock fails instead of
// queueing every later query on that table behind it.
//
// tern, which applies the files, also takes a session advisory lock of its
// own (a fixed key shared by every tern user in the database) around its
// work. ocpstore takes its own lock first because tern's lock wait would be
// cut short by lock_timeout; with ocpstore's lock held, tern's is contended
// only by other tern users of the same database.
//
// Migrate uses one connection of pool and closes it afterwards instead of
// returning it, so neither the advisory lock nor any session state of a
// migration can leak into the pool, even when ctx is canceled midway.
//
// If the database is at a higher version than this build knows (a newer
// release migrated it), Migrate returns an error and changes nothing.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	pc, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: acquire connection: %w", err)
	}
	conn := pc.Hijack()
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx) // closing the session also releases the advisory lock
	}()

	// SET LOCAL scopes the unlimited lock_timeout to the wait; the lock is
	// session-level, so it outlives the transaction.
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = 0"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "SELECT pg_advisory_lock($1)", MigrateLockKey)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate: take advisory lock %d: %w", MigrateLockKey, err)
	}

	m, err := migrate.NewMigrator(ctx, conn, VersionTable)
	if err != nil {
		return fmt.Errorf("postgres: migrate: prepare %s: %w", VersionTable, err)
	}
	if err := m.LoadMigrations(migrations.FS()); err != nil {
		return fmt.Errorf("postgres: migrate: load embedded migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("postgres: migrate to version %d: %w", SchemaVersion(), err)
	}
	return nil
}
