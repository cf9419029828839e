package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store/postgres"
)

// connectTimeout bounds each connection attempt when the URL does not set
// connect_timeout, so an unreachable host fails instead of hanging a
// command that has no -timeout.
const connectTimeout = 10 * time.Second

// session is what every command runs with: the common flags and where to
// write.
type session struct {
	databaseURL string
	json        bool
	timeout     time.Duration
	getenv      func(string) string
	stdout      io.Writer
}

// connect opens a small pool on the database: the -database-url flag, else
// DATABASE_URL. The caller closes it.
func (s *session) connect(ctx context.Context) (*pgxpool.Pool, error) {
	url := s.databaseURL
	if url == "" {
		url = s.getenv("DATABASE_URL")
	}
	if url == "" {
		return nil, errors.New("no database: pass -database-url or set DATABASE_URL " +
			"(postgres://user@host:5432/dbname?sslmode=disable)")
	}
	cfg, err := postgres.DefaultConfig(url)
	if err != nil {
		return nil, fmt.Errorf("invalid database URL: %w", err)
	}
	// One command, one or two connections at a time: keep none idle.
	cfg.PoolConfig.MaxConns, cfg.PoolConfig.MinConns = 2, 0
	if cfg.PoolConfig.ConnConfig.ConnectTimeout == 0 {
		cfg.PoolConfig.ConnConfig.ConnectTimeout = connectTimeout
	}
	pool, err := postgres.NewPool(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the database: %w", err)
	}
	return pool, nil
}

// connectMigrated is connect for the commands that read or write the
// store's tables: it refuses a database whose schema is not the one this
// ocpstore was built for, saying what to do.
func (s *session) connectMigrated(ctx context.Context) (*pgxpool.Pool, error) {
	pool, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	err = postgres.CheckSchema(ctx, pool)
	switch {
	case errors.Is(err, postgres.ErrNotMigrated):
		err = fmt.Errorf("%w; run `ocpstore migrate` first", err)
	case errors.Is(err, postgres.ErrSchemaTooNew):
		err = fmt.Errorf("%w; use the ocpstore of the release that migrated it", err)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// writeJSON writes v as an indented JSON document.
func (s *session) writeJSON(v any) error {
	enc := json.NewEncoder(s.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
