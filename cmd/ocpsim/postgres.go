package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// openPostgres connects to o.databaseURL and returns a store whose
// connections use a schema of the run's own (search_path), created and
// migrated here. The simulation's workers claim every runnable job they can
// see, so they must not share a schema with other work. The close function
// drops a fresh schema unless o.keepSchema. Each setup step is tried again
// while the database is unavailable (untilAvailable): all are safe to
// repeat.
func openPostgres(ctx context.Context, o *options) (*store.Store, string, func(), error) {
	cfg, err := postgres.DefaultConfig(o.databaseURL)
	if err != nil {
		return nil, "", nil, err
	}
	// A small pool of its own creates and drops the schema.
	adminCfg := *cfg
	adminCfg.PoolConfig = cfg.PoolConfig.Copy()
	adminCfg.PoolConfig.MinConns, adminCfg.PoolConfig.MaxConns = 0, 1
	var admin *pgxpool.Pool
	if err := untilAvailable(ctx, func() (err error) { admin, err = postgres.NewPool(ctx, &adminCfg); return err }); err != nil {
		return nil, "", nil, err
	}
	schema, fresh := o.schema, o.schema == ""
	if fresh {
		schema = "ocpsim_" + o.cfg.RunID
	}
	ident := pgx.Identifier{schema}.Sanitize()
	err = untilAvailable(ctx, func() error { _, err := admin.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+ident); return err })
	if err != nil {
		admin.Close()
		return nil, "", nil, fmt.Errorf("create schema %s: %w", ident, err)
	}
	dropSchema := func() {
		if fresh && !o.keepSchema {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = untilAvailable(dctx, func() error { _, err := admin.Exec(dctx, "DROP SCHEMA IF EXISTS "+ident+" CASCADE"); return err })
		}
		admin.Close()
	}

	runCfg := *cfg
	runCfg.PoolConfig = cfg.PoolConfig.Copy()
	runCfg.PoolConfig.ConnConfig.RuntimeParams["search_path"] = ident
	var pool *pgxpool.Pool
	if err := untilAvailable(ctx, func() (err error) { pool, err = postgres.NewPool(ctx, &runCfg); return err }); err != nil {
		dropSchema()
		return nil, "", nil, err
	}
	closeAll := func() {
		pool.Close()
		dropSchema()
	}
	if err := untilAvailable(ctx, func() error { return postgres.Migrate(ctx, pool) }); err != nil {
		closeAll()
		return nil, "", nil, err
	}
	cc := runCfg.PoolConfig.ConnConfig
	what := "dropped afterwards"
	if !fresh || o.keepSchema {
		what = "kept"
	}
	desc := fmt.Sprintf("PostgreSQL (database %q on %s:%d, schema %s, %s)", cc.Database, cc.Host, cc.Port, schema, what)
	return postgres.New(pool), desc, closeAll, nil
}

// untilAvailable runs fn until it succeeds or fails for another reason than
// an unavailable database (postgres.IsUnavailable), or ctx ends.
func untilAvailable(ctx context.Context, fn func() error) error {
	for {
		err := fn()
		if err == nil || !postgres.IsUnavailable(err) || sleepCtx(ctx, retryPause) != nil {
			return err
		}
	}
}
