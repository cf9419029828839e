package postgres

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ocpctl/ocpstore/store"
)

// querier runs statements. *pgxpool.Pool and pgx.Tx satisfy it (and so
// does pgxmock), so every sub-store runs on a pool or in a transaction
// with the same code.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// beginner is a querier that starts transactions: the pool.
type beginner interface {
	querier
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// conn is what every sub-store runs on.
type conn struct {
	q querier // pooled or inTx: the querier layer, see below
	// pool is set when q is the pool (autocommit) and nil when q is a
	// transaction: an operation that needs several statements runs them
	// in a transaction of its own only in the first case.
	pool  beginner
	clock store.Clock
	// queueSeenEmpty is the backend's, on its pool-bound executor only
	// (nil in a transaction): true while the backend's last claim found
	// no job, so that the next one probes first (see JobsClaim).
	queueSeenEmpty *atomic.Bool
}

// now returns the argument for a statement's "now" placeholder (see
// nowSQL): the injected clock's reading, truncated to the microseconds
// PostgreSQL stores, or nil so that the database's statement_timestamp()
// is used.
func (c conn) now() any {
	if c.clock == nil {
		return nil
	}
	return c.clock.Now().UTC().Truncate(time.Microsecond)
}

// atomically runs fn in one transaction: the caller's, when c is bound to
// one, or else a short READ COMMITTED transaction of its own that commits
// when fn returns nil and rolls back otherwise. fn gets c bound to the
// transaction.
func (c conn) atomically(ctx context.Context, fn func(c conn) error) error {
	if c.pool == nil {
		return fn(c)
	}
	tx, err := begin(ctx, c.pool, store.TxOptions{})
	if err != nil {
		return mapError(ctx, err, "begin")
	}
	committing := false
	defer func() {
		if !committing { // fn failed or panicked; a failed Commit has closed tx already
			_ = tx.Rollback(context.WithoutCancel(ctx)) // the error to report is fn's
		}
	}()
	if err := fn(conn{q: inTx{tx: tx}, clock: c.clock}); err != nil {
		return err
	}
	committing = true
	return commitError(ctx, tx.Commit(ctx))
}

// The querier layer: every statement the backend runs goes through pooled
// (autocommit) or inTx (in a transaction), which classify a failure of the
// database or the connection as store.ErrUnavailable (see unavailable.go),
// and retry once, on a fresh connection, an autocommit statement that
// certainly never reached the server. The retry lives here and nowhere
// else: no sub-store method retries on its own.

// begin starts a transaction on pool. A BEGIN that failed because the
// connection or the server went away is tried once more, on a fresh
// connection: a BEGIN changes nothing, whether it reached the server or
// not. Its error is classified.
func begin(ctx context.Context, pool beginner, opts store.TxOptions) (pgx.Tx, error) {
	tx, err := pool.BeginTx(ctx, txOptions(opts))
	if err != nil && (beforeServer(ctx, err) || connectionLost(ctx, err)) {
		tx, err = pool.BeginTx(ctx, txOptions(opts))
	}
	return tx, classify(ctx, err, opts.ReadOnly, false)
}

// pooled runs autocommit statements on the pool.
type pooled struct{ pool beginner }

// Exec runs sql, once more if the first try never reached the server.
func (p pooled) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := p.pool.Exec(ctx, sql, args...)
	if err != nil && beforeServer(ctx, err) {
		tag, err = p.pool.Exec(ctx, sql, args...)
	}
	return tag, classify(ctx, err, false, writes(sql))
}

// Query runs sql, once more if sending it failed before it reached the
// server; errors met while reading the rows are classified too.
func (p pooled) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := p.pool.Query(ctx, sql, args...)
	if err != nil && beforeServer(ctx, err) {
		rows, err = p.pool.Query(ctx, sql, args...)
	}
	if err != nil {
		return nil, classify(ctx, err, false, writes(sql))
	}
	return classifiedRows{Rows: rows, ctx: ctx, written: writes(sql)}, nil
}

// QueryRow runs sql when the row is scanned (as pgx does), once more if
// the first try never reached the server.
func (p pooled) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return pooledRow{p: p, ctx: ctx, sql: sql, args: args}
}

// pooledRow is QueryRow's row.
type pooledRow struct {
	p    pooled
	ctx  context.Context
	sql  string
	args []any
}

func (r pooledRow) Scan(dest ...any) error {
	err := r.p.pool.QueryRow(r.ctx, r.sql, r.args...).Scan(dest...)
	if err != nil && beforeServer(r.ctx, err) {
		err = r.p.pool.QueryRow(r.ctx, r.sql, r.args...).Scan(dest...)
	}
	return classify(r.ctx, err, false, writes(r.sql))
}

// inTx runs statements in a transaction: never retried (the transaction
// is gone with its connection), never ErrCommitUnknown (nothing commits
// before COMMIT, see commitError).
type inTx struct {
	tx       pgx.Tx
	readOnly bool // the caller opened the transaction ReadOnly
}

func (t inTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.tx.Exec(ctx, sql, args...)
	return tag, classify(ctx, err, t.readOnly, false)
}

func (t inTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := t.tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, classify(ctx, err, t.readOnly, false)
	}
	return classifiedRows{Rows: rows, ctx: ctx, readOnly: t.readOnly}, nil
}

func (t inTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return txRow{row: t.tx.QueryRow(ctx, sql, args...), ctx: ctx, readOnly: t.readOnly}
}

// txRow is inTx.QueryRow's row.
type txRow struct {
	row      pgx.Row
	ctx      context.Context
	readOnly bool
}

func (r txRow) Scan(dest ...any) error {
	return classify(r.ctx, r.row.Scan(dest...), r.readOnly, false)
}

// classifiedRows classifies the errors of a result being read.
type classifiedRows struct {
	pgx.Rows
	ctx      context.Context
	readOnly bool
	written  bool
}

func (r classifiedRows) Err() error {
	return classify(r.ctx, r.Rows.Err(), r.readOnly, r.written)
}

func (r classifiedRows) Scan(dest ...any) error {
	return classify(r.ctx, r.Rows.Scan(dest...), r.readOnly, r.written)
}

// writes reports whether sql may change data: anything but a SELECT (the
// store's SELECTs, locking ones included, change nothing once their
// autocommit transaction ends).
func writes(sql string) bool {
	head := strings.TrimLeft(sql, " \t\n")
	return len(head) < 6 || !strings.EqualFold(head[:6], "SELECT")
}
