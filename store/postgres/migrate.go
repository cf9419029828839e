package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// VersionTable is the table in which Migrate records the schema version (the
// number of migrations applied) in its single row. Its name is ocpstore's
// own, so ocpstore can share a database and schema with an application that
// uses another migration tool. Its layout (one int4 column named version,
// one row) is the one tern, which earlier releases used to apply the same
// files, created: databases those releases migrated are read as they are.
const VersionTable = "ocpstore_schema_version"

// MigrateLockKey is the pg_advisory_lock key Migrate and MigrationStatus hold
// while they run: the ASCII bytes of "ocpstore". An operator sees it in
// pg_locks (classid 0x6f637073, objid 0x746f7265) while a migration is in
// progress or waiting.
const MigrateLockKey int64 = 0x6f637073_746f7265

// MigrateOption configures Migrate.
type MigrateOption func(*migrateConfig)

type migrateConfig struct {
	onApplied func(m Migration, took time.Duration)
}

// OnApplied makes Migrate call fn after each migration it applied and
// committed, with the time the migration's transaction took: a command
// line tool reports progress with it, a service logs it.
func OnApplied(fn func(m Migration, took time.Duration)) MigrateOption {
	return func(c *migrateConfig) { c.onApplied = fn }
}

// Migrate brings the database pool connects to up to SchemaVersion, applying
// the embedded migrations that are not yet recorded in VersionTable in
// version order, each in its own transaction together with the update of
// VersionTable: a migration that fails leaves the database at the version
// before it, with nothing of it applied. A database that is already current
// is left untouched, so calling Migrate at every process start is cheap and
// safe.
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
// Migrate uses one connection of pool and closes it afterwards instead of
// returning it, so neither the advisory lock nor any session state of a
// migration can leak into the pool, even when ctx is canceled midway.
//
// If the database is at a higher version than this build knows (a newer
// release migrated it), Migrate returns an error matching ErrSchemaTooNew
// and changes nothing.
func Migrate(ctx context.Context, pool *pgxpool.Pool, opts ...MigrateOption) error {
	var cfg migrateConfig
	for _, o := range opts {
		o(&cfg)
	}
	all, err := embedded()
	if err != nil {
		return fmt.Errorf("postgres: migrate: embedded migrations: %w", err)
	}
	return migrate(ctx, pool, all, cfg)
}

// migrate is Migrate with the migrations given, so tests can pass their own.
func migrate(ctx context.Context, pool *pgxpool.Pool, all []Migration, cfg migrateConfig) error {
	return withMigrateLock(ctx, pool, "migrate", func(conn *pgx.Conn) error {
		exists, err := versionTableExists(ctx, conn)
		if err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		if !exists {
			if err := checkCreate(ctx, conn); err != nil {
				return fmt.Errorf("postgres: migrate: %w", err)
			}
			if err := createVersionTable(ctx, conn); err != nil {
				return fmt.Errorf("postgres: migrate: create %s: %w", VersionTable, ownerHint(err))
			}
		}
		applied, err := readVersion(ctx, conn)
		if err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		if applied > len(all) {
			return fmt.Errorf("postgres: migrate: %w", tooNew(applied, len(all)))
		}
		if exists && applied < len(all) {
			if err := checkCreate(ctx, conn); err != nil {
				return fmt.Errorf("postgres: migrate: %w", err)
			}
		}
		for _, m := range all[applied:] {
			start := time.Now()
			if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return apply(ctx, tx, m) }); err != nil {
				return fmt.Errorf("postgres: migrate to version %d: %s: %w", m.Version, m.Name, ownerHint(err))
			}
			if cfg.onApplied != nil {
				cfg.onApplied(m, time.Since(start))
			}
		}
		return nil
	})
}

// checkCreate fails, naming the role and the schema, when the session's
// role may not create tables in the current schema: a migration needs it,
// and the likely cause is Migrate run as the application role.
func checkCreate(ctx context.Context, conn *pgx.Conn) error {
	var role string
	var schema *string
	var create bool
	err := conn.QueryRow(ctx, "SELECT current_user, current_schema(),"+
		" coalesce(has_schema_privilege(current_schema(), 'CREATE'), false)").Scan(&role, &schema, &create)
	if err != nil {
		return fmt.Errorf("check rights: %w", err)
	}
	if schema == nil || create {
		return nil // without a schema the migration's own error says more
	}
	return fmt.Errorf("role %q may not create tables in schema %q: run migrations as the owner role (README: Security): %w",
		role, *schema, ErrPermissionDenied)
}

// ownerHint adds ErrPermissionDenied and what to do to an error of a
// statement the database refused for lack of a right (say, an ALTER TABLE
// by a role that does not own the table).
func ownerHint(err error) error {
	return permissionHint(err, "the role lacks a right this migration needs: run migrations as the owner role")
}

// apply runs m and records its version, in the caller's transaction.
func apply(ctx context.Context, tx pgx.Tx, m Migration) error {
	// Without arguments, pgx sends the file with the simple query protocol,
	// which runs several statements in one call.
	if _, err := tx.Exec(ctx, m.sql); err != nil {
		return err
	}
	// A migration may SET session parameters (a search_path, say); the
	// version must be recorded in the table it was read from. RESET ALL
	// keeps the connection's startup parameters, lock_timeout among them.
	if _, err := tx.Exec(ctx, "RESET ALL"); err != nil {
		return err
	}
	// A compare-and-set: under MigrateLockKey nobody else moves the
	// version, and if someone did, nothing is recorded twice.
	tag, err := tx.Exec(ctx, "UPDATE "+VersionTable+" SET version = $1 WHERE version = $2", m.Version, m.Version-1)
	if err != nil {
		return fmt.Errorf("record version: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("record version: %s no longer holds version %d", VersionTable, m.Version-1)
	}
	return nil
}

// withMigrateLock runs fn on a connection of its own that holds the session
// advisory lock MigrateLockKey, waiting for it as long as ctx allows, and
// closes the connection afterwards, which releases the lock. op names the
// caller in errors.
func withMigrateLock(ctx context.Context, pool *pgxpool.Pool, op string, fn func(conn *pgx.Conn) error) error {
	pc, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %s: acquire connection: %w", op, err)
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
		return fmt.Errorf("postgres: %s: take advisory lock %d: %w", op, MigrateLockKey, err)
	}
	return fn(conn)
}

// createVersionTable creates VersionTable holding version 0.
func createVersionTable(ctx context.Context, conn *pgx.Conn) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE TABLE "+VersionTable+" (version int4 NOT NULL)"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO "+VersionTable+" (version) VALUES (0)")
		return err
	})
}

// versionTableExists reports whether VersionTable is visible on q's
// search_path, where the unqualified name in every statement finds it.
func versionTableExists(ctx context.Context, q querier) (bool, error) {
	var exists bool
	err := q.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", VersionTable).Scan(&exists)
	if err != nil {
		return false, fmt.Errorf("look up %s: %w", VersionTable, err)
	}
	return exists, nil
}

// readVersion returns the version recorded in VersionTable, which must exist
// and hold exactly one row.
func readVersion(ctx context.Context, q querier) (int, error) {
	rows, err := q.Query(ctx, "SELECT version FROM "+VersionTable)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", VersionTable, err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", VersionTable, err)
	}
	if len(versions) != 1 || versions[0] < 0 {
		return 0, fmt.Errorf("%s holds %v, want one row with a version of at least 0", VersionTable, versions)
	}
	return int(versions[0]), nil
}
