package postgres

import (
	"context"
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
	q querier
	// pool is set when q is the pool (autocommit) and nil when q is a
	// transaction: an operation that needs several statements runs them
	// in a transaction of its own only in the first case.
	pool  beginner
	clock store.Clock
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
// when fn returns nil and rolls back otherwise.
func (c conn) atomically(ctx context.Context, fn func(q querier) error) error {
	if c.pool == nil {
		return fn(c.q)
	}
	tx, err := c.pool.BeginTx(ctx, txOptions(store.TxOptions{}))
	if err != nil {
		return mapError(ctx, err, "begin")
	}
	committing := false
	defer func() {
		if !committing { // fn failed or panicked; a failed Commit has closed tx already
			_ = tx.Rollback(context.WithoutCancel(ctx)) // the error to report is fn's
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committing = true
	return commitError(ctx, tx.Commit(ctx))
}
