// Package postgrestest hands a test its own fresh, migrated PostgreSQL
// database, the way net/http/httptest hands it a server. It serves the tests
// of ocpstore and of programs that use ocpstore.
//
//	func TestCreateCluster(t *testing.T) {
//		t.Parallel()
//		db := postgrestest.New(t)   // empty database with ocpstore's schema, dropped when t ends
//		s := postgres.New(db.Pool(t)) // pool closed when t ends
//		...
//	}
//
// Each database is a copy of a template database migrated once (per schema:
// the template's name carries a hash of the migration files), so New costs
// one CREATE DATABASE, and tests can run in parallel, in one package or in
// the parallel processes of `go test ./...`, without seeing each other's rows.
//
// The server comes from, in order:
//
//  1. the environment variable OCPSTORE_TEST_DATABASE_URL (EnvURL): a
//     postgres:// URL of a server and database where the user may create
//     and drop databases, e.g.
//     postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable;
//  2. otherwise the registered Fallback, if any. The module
//     github.com/ocpctl/ocpstore/store/postgres/postgrestest/pgcontainer
//     registers one when a test file blank-imports it: it starts PostgreSQL
//     in a container with testcontainers-go when a Docker engine answers
//     (one per test process, removed when the process exits). It is a
//     module of its own so that ocpstore's module, and every program built
//     with it, does not depend on testcontainers and the Docker client;
//  3. otherwise none: the test is skipped with a message saying how to
//     enable it, except when the environment variable CI is non-empty,
//     where it fails, because CI must never pass green without PostgreSQL.

// A server that is configured but broken (a bad URL, refused credentials, a
// container that does not start) fails the test rather than skipping it. A
// skip is also announced once per test process on the terminal, because go
// test prints a passing package's output only with -v.
//
// For a TestMain: SetDefaultParallel runs more tests at once (they wait on
// the database, not the CPU), and SkipWithoutServer skips the runnable
// examples that use Open (the way to get a database without a testing.TB)
// when New would skip tests.
//
// Databases left behind by a test process that was killed (its cleanups
// never ran) are named test_*, and templates of older schemas ocpstore_tmpl_*;
// drop them by hand when convenient.
package postgrestest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store/postgres"
)

// PoolMaxConns is the size of the pools Pool opens. Small, because many
// tests run at once against one server (PostgreSQL allows 100 connections by
// default), yet more than one, so code inside a transaction can still read
// through another connection.
const PoolMaxConns = 4

// DB is one test's database (or one example's, see Open).
type DB struct {
	// URL is the connection URL of the database (a postgres:// URL with the
	// server's credentials and parameters).
	URL string
	// Name is the database's name.
	Name string

	srv *server // where it lives, for Drop

	granted  sync.Once // AppPool's grant to AppRole, once per database
	grantErr error
}

// New returns a fresh database with ocpstore's schema migrated and no rows,
// for t alone, dropped (connections and all) when t ends. See the package
// documentation for where the server comes from and when New skips t.
func New(t testing.TB) *DB {
	t.Helper()
	srv := serverFor(t)
	return srv.createDB(t, srv.template)
}

// NewEmpty is New without the schema: an empty database (a copy of
// template0), for tests of migrations themselves.
func NewEmpty(t testing.TB) *DB {
	t.Helper()
	return serverFor(t).createDB(t, "template0")
}

// Pool opens a new pool on the database with postgres.DefaultConfig (so the
// production settings, lock_timeout included, are under test), at most
// PoolMaxConns connections and none kept idle, and closes it when t ends,
// before the database is dropped. Each call returns an independent pool: call
// it twice to simulate two processes. For other settings (a tracer, a
// logger), build a postgres.Config from d.URL yourself.
func (d *DB) Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	cfg, err := postgres.DefaultConfig(d.URL)
	if err != nil {
		t.Fatalf("postgrestest: %v", err)
	}
	cfg.PoolConfig.MaxConns = PoolMaxConns
	cfg.PoolConfig.MinConns = 0
	pool, err := postgres.NewPool(t.Context(), cfg)
	if err != nil {
		t.Fatalf("postgrestest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// createDB creates a database copied from template and registers its drop.
func (s *server) createDB(t testing.TB, template string) *DB {
	t.Helper()
	db, err := s.create(t.Context(), template)
	if err != nil {
		t.Fatalf("postgrestest: %v", err)
	}
	t.Cleanup(func() {
		// t.Context is already canceled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := db.Drop(ctx); err != nil {
			t.Errorf("postgrestest: %v", err)
		}
	})
	return db
}

// create creates a database with a new name, copied from template.
func (s *server) create(ctx context.Context, template string) (*DB, error) {
	name := "test_" + strings.ToLower(rand.Text())
	if err := s.exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(template)); err != nil {
		return nil, fmt.Errorf("create database %s from %s: %w", name, template, err)
	}
	return &DB{URL: s.urlFor(name), Name: name, srv: s}, nil
}

// Drop drops the database, closing the connections still open to it. New
// and NewEmpty drop theirs when the test ends; Open and OpenEmpty leave it
// to the caller. Dropping a database that no longer exists is not an error.
func (d *DB) Drop(ctx context.Context) error {
	if err := d.srv.exec(ctx, d.srv.dropSQL(d.Name)); err != nil {
		return fmt.Errorf("drop database %s: %w", d.Name, err)
	}
	return nil
}

// serverFor returns the process's server, or ends t: skipped (failed under
// CI) when no server is available, failed when one is configured but broken.
func serverFor(t testing.TB) *server {
	t.Helper()
	srv, err := sharedServer()
	if errors.Is(err, ErrNoServer) {
		msg, fatal := unavailable(os.Getenv("CI"), err)
		if fatal {
			t.Fatal(msg)
		}
		announceSkip(err)
		t.Skip(msg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// ident quotes a database name for SQL.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }
