package postgres

import (
	"context"

	sq "github.com/Masterminds/squirrel"

	"github.com/ocpctl/ocpstore/store"
)

// order is a listing's total order: a sort key, then id, both ascending
// or both descending.
type order struct {
	sort    string // the sort's name, as recorded in cursors
	desc    bool
	keyExpr string // the sort key's SQL expression, e.g. `name COLLATE "C"`
	timeKey bool   // the key is a timestamp (cursor key store.TimeKey)
}

// orderBy renders the ORDER BY terms.
func (o order) orderBy() []string {
	dir := " ASC"
	if o.desc {
		dir = " DESC"
	}
	return []string{o.keyExpr + dir, "id" + dir}
}

// after returns the keyset condition selecting the rows that follow the
// cursor's row: a row-value comparison, which the (key, id) indexes serve.
func (o order) after(c store.Cursor) (sq.Sqlizer, error) {
	var key any = c.Key
	if o.timeKey {
		t, err := store.ParseTimeKey(c.Key)
		if err != nil {
			return nil, err
		}
		key = t
	}
	op := ">"
	if o.desc {
		op = "<"
	}
	return sq.Expr("("+o.keyExpr+", id) "+op+" (?, ?)", key, c.ID), nil
}

// where adds each condition to b.
func where(b sq.SelectBuilder, conds []sq.Sqlizer) sq.SelectBuilder {
	for _, c := range conds {
		b = b.Where(c)
	}
	return b
}

// listWithTotal returns one offset page of t's rows matching conds, in
// order o, and the number of all matching rows. Both come from one
// statement, hence one snapshot, even outside a transaction:
//
//	SELECT t.total, p.* FROM (SELECT count(*) …) AS t
//	LEFT JOIN LATERAL (SELECT … ORDER BY … LIMIT … OFFSET …) AS p ON true
//
// A page past the end still yields one row, holding the total and NULLs.
func listWithTotal[T any](ctx context.Context, c conn, t table[T], conds []sq.Sqlizer, o order, limit, offset int) ([]T, int, error) {
	count := where(psql.Select("count(*) AS total").From(t.name), conds)
	page := where(psql.Select(t.columns...).From(t.name), conds).
		OrderBy(o.orderBy()...).Limit(uint64(limit)).Offset(uint64(offset))
	sqlStr, args, err := psql.Select("t.total", "p.*").FromSelect(count, "t").
		JoinClause(page.Prefix("LEFT JOIN LATERAL (").Suffix(") AS p ON true")).ToSql()
	if err != nil {
		return nil, 0, err
	}
	rows, err := c.q.Query(ctx, sqlStr, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var total int64
	items := []T{}
	for rows.Next() {
		if rows.RawValues()[1] == nil { // the page is empty: scan the total only
			dests := make([]any, len(rows.FieldDescriptions()))
			dests[0] = &total
			if err := rows.Scan(dests...); err != nil {
				return nil, 0, err
			}
			continue
		}
		item, err := t.scan(rows, &total)
		if err != nil {
			return nil, 0, err
		}
		items = append(items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	return items, int(total), nil
}

// listAfter returns the keyset page of t's rows matching conds that
// follows cursor ("" for the first page) in order o. It fetches one row
// more than limit to know whether a next page exists; Next is the cursor
// of the page's last row. cursorKey returns an item's sort key and ID.
func listAfter[T any](ctx context.Context, c conn, t table[T], conds []sq.Sqlizer, o order, cursor string, limit int,
	cursorKey func(T) (key, id string)) (store.Page[T], error) {
	if cursor != "" {
		cur, err := store.DecodeCursor(cursor, o.sort, o.desc)
		if err != nil {
			return store.Page[T]{}, err
		}
		after, err := o.after(cur)
		if err != nil {
			return store.Page[T]{}, err
		}
		conds = append(conds[:len(conds):len(conds)], after)
	}
	sqlStr, args, err := where(psql.Select(t.columns...).From(t.name), conds).
		OrderBy(o.orderBy()...).Limit(uint64(limit) + 1).ToSql()
	if err != nil {
		return store.Page[T]{}, err
	}
	items, err := t.queryAll(ctx, c.q, sqlStr, args...)
	if err != nil {
		return store.Page[T]{}, err
	}
	page := store.Page[T]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		key, id := cursorKey(items[limit-1])
		page.Next = store.EncodeCursor(store.Cursor{Sort: o.sort, Desc: o.desc, Key: key, ID: id})
	}
	return page, nil
}
