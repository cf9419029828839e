package postgrestest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store/postgres"
)

func TestPostgrestestUnavailable(t *testing.T) {
	// Not parallel: it registers a Fallback, which the other tests of the
	// package do not use because EnvURL is set or no server is available
	// either way; it removes it before it returns.
	cause := errors.New("the cause")
	check := func(wantHint bool) {
		t.Helper()
		for _, tc := range []struct {
			ci        string
			wantFatal bool
		}{
			{ci: "", wantFatal: false},
			{ci: "true", wantFatal: true},
			{ci: "1", wantFatal: true},
		} {
			msg, fatal := unavailable(tc.ci, cause)
			if fatal != tc.wantFatal {
				t.Errorf("CI=%q: fatal = %v, want %v", tc.ci, fatal, tc.wantFatal)
			}
			for _, want := range []string{"the cause", EnvURL + "=postgres://"} {
				if !strings.Contains(msg, want) {
					t.Errorf("CI=%q: message %q does not mention %q", tc.ci, msg, want)
				}
			}
			// Without a Fallback, the message says how to get one.
			if hint := strings.Contains(msg, containerPackage) && strings.Contains(msg, "Docker"); hint != wantHint {
				t.Errorf("CI=%q: message %q: names %s and Docker: %v, want %v", tc.ci, msg, containerPackage, hint, wantHint)
			}
		}
	}
	saved := registered()
	t.Cleanup(func() {
		fallback.mu.Lock()
		fallback.fb = saved
		fallback.mu.Unlock()
	})
	fallback.mu.Lock()
	fallback.fb = nil
	fallback.mu.Unlock()
	check(true)
	RegisterFallback(Fallback{Name: "test", Start: func(context.Context) (string, error) { return "", ErrNoServer }})
	check(false)
}

func TestPostgrestestParseURL(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{
		"postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"postgresql://u:p@db.example:6543/x",
	} {
		if _, err := parseURL(ok); err != nil {
			t.Errorf("parseURL(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{
		"host=127.0.0.1 dbname=test",
		"mysql://u@h/db",
		"postgres:///db",
		"postgres://u:secret@h/db\x7f",
	} {
		_, err := parseURL(bad)
		if err == nil {
			t.Errorf("parseURL(%q) = nil, want an error", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("parseURL(%q) error %q shows the password", bad, err)
		}
	}
}

// schemaVersion reads what Migrate recorded in db.
func schemaVersion(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var v int
	if err := pool.QueryRow(t.Context(), "SELECT version FROM "+postgres.VersionTable).Scan(&v); err != nil {
		t.Fatalf("read schema version: %v", err)
	}
	return v
}

func TestPostgrestestIsolation(t *testing.T) {
	t.Parallel()
	a, b := New(t), New(t)
	if a.Name == b.Name || a.URL == b.URL {
		t.Fatalf("two databases share a name or URL: %+v %+v", a, b)
	}
	pa, pb := a.Pool(t), b.Pool(t)
	for _, p := range []*pgxpool.Pool{pa, pb} {
		if got, want := schemaVersion(t, p), postgres.SchemaVersion(); got != want {
			t.Errorf("schema version = %d, want %d", got, want)
		}
	}
	if _, err := pa.Exec(t.Context(), "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	var found bool
	if err := pb.QueryRow(t.Context(), "SELECT to_regclass('only_in_a') IS NOT NULL").Scan(&found); err != nil {
		t.Fatal(err)
	}
	if found {
		t.Error("a table created in one database is visible in the other")
	}
	var clusters int
	if err := pb.QueryRow(t.Context(), "SELECT count(*) FROM clusters").Scan(&clusters); err != nil || clusters != 0 {
		t.Errorf("fresh database: %d clusters, err %v; want 0, nil", clusters, err)
	}
}

func TestPostgrestestNewEmpty(t *testing.T) {
	t.Parallel()
	pool := NewEmpty(t).Pool(t)
	var tables int
	err := pool.QueryRow(t.Context(),
		"SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").Scan(&tables)
	if err != nil || tables != 0 {
		t.Errorf("empty database has %d tables (err %v), want 0", tables, err)
	}
}

func TestPostgrestestDropAtCleanup(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("inner", func(inner *testing.T) {
		db := New(inner)
		name = db.Name
		// A connection still open when the test ends must not keep the
		// database alive: the outer test closes this one after the drop.
		cfg, err := postgres.DefaultConfig(db.URL)
		if err != nil {
			inner.Fatal(err)
		}
		cfg.PoolConfig.MinConns, cfg.PoolConfig.MaxConns = 0, 1
		leaked, err := postgres.NewPool(inner.Context(), cfg)
		if err != nil {
			inner.Fatal(err)
		}
		t.Cleanup(leaked.Close)
		conn, err := leaked.Acquire(inner.Context())
		if err != nil {
			inner.Fatal(err)
		}
		t.Cleanup(conn.Release)
	})
	if name == "" {
		t.Skip("inner test skipped")
	}
	srv, err := sharedServer()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), srv.url.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var exists bool
	err = conn.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test ended", name)
	}
}
