package postgrestest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL is the environment variable naming the server tests use: a
// postgres:// URL of a database on which the user may CREATE DATABASE and
// DROP DATABASE.
const EnvURL = "OCPSTORE_TEST_DATABASE_URL"

// server is the PostgreSQL server of this test process, set up once.
type server struct {
	url      url.URL // where CREATE/DROP DATABASE run: EnvURL or the fallback's
	version  int     // server_version_num, e.g. 150020
	template string  // the migrated template database New copies
}

var shared struct {
	once sync.Once
	srv  *server
	err  error
}

// sharedServer finds or starts the server and builds its template, once per
// process; every caller gets the same result, error included.
func sharedServer() (*server, error) {
	shared.once.Do(func() { shared.srv, shared.err = setUp() })
	return shared.srv, shared.err
}

// setUp is sharedServer's work. Its context is its own, not the first
// test's, because the result serves every test of the process.
func setUp() (*server, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	raw, source := os.Getenv(EnvURL), EnvURL
	if raw == "" {
		fb := registered()
		if fb == nil {
			return nil, fmt.Errorf("%w: %s is not set", ErrNoServer, EnvURL)
		}
		var err error
		if raw, err = fb.Start(ctx); err != nil {
			if errors.Is(err, ErrNoServer) {
				return nil, fmt.Errorf("%s is not set and %w", EnvURL, err)
			}
			return nil, fmt.Errorf("postgrestest: %s: %w", fb.Name, err)
		}
		source = fb.Name
	}
	u, err := parseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("postgrestest: %s: %w", source, err)
	}
	s := &server{url: *u}
	if err := s.prepare(ctx); err != nil {
		return nil, fmt.Errorf("postgrestest: %s (%s): %w", source, u.Redacted(), err)
	}
	return s, nil
}

// parseURL accepts only postgres:// and postgresql:// URLs: New derives each
// test database's URL by replacing the path.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return nil, fmt.Errorf("want a URL like postgres://user@host:5432/postgres?sslmode=disable, got %q", redact(raw))
	}
	return u, nil
}

// redact hides a password in what may be a malformed URL.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable)"
}

// unavailable is what a test does when no server is available: the message
// names the cause and how to enable the tests, and fatal is true when ci (the
// value of the CI environment variable) is non-empty, because CI must never
// pass green without PostgreSQL.
func unavailable(ci string, cause error) (msg string, fatal bool) {
	msg = fmt.Sprintf("postgrestest: %v; to run this test set %s=postgres://user@host:5432/postgres?sslmode=disable "+
		"(a server where the tests may create databases)", cause, EnvURL)
	if registered() == nil {
		msg += ", or blank-import " + containerPackage + " in a test file and start a Docker engine"
	}
	if ci != "" {
		return msg + " (failing instead of skipping because CI is set)", true
	}
	return msg, false
}

// urlFor is the server's URL pointing at database name.
func (s *server) urlFor(name string) string {
	u := s.url
	u.Path, u.RawPath = "/"+name, ""
	return u.String()
}

// exec runs one statement on a connection of its own to the server's
// database, closed afterwards: nothing stays open between tests.
func (s *server) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.url.String())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// dropSQL drops database name even while connections remain: FORCE (PG13+)
// terminates them, so a test that leaked a pool cannot leak its database.
func (s *server) dropSQL(name string) string {
	if s.version >= 130000 {
		return "DROP DATABASE IF EXISTS " + ident(name) + " WITH (FORCE)"
	}
	return "DROP DATABASE IF EXISTS " + ident(name)
}
