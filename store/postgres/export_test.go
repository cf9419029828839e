package postgres

import (
	"context"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
)

// MigrateFS is Migrate on the migrations in fsys instead of the embedded
// ones, for the tests of the runner itself.
func MigrateFS(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS, opts ...MigrateOption) error {
	all, err := loadMigrations(fsys)
	if err != nil {
		return err
	}
	var cfg migrateConfig
	for _, o := range opts {
		o(&cfg)
	}
	return migrate(ctx, pool, all, cfg)
}

// SQL is the migration's content, for tests that apply one by hand.
func (m Migration) SQL() string { return m.sql }
