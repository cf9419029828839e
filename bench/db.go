package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store/postgres"
)

// dbPrefix starts the name of every database the benchmark creates, and
// it drops no other: the server's other databases are never touched.
const dbPrefix = "ocpbench_"

// server is the PostgreSQL server the benchmark runs on: the -database-url
// it was given, whose database serves only to create and drop the
// benchmark's own.
type server struct {
	url *url.URL
}

func newServer(raw string) (*server, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return nil, fmt.Errorf("-database-url %q: want a postgres://user@host:port/database URL", raw)
	}
	return &server{url: u}, nil
}

// urlFor returns the URL of database name on the server.
func (s *server) urlFor(name string) string {
	u := *s.url
	u.Path = "/" + name
	return u.String()
}

// admin runs fn on a connection to the -database-url database.
func (s *server) admin(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := pgx.Connect(ctx, s.url.String())
	if err != nil {
		return fmt.Errorf("connect to %s: %w", s.url.Redacted(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return fn(conn)
}

// exists reports whether database name exists.
func (s *server) exists(ctx context.Context, name string) (bool, error) {
	var ok bool
	err := s.admin(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&ok)
	})
	return ok, err
}

// create creates the empty database name, dropping it first if it exists,
// and returns its URL.
func (s *server) create(ctx context.Context, name string) (string, error) {
	if err := s.drop(ctx, name); err != nil {
		return "", err
	}
	err := s.admin(ctx, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0")
		return err
	})
	if err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return s.urlFor(name), nil
}

// drop drops database name, if it exists, and its sessions. Only the
// benchmark's own databases (dbPrefix) may be dropped.
func (s *server) drop(ctx context.Context, name string) error {
	if !strings.HasPrefix(name, dbPrefix) {
		return fmt.Errorf("refusing to drop database %q: not one of the benchmark's (%s*)", name, dbPrefix)
	}
	err := s.admin(ctx, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		return err
	})
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// openPool opens a pool of exactly conns connections on dbURL, with the
// store's production settings (postgres.DefaultConfig) otherwise, and
// opens every connection now, so no client waits for a connection to be
// set up during a measurement.
func openPool(ctx context.Context, dbURL string, conns int) (*pgxpool.Pool, error) {
	return openPoolWith(ctx, dbURL, conns, nil)
}

// openPoolWith is openPool with a tracer on every connection (nil for none).
func openPoolWith(ctx context.Context, dbURL string, conns int, tracer pgx.QueryTracer) (*pgxpool.Pool, error) {
	cfg, err := postgres.DefaultConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.Tracer = tracer
	cfg.PoolConfig.MaxConns, cfg.PoolConfig.MinConns = int32(conns), int32(conns)
	pool, err := postgres.NewPool(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := warm(ctx, pool, conns); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// warm holds n connections of pool at once, so that all n are open.
func warm(ctx context.Context, pool *pgxpool.Pool, n int) error {
	held := make([]*pgxpool.Conn, 0, n)
	defer func() {
		for _, c := range held {
			c.Release()
		}
	}()
	for range n {
		c, err := pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("open connection: %w", err)
		}
		held = append(held, c)
	}
	return nil
}

// freshDB creates database name, migrates it and returns a pool of conns
// connections on it.
func freshDB(ctx context.Context, srv *server, name string, conns int) (*pgxpool.Pool, error) {
	dbURL, err := srv.create(ctx, name)
	if err != nil {
		return nil, err
	}
	pool, err := openPool(ctx, dbURL, conns)
	if err != nil {
		return nil, err
	}
	if err := postgres.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// checkpoint makes the server write its dirty pages now, so that a
// measurement that follows does not pay for the previous one's, and the
// full-page writes that follow a checkpoint hit both runs of a pair alike.
// It needs superuser or pg_checkpoint; without them it is skipped.
func checkpoint(ctx context.Context, pool *pgxpool.Pool) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	_, err := pool.Exec(cctx, "CHECKPOINT")
	var pgErr interface{ SQLState() string }
	if err != nil && !(errors.As(err, &pgErr) && pgErr.SQLState() == "42501") {
		fmt.Printf("  (checkpoint failed: %v)\n", err)
	}
}
