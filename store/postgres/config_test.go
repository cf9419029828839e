package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := postgres.DefaultConfig("postgres://u@db.example:5432/app")
	if err != nil {
		t.Fatal(err)
	}
	pc := cfg.PoolConfig
	if pc.MaxConns != postgres.DefaultMaxConns || pc.MinConns != postgres.DefaultMinConns ||
		pc.HealthCheckPeriod != postgres.DefaultHealthCheckPeriod ||
		pc.MaxConnLifetimeJitter != postgres.DefaultMaxConnLifetimeJitter ||
		cfg.LockTimeout != postgres.DefaultLockTimeout {
		t.Errorf("defaults: max %d min %d health %s jitter %s lock %s", pc.MaxConns, pc.MinConns,
			pc.HealthCheckPeriod, pc.MaxConnLifetimeJitter, cfg.LockTimeout)
	}
	if pc.MaxConns != 25 || pc.MinConns != 5 {
		t.Errorf("pool size %d..%d, want 5..25 (ocpctl's)", pc.MinConns, pc.MaxConns)
	}
}

func TestConfigConnStringWins(t *testing.T) {
	t.Parallel()
	cfg, err := postgres.DefaultConfig("postgres://u@h/app?pool_max_conns=7&pool_min_conns=1" +
		"&pool_health_check_period=5s&pool_max_conn_lifetime_jitter=1s&lock_timeout=2s")
	if err != nil {
		t.Fatal(err)
	}
	pc := cfg.PoolConfig
	if pc.MaxConns != 7 || pc.MinConns != 1 || pc.HealthCheckPeriod != 5*time.Second || pc.MaxConnLifetimeJitter != time.Second {
		t.Errorf("connection string pool settings not kept: max %d min %d health %s jitter %s",
			pc.MaxConns, pc.MinConns, pc.HealthCheckPeriod, pc.MaxConnLifetimeJitter)
	}
	if cfg.LockTimeout != 0 || pc.ConnConfig.RuntimeParams["lock_timeout"] != "2s" {
		t.Errorf("lock_timeout from the connection string: LockTimeout %s, param %q; want 0 and 2s",
			cfg.LockTimeout, pc.ConnConfig.RuntimeParams["lock_timeout"])
	}

	small, err := postgres.DefaultConfig("postgres://u@h/app?pool_max_conns=2")
	if err != nil {
		t.Fatal(err)
	}
	if small.PoolConfig.MinConns != 2 {
		t.Errorf("MinConns %d with pool_max_conns=2, want 2", small.PoolConfig.MinConns)
	}
}

func TestConfigBadConnString(t *testing.T) {
	t.Parallel()
	_, err := postgres.DefaultConfig("postgres://u:s3cr3t@h:notaport/app")
	if err == nil {
		t.Fatal("DefaultConfig accepted a bad port")
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestConfigNewPoolErrors(t *testing.T) {
	t.Parallel()
	if _, err := postgres.NewPool(t.Context(), nil); err == nil {
		t.Error("NewPool(nil) succeeded")
	}
	cfg, err := postgres.DefaultConfig("postgres://nobody@127.0.0.1:1/nowhere?connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	cfg.LockTimeout = -time.Second
	if _, err := postgres.NewPool(t.Context(), cfg); err == nil {
		t.Error("NewPool accepted a negative LockTimeout")
	}
	cfg.LockTimeout = time.Second
	cfg.PoolConfig.MinConns = 0
	_, err = postgres.NewPool(t.Context(), cfg)
	var connectErr *pgconn.ConnectError
	if !errors.As(err, &connectErr) {
		t.Fatalf("NewPool on a closed port = %v, want a *pgconn.ConnectError in the chain", err)
	}
	if !strings.Contains(err.Error(), `database "nowhere" on 127.0.0.1:1 as "nobody"`) {
		t.Errorf("error does not name the target: %v", err)
	}
}

// withParam returns rawURL with query parameter k=v added.
func withParam(t *testing.T, rawURL, k, v string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}

// newTestPool is NewPool with a test-sized pool, closed when t ends.
func newTestPool(t *testing.T, cfg *postgres.Config) *pgxpool.Pool {
	t.Helper()
	cfg.PoolConfig.MinConns, cfg.PoolConfig.MaxConns = 0, 2
	pool, err := postgres.NewPool(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestConfigLockTimeoutReachesServer(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	for _, tc := range []struct {
		name, url string
		set       time.Duration // applied when non-zero
		want      string
	}{
		{"default", db.URL, 0, "10s"},
		{"field", db.URL, 1500 * time.Millisecond, "1500ms"},
		{"sub-millisecond rounds up", db.URL, time.Microsecond, "1ms"},
		{"connection string", withParam(t, db.URL, "lock_timeout", "3s"), 0, "3s"},
		{"field beats connection string", withParam(t, db.URL, "lock_timeout", "3s"), 4 * time.Second, "4s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := postgres.DefaultConfig(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if tc.set != 0 {
				cfg.LockTimeout = tc.set
			}
			pool := newTestPool(t, cfg)
			var got string
			if err := pool.QueryRow(t.Context(), "SHOW lock_timeout").Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("lock_timeout = %s, want %s", got, tc.want)
			}
			// NewPool works on a copy.
			if _, ok := cfg.PoolConfig.ConnConfig.RuntimeParams["lock_timeout"]; ok && tc.url == db.URL {
				t.Error("NewPool wrote lock_timeout into the caller's Config")
			}
		})
	}
}

// countingTracer counts the pgx events it receives.
type countingTracer struct {
	queries, acquires atomic.Int64
	lastSQL           atomic.Value
}

func (c *countingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.queries.Add(1)
	c.lastSQL.Store(d.SQL)
	return ctx
}

func (c *countingTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *countingTracer) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	c.acquires.Add(1)
	return ctx
}

func (c *countingTracer) TraceAcquireEnd(context.Context, *pgxpool.Pool, pgxpool.TraceAcquireEndData) {
}

// TestTracerRuns proves Config.Tracer reaches the connections the pool
// really uses (ocpctl installed its tracer on a copy that pgx never saw), and
// that it runs next to a tracer set on the pgx configuration and the Logger.
func TestTracerRuns(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	cfg, err := postgres.DefaultConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	var mine, theirs countingTracer
	cfg.Tracer = &mine
	cfg.PoolConfig.ConnConfig.Tracer = &theirs
	cfg.Logger = slog.New(slog.DiscardHandler)
	pool := newTestPool(t, cfg)

	before := mine.queries.Load()
	if _, err := pool.Exec(t.Context(), "SELECT 42 AS traced"); err != nil {
		t.Fatal(err)
	}
	if mine.queries.Load() <= before {
		t.Error("Config.Tracer saw no query")
	}
	if sql, _ := mine.lastSQL.Load().(string); sql != "SELECT 42 AS traced" {
		t.Errorf("Config.Tracer saw %q last", sql)
	}
	if mine.acquires.Load() == 0 {
		t.Error("Config.Tracer implements pgxpool.AcquireTracer but saw no acquire")
	}
	if theirs.queries.Load() == 0 {
		t.Error("the tracer already on PoolConfig.ConnConfig was dropped")
	}
	if cfg.PoolConfig.ConnConfig.Tracer != &theirs {
		t.Error("NewPool changed the caller's PoolConfig")
	}
}

// lockedBuffer is a bytes.Buffer safe for the pool's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestConfigLogger(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	run := func(t *testing.T, level slog.Level, logArgs bool) string {
		cfg, err := postgres.DefaultConfig(db.URL)
		if err != nil {
			t.Fatal(err)
		}
		var out lockedBuffer
		cfg.Logger = slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: level}))
		cfg.LogArgs = logArgs
		pool := newTestPool(t, cfg)
		if _, err := pool.Exec(t.Context(), "SELECT $1::text AS logged", "s3cr3t"); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(t.Context(), "SELECT 1/0 AS failing"); err == nil {
			t.Fatal("division by zero succeeded")
		}
		pool.Close()
		return out.String()
	}

	t.Run("debug", func(t *testing.T) {
		got := run(t, slog.LevelDebug, false)
		if !strings.Contains(got, "level=DEBUG") || !strings.Contains(got, "AS logged") {
			t.Errorf("statement not logged at DEBUG:\n%s", got)
		}
		if strings.Contains(got, "s3cr3t") {
			t.Errorf("arguments logged without LogArgs:\n%s", got)
		}
		if !strings.Contains(got, "level=ERROR") || !strings.Contains(got, "AS failing") {
			t.Errorf("failure not logged at ERROR:\n%s", got)
		}
	})
	t.Run("args", func(t *testing.T) {
		if got := run(t, slog.LevelDebug, true); !strings.Contains(got, "s3cr3t") {
			t.Errorf("arguments not logged with LogArgs:\n%s", got)
		}
	})
	t.Run("errors only", func(t *testing.T) {
		got := run(t, slog.LevelError, false)
		if strings.Contains(got, "AS logged") || !strings.Contains(got, "AS failing") {
			t.Errorf("with an ERROR-level handler want only the failure:\n%s", got)
		}
	})
}

// TestConfigKeepsCallersAcquireHooks: NewPool installs its own PrepareConn
// (the dead-connection check), and the caller's PrepareConn, or its
// deprecated BeforeAcquire, still runs on every checkout.
func TestConfigKeepsCallersAcquireHooks(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	for _, hook := range []string{"PrepareConn", "BeforeAcquire"} {
		t.Run(hook, func(t *testing.T) {
			cfg, err := postgres.DefaultConfig(db.URL)
			if err != nil {
				t.Fatal(err)
			}
			var calls atomic.Int64
			if hook == "PrepareConn" {
				cfg.PoolConfig.PrepareConn = func(context.Context, *pgx.Conn) (bool, error) { calls.Add(1); return true, nil }
			} else {
				//lint:ignore SA1019 the deprecated hook must keep working
				cfg.PoolConfig.BeforeAcquire = func(context.Context, *pgx.Conn) bool { calls.Add(1); return true }
			}
			pool := newTestPool(t, cfg)
			before := calls.Load()
			for range 3 {
				if _, err := pool.Exec(t.Context(), "SELECT 1"); err != nil {
					t.Fatal(err)
				}
			}
			if got := calls.Load() - before; got != 3 {
				t.Fatalf("the caller's %s ran %d times for 3 checkouts, want 3", hook, got)
			}
		})
	}
}
