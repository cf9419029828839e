package postgres_test

import (
	"fmt"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/migrations"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestMigrateAsAppRoleSaysSo: Migrate run as the application role, which
// may not create or alter tables, fails with ErrPermissionDenied and a
// message that names the role and says to run migrations as the owner,
// not with a bare SQLSTATE 42501; on a database already current it has
// nothing to do and succeeds.
func TestMigrateAsAppRoleSaysSo(t *testing.T) {
	t.Parallel()
	const noCreate = `role "` + postgrestest.AppRole + `" may not create tables in schema "public"`

	t.Run("EmptyDatabase", func(t *testing.T) {
		t.Parallel()
		db := postgrestest.NewEmpty(t)
		// As roles.sql does, and as PostgreSQL 15 does by default.
		mustExec(t, db.Pool(t), "REVOKE CREATE ON SCHEMA public FROM PUBLIC")
		err := postgres.Migrate(t.Context(), appURLPool(t, db))
		requireErrIs(t, err, postgres.ErrPermissionDenied, "Migrate an empty database as the application role")
		requireContains(t, err, noCreate)
		requireContains(t, err, "run migrations as the owner role")
	})

	t.Run("PendingMigration", func(t *testing.T) {
		t.Parallel()
		db := postgrestest.New(t)
		app := db.AppPool(t)
		requireNoErr(t, postgres.Migrate(t.Context(), app), "Migrate a current database as the application role")
		err := postgres.MigrateFS(t.Context(), app, withExtra(t, "CREATE TABLE extra (id int)"))
		requireErrIs(t, err, postgres.ErrPermissionDenied, "apply a migration as the application role")
		requireContains(t, err, noCreate)
	})

	t.Run("NotTheOwner", func(t *testing.T) {
		t.Parallel()
		db := postgrestest.New(t)
		app := db.AppPool(t)
		// With CREATE on the schema the role passes the first check; the
		// migration's ALTER of a table it does not own is refused.
		mustExec(t, db.Pool(t), "GRANT CREATE ON SCHEMA public TO "+postgrestest.AppRole)
		err := postgres.MigrateFS(t.Context(), app, withExtra(t, "ALTER TABLE clusters ADD COLUMN extra int"))
		requireErrIs(t, err, postgres.ErrPermissionDenied, "alter a table as the application role")
		requireContains(t, err, "must be owner of table clusters")
		requireContains(t, err, "run migrations as the owner role")
	})
}

// appURLPool opens a pool on db as postgrestest.AppRole, without grants.
func appURLPool(t *testing.T, db *postgrestest.DB) *pgxpool.Pool {
	t.Helper()
	cfg, err := postgres.DefaultConfig(db.AppURL(t))
	requireNoErr(t, err, "config")
	cfg.PoolConfig.MaxConns, cfg.PoolConfig.MinConns = 2, 0
	pool, err := postgres.NewPool(t.Context(), cfg)
	requireNoErr(t, err, "pool")
	t.Cleanup(pool.Close)
	return pool
}

// withExtra is the embedded migrations and one more, holding sql.
func withExtra(t *testing.T, sql string) fs.FS {
	t.Helper()
	fsys := fstest.MapFS{}
	err := fs.WalkDir(migrations.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(migrations.FS(), path)
		fsys[path] = &fstest.MapFile{Data: body}
		return err
	})
	requireNoErr(t, err, "read the embedded migrations")
	fsys[fmt.Sprintf("%04d_extra.sql", postgres.SchemaVersion()+1)] = &fstest.MapFile{Data: []byte(sql)}
	return fsys
}
