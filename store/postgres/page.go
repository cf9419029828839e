package postgres

import (
	"context"
	"fmt"
	"strconv"
	"sync"

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

// orderBy renders the ORDER BY list.
func (o order) orderBy() string {
	dir := " ASC"
	if o.desc {
		dir = " DESC"
	}
	return o.keyExpr + dir + ", id" + dir
}

// after returns the keyset condition selecting the rows that follow the
// cursor's row: a row-value comparison, which the (key, id) indexes serve
// and squirrel has no builder for, as an sq.Expr with its two values.
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

// filter is a listing's WHERE clause: one squirrel condition for each
// filter field that is set (sq.Eq{"team": v}, sq.GtOrEq, …), in a fixed
// order, with its value, and bits, one per field, saying which are set.
// The conditions' SQL depends only on bits, so each combination's
// statement is rendered once (see listSQL) and a call only gathers its
// values: the squirrel conditions are built on a cache miss, not per call.
type filter struct {
	bits  uint32
	conds []condition
	args  []any
}

// condition is one filter field: op applied to its column.
type condition struct {
	op  func(column string, v any) sq.Sqlizer
	col string
}

// The filter operators, squirrel's condition builders.
var (
	eq      = func(col string, v any) sq.Sqlizer { return sq.Eq{col: v} }
	atLeast = func(col string, v any) sq.Sqlizer { return sq.GtOrEq{col: v} }
	below   = func(col string, v any) sq.Sqlizer { return sq.Lt{col: v} }
)

// add sets the filter field numbered bit: op on column col, with value v.
func (f *filter) add(bit uint, op func(string, any) sq.Sqlizer, col string, v any) {
	f.bits |= 1 << bit
	f.conds = append(f.conds, condition{op: op, col: col})
	f.args = append(f.args, v)
}

// where returns the squirrel condition of the filter and of the keyset
// condition after, when not nil: sq.And of them, in order, or nil (no
// WHERE) when there are none.
func (f *filter) where(after sq.Sqlizer) sq.Sqlizer {
	and := make(sq.And, 0, len(f.conds)+1)
	for i, c := range f.conds {
		and = append(and, c.op(c.col, f.args[i]))
	}
	if after != nil {
		and = append(and, after)
	}
	if len(and) == 0 {
		return nil
	}
	return and
}

// listKind is which listing statement a listSQL entry is.
type listKind uint8

const (
	listTotal       listKind = iota + 1 // listWithTotal's
	listKeysetFirst                     // listAfter's without a cursor
	listKeysetAfter                     // listAfter's after a cursor
)

// listKey identifies a rendered listing statement: its shape.
type listKey struct {
	table string
	bits  uint32
	order order
	kind  listKind
}

// listParts is a rendered listing statement around its page size (and
// offset): head, the LIMIT, tail. The limit and offset stay literals, so
// the planner sees them; the values are $n parameters.
type listParts struct{ head, tail string }

// listSQL is the cache of rendered listing statements. It is bounded: one
// entry per table, combination of filter fields, order and kind.
var listSQL struct {
	sync.RWMutex
	m map[listKey]listParts
}

// cachedList returns the statement of k, rendering it with render (squirrel
// builders with ? placeholders, numbered $n here) the first time.
func cachedList(k listKey, render func() (listParts, error)) (listParts, error) {
	listSQL.RLock()
	p, ok := listSQL.m[k]
	listSQL.RUnlock()
	if ok {
		return p, nil
	}
	p, err := render()
	if err == nil {
		p.head, err = sq.Dollar.ReplacePlaceholders(p.head)
	}
	if err != nil {
		return listParts{}, fmt.Errorf("render listing: %w", err)
	}
	listSQL.Lock()
	defer listSQL.Unlock()
	if listSQL.m == nil {
		listSQL.m = make(map[listKey]listParts)
	}
	listSQL.m[k] = p
	return p, nil
}

// toSQL renders a squirrel builder with ? placeholders.
func toSQL(b sq.Sqlizer) (string, error) {
	s, _, err := b.ToSql()
	return s, err
}

// listWithTotal returns one offset page of t's rows matching w, in order
// o, and the number of all matching rows. Both come from one statement,
// hence one snapshot, even outside a transaction:
//
//	SELECT t.total, p.* FROM (SELECT count(*) AS total FROM … WHERE …) AS t
//	LEFT JOIN LATERAL (SELECT … WHERE … ORDER BY … LIMIT … OFFSET …) AS p ON true
//
// A page past the end still yields one row, holding the total and NULLs.
func listWithTotal[T any](ctx context.Context, c conn, t table[T], w filter, o order, limit, offset int) ([]T, int, error) {
	p, err := cachedList(listKey{table: t.name, bits: w.bits, order: o, kind: listTotal}, func() (listParts, error) {
		count, err := toSQL(sq.Select("count(*) AS total").From(t.name).Where(w.where(nil)))
		if err != nil {
			return listParts{}, err
		}
		page, err := toSQL(sq.Select(t.columns...).From(t.name).Where(w.where(nil)).OrderBy(o.orderBy()))
		return listParts{head: "SELECT t.total, p.* FROM (" + count + ") AS t LEFT JOIN LATERAL (" + page + " LIMIT ",
			tail: ") AS p ON true"}, err
	})
	if err != nil {
		return nil, 0, err
	}
	args := make([]any, 0, 2*len(w.args))
	args = append(append(args, w.args...), w.args...)
	sql := p.head + strconv.Itoa(limit) + " OFFSET " + strconv.Itoa(offset) + p.tail
	rows, err := c.q.Query(ctx, sql, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var total int64
	items := make([]T, 0, limit)
	dests := make([]any, 0, 1+len(t.columns))
	for rows.Next() {
		if rows.RawValues()[1] == nil { // the page is empty: scan the total only
			dests = append(dests[:0], &total)
			for range t.columns {
				dests = append(dests, nil)
			}
			if err := rows.Scan(dests...); err != nil {
				return nil, 0, err
			}
			continue
		}
		rr := t.newRow()
		if err := rows.Scan(append(append(dests[:0], &total), rr.dests()...)...); err != nil {
			return nil, 0, err
		}
		items = append(items, rr.value())
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	return items, int(total), nil
}

// listAfter returns the keyset page of t's rows matching w that follows
// cursor ("" for the first page) in order o. It fetches one row more than
// limit to know whether a next page exists; Next is the cursor of the
// page's last row. cursorKey returns an item's sort key and ID.
func listAfter[T any](ctx context.Context, c conn, t table[T], w filter, o order, cursor string, limit int,
	cursorKey func(T) (key, id string)) (store.Page[T], error) {
	k := listKey{table: t.name, bits: w.bits, order: o, kind: listKeysetFirst}
	args := w.args
	var after sq.Sqlizer
	if cursor != "" {
		cur, err := store.DecodeCursor(cursor, o.sort, o.desc)
		if err != nil {
			return store.Page[T]{}, err
		}
		if after, err = o.after(cur); err != nil {
			return store.Page[T]{}, err
		}
		k.kind = listKeysetAfter
		_, afterArgs, _ := after.ToSql()
		args = append(args[:len(args):len(args)], afterArgs...)
	}
	p, err := cachedList(k, func() (listParts, error) {
		head, err := toSQL(sq.Select(t.columns...).From(t.name).Where(w.where(after)).OrderBy(o.orderBy()))
		return listParts{head: head + " LIMIT "}, err
	})
	if err != nil {
		return store.Page[T]{}, err
	}
	items, err := t.queryAll(ctx, c.q, p.head+strconv.Itoa(limit+1), args...)
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
