package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/tracelog"
)

// Defaults DefaultConfig applies when the connection string does not set the
// corresponding pgxpool parameter (pool_max_conns, pool_min_conns,
// pool_health_check_period, pool_max_conn_lifetime_jitter) or lock_timeout.
const (
	// DefaultMaxConns is the pool's maximum size (ocpctl's value).
	DefaultMaxConns = 25
	// DefaultMinConns is the number of connections the pool keeps open even
	// when idle, so a burst after a quiet period does not pay for connection
	// setup (ocpctl's value).
	DefaultMinConns = 5
	// DefaultHealthCheckPeriod is how often the pool checks idle connections,
	// closes broken or expired ones and refills to MinConns. Half of pgx's one
	// minute, so dead connections left by a failover are found sooner.
	DefaultHealthCheckPeriod = 30 * time.Second
	// DefaultMaxConnLifetimeJitter spreads the expiry of connections opened
	// together (the MinConns opened at start) so they are not all closed and
	// reopened in the same health check.
	DefaultMaxConnLifetimeJitter = 5 * time.Minute
	// DefaultLockTimeout bounds how long a statement waits for a row or table
	// lock. A transaction that holds a row lock and hangs (a stuck process, a
	// debugger, a network partition before idle-session timeouts fire) would
	// otherwise block every writer of that row, and a worker blocked in
	// GetByIDForUpdate would never return. Ten seconds is far longer than any
	// lock the store itself holds, which it holds only for the few statements
	// of a transaction. The error it causes is SQLSTATE 55P03.
	DefaultLockTimeout = 10 * time.Second
)

// Config is what NewPool needs: the pgx pool configuration plus the settings
// ocpstore adds on top of it. Build it with DefaultConfig, then change fields.
type Config struct {
	// PoolConfig is the pgx pool configuration: server, credentials, TLS,
	// pool sizes and lifetimes, connection hooks. It must come from
	// pgxpool.ParseConfig (DefaultConfig does); pgx refuses others. NewPool
	// works on a copy, so changing PoolConfig afterwards does not affect pools
	// already created.
	PoolConfig *pgxpool.Config

	// LockTimeout, when positive, is set as PostgreSQL's lock_timeout on every
	// connection of the pool (a startup parameter, so it holds for every
	// statement and survives RESET ALL), overriding a lock_timeout given in
	// the connection string. Zero leaves lock_timeout as the connection string
	// or the server sets it. DefaultConfig sets DefaultLockTimeout unless the
	// connection string sets lock_timeout. Migrate does not let it cut short
	// its wait for a concurrent migrator; see Migrate.
	LockTimeout time.Duration

	// Tracer, when not nil, receives pgx's events for every connection of the
	// pool: queries always, and batches, COPY, prepares, connects, pool
	// acquires and releases when it implements the matching pgx or pgxpool
	// tracer interface. It is installed on the configuration the pool really
	// uses, next to a Tracer already set on PoolConfig.ConnConfig and the
	// Logger's tracer; all of them run.
	Tracer pgx.QueryTracer

	// Logger, when not nil, logs pgx's events through pgx's tracelog: every
	// statement at slog.LevelDebug, failures at slog.LevelError. NewPool
	// also warns through it (or slog.Default() when nil) about a remote
	// host reached without TLS certificate verification. No record holds
	// the password. Whether
	// statements are logged at all is decided once, by NewPool: if Logger is
	// not enabled for slog.LevelDebug at that moment, pgx only reports
	// failures, so a quiet logger costs nothing per query.
	Logger *slog.Logger

	// LogArgs adds statement arguments to the Logger's records. Off by
	// default because the store writes secrets (service account tokens,
	// dashboard tokens, SSH keys) as arguments.
	LogArgs bool
}

// DefaultConfig parses connString (a postgres:// URL or a keyword/value
// string, as pgxpool.ParseConfig accepts) and applies ocpstore's defaults:
// DefaultMaxConns, DefaultMinConns, DefaultHealthCheckPeriod,
// DefaultMaxConnLifetimeJitter and DefaultLockTimeout, each only where the
// connection string does not set its own (pool_max_conns=..., lock_timeout=...).
// Other pool settings keep pgx's defaults. Its errors never show the
// password. In production use sslmode=verify-full: NewPool warns, through
// Config.Logger, about a remote host without it (README: Security).
func DefaultConfig(connString string) (*Config, error) {
	// pgxpool.ParseConfig removes the pool_* parameters it consumes, so the
	// parameters the connection string set are read from a plain parse.
	given, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse connection string: %w", err)
	}
	pc, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse connection string: %w", err)
	}
	set := func(param string) bool {
		_, ok := given.RuntimeParams[param]
		return ok
	}
	if !set("pool_max_conns") {
		pc.MaxConns = DefaultMaxConns
	}
	if !set("pool_min_conns") {
		pc.MinConns = min(DefaultMinConns, pc.MaxConns)
	}
	if !set("pool_health_check_period") {
		pc.HealthCheckPeriod = DefaultHealthCheckPeriod
	}
	if !set("pool_max_conn_lifetime_jitter") {
		pc.MaxConnLifetimeJitter = DefaultMaxConnLifetimeJitter
	}
	cfg := &Config{PoolConfig: pc}
	if !set("lock_timeout") {
		cfg.LockTimeout = DefaultLockTimeout
	}
	return cfg, nil
}

// NewPool creates a pool from cfg and pings the server through it, so a
// wrong address, credentials or database fail here, with an error naming the
// target, rather than at the first query. cfg is not modified. Bound the
// attempt with ctx (or connect_timeout in the connection string). The caller
// closes the pool.
//
// The pool does not hand out a connection whose server side ended while it
// was idle in the pool (a terminated backend, a restart, a failover): it
// replaces it with a fresh one (see probe.go); PoolConfig's own PrepareConn
// (or BeforeAcquire) hook, if any, then runs on the connections it keeps.
// Use NewPool rather than pgxpool.NewWithConfig for pools given to New.
//
// When the pool would reach a host other than this machine without
// verifying the server's TLS certificate (sslmode disable, allow, prefer
// or require), NewPool logs a warning through cfg.Logger, or slog.Default()
// when it is nil: use sslmode=verify-full (README: Security).
func NewPool(ctx context.Context, cfg *Config) (*pgxpool.Pool, error) {
	if cfg == nil || cfg.PoolConfig == nil {
		return nil, errors.New("postgres: NewPool: Config and its PoolConfig must not be nil (use DefaultConfig)")
	}
	if cfg.LockTimeout < 0 {
		return nil, fmt.Errorf("postgres: NewPool: negative LockTimeout %s", cfg.LockTimeout)
	}
	pc := cfg.PoolConfig.Copy()
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	warnUnverified(ctx, logger, &pc.ConnConfig.Config) // see transport.go
	if cfg.LockTimeout > 0 {
		if pc.ConnConfig.RuntimeParams == nil {
			pc.ConnConfig.RuntimeParams = map[string]string{}
		}
		// Whole milliseconds, rounded up: "0" would disable the timeout.
		ms := (cfg.LockTimeout + time.Millisecond - 1) / time.Millisecond
		pc.ConnConfig.RuntimeParams["lock_timeout"] = fmt.Sprintf("%dms", ms)
	}
	pc.ConnConfig.Tracer = cfg.tracer(ctx, pc.ConnConfig.Tracer)
	pc.PrepareConn = alivePrepareConn(callersPrepareConn(pc)) // see probe.go

	target := fmt.Sprintf("database %q on %s:%d as %q",
		pc.ConnConfig.Database, pc.ConnConfig.Host, pc.ConnConfig.Port, pc.ConnConfig.User)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: create pool for %s: %w", target, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", target, err)
	}
	return pool, nil
}

// tracer combines the tracer already on the pgx configuration, cfg.Tracer and
// the Logger's tracer into the one pgx calls (pgx holds a single tracer).
func (cfg *Config) tracer(ctx context.Context, existing pgx.QueryTracer) pgx.QueryTracer {
	var tracers []pgx.QueryTracer
	for _, t := range []pgx.QueryTracer{existing, cfg.Tracer} {
		if t != nil {
			tracers = append(tracers, t)
		}
	}
	if cfg.Logger != nil {
		tracers = append(tracers, slogTracer(ctx, cfg.Logger, cfg.LogArgs))
	}
	switch len(tracers) {
	case 0:
		return nil
	case 1:
		return tracers[0]
	default:
		return multitracer.New(tracers...)
	}
}

// slogTracer adapts l to pgx's tracelog. It drops the "args" attribute unless
// logArgs, and asks tracelog for per-statement records only when l would
// keep them (see Config.Logger).
func slogTracer(ctx context.Context, l *slog.Logger, logArgs bool) *tracelog.TraceLog {
	level := tracelog.LogLevelError
	if l.Enabled(ctx, slog.LevelDebug) {
		level = tracelog.LogLevelTrace
	}
	log := func(ctx context.Context, lvl tracelog.LogLevel, msg string, data map[string]any) {
		attrs := make([]slog.Attr, 0, len(data))
		for _, k := range slices.Sorted(maps.Keys(data)) {
			if k == "args" && !logArgs {
				continue
			}
			attrs = append(attrs, slog.Any(k, data[k]))
		}
		l.LogAttrs(ctx, slogLevel(lvl), "pgx: "+msg, attrs...)
	}
	return &tracelog.TraceLog{Logger: tracelog.LoggerFunc(log), LogLevel: level}
}

// slogLevel maps pgx's levels onto slog's. pgx logs every statement at Info;
// for slog users that is debug output, so Info maps to Debug.
func slogLevel(l tracelog.LogLevel) slog.Level {
	switch l {
	case tracelog.LogLevelError:
		return slog.LevelError
	case tracelog.LogLevelWarn:
		return slog.LevelWarn
	case tracelog.LogLevelInfo, tracelog.LogLevelDebug:
		return slog.LevelDebug
	default:
		return slog.LevelDebug - 4
	}
}

// callersPrepareConn returns the PrepareConn hook pc had, if any, or its
// deprecated BeforeAcquire as one: pgxpool ignores BeforeAcquire once
// PrepareConn is set, and NewPool sets it, so the caller's hook must be
// called from there.
func callersPrepareConn(pc *pgxpool.Config) func(context.Context, *pgx.Conn) (bool, error) {
	//lint:ignore SA1019 honouring the caller's deprecated hook is the point
	before := pc.BeforeAcquire
	if pc.PrepareConn != nil || before == nil {
		return pc.PrepareConn
	}
	return func(ctx context.Context, c *pgx.Conn) (bool, error) { return before(ctx, c), nil }
}
