package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ocpctl/ocpstore/store"
)

// row receives one row of a table: dests returns its scan destinations in
// the order of the table's column list, value converts what was scanned to
// the domain type. value converts in place and returns the row's own
// struct (no copy): a row is scanned once and then handed out.
type row[T any] interface {
	dests() []any
	value() T
}

// table ties a table's column list to its row type, so the SELECT list and
// the scan destinations are written next to each other and cannot drift
// (TestColumnsMatchDestinations checks their lengths).
type table[T any] struct {
	name    string
	columns []string
	newRow  func() row[T]
}

// scan scans one row. extra destinations come before the table's columns.
func (t table[T]) scan(r pgx.Row, extra ...any) (T, error) {
	rr := t.newRow()
	dests := rr.dests()
	if len(extra) > 0 {
		dests = append(extra, dests...)
	}
	if err := r.Scan(dests...); err != nil {
		var zero T
		return zero, err
	}
	return rr.value(), nil
}

// collect scans every row of rows and closes it.
func (t table[T]) collect(rows pgx.Rows) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		rr := t.newRow()
		if err := rows.Scan(rr.dests()...); err != nil {
			return nil, err
		}
		out = append(out, rr.value())
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// queryOne runs a statement returning at most one row of t.
func (t table[T]) queryOne(ctx context.Context, q querier, sql string, args ...any) (T, error) {
	return t.scan(q.QueryRow(ctx, sql, args...))
}

// one runs a fixed statement returning at most one row of t.
func (t table[T]) one(ctx context.Context, q querier, st statement, values pgx.NamedArgs) (T, error) {
	return t.queryOne(ctx, q, st.sql, st.args(values)...)
}

// all runs a fixed statement returning rows of t.
func (t table[T]) all(ctx context.Context, q querier, st statement, values pgx.NamedArgs) ([]T, error) {
	return t.queryAll(ctx, q, st.sql, st.args(values)...)
}

// queryAll runs a statement returning rows of t.
func (t table[T]) queryAll(ctx context.Context, q querier, sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return t.collect(rows)
}

// Conversions between the domain types and what pgx scans and encodes.

// dbTime is a time as the backend stores it: UTC, truncated to
// microseconds (PostgreSQL would round), so both backends agree.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// optTime is the argument for a nullable timestamp.
func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return dbTime(*t)
}

// inUTC converts a scanned nullable timestamp, which the row owns, to UTC
// in place.
func inUTC(t *time.Time) {
	if t != nil {
		*t = t.UTC()
	}
}

// jsonArg is the argument for a JSONB map column: a nil map is SQL NULL
// (pgx would encode it as the JSON value null), any other map its JSON
// object. Scanning NULL into a map gives nil, so nil round-trips.
func jsonArg(m map[string]string) any {
	if m == nil {
		return nil
	}
	return m
}

// timeArg is the argument for a TIME column.
func timeArg(t *store.TimeOfDay) any {
	if t == nil {
		return nil
	}
	return pgtype.Time{Microseconds: int64(time.Duration(*t) / time.Microsecond), Valid: true}
}

// timeOfDay converts a scanned TIME column.
func timeOfDay(t pgtype.Time) *store.TimeOfDay {
	if !t.Valid {
		return nil
	}
	d := store.TimeOfDay(time.Duration(t.Microseconds) * time.Microsecond)
	return &d
}

// workDaysArg is the argument for the SMALLINT work_days column.
func workDaysArg(w *store.WorkDays) any {
	if w == nil {
		return nil
	}
	return int16(*w)
}

// workDays converts a scanned work_days column.
func workDays(v *int16) *store.WorkDays {
	if v == nil {
		return nil
	}
	w := store.WorkDays(*v)
	return &w
}
