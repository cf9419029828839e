package postgres

import (
	"context"
	"strconv"
	"strings"
	"sync"

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
// cursor's row, a row-value comparison, which the (key, id) indexes serve,
// and its two arguments.
func (o order) after(c store.Cursor) (cond string, key, id any, err error) {
	key = c.Key
	if o.timeKey {
		t, err := store.ParseTimeKey(c.Key)
		if err != nil {
			return "", nil, nil, err
		}
		key = t
	}
	op := ">"
	if o.desc {
		op = "<"
	}
	return "(" + o.keyExpr + ", id) " + op + " (?, ?)", key, c.ID, nil
}

// filter is a listing's WHERE clause: a condition with one argument for
// each filter field that is set ("team = ?"), in a fixed order, and bits,
// one per field, saying which are. The conditions are constants, so bits
// determines the SQL text: each combination's statement is rendered once
// (see listSQL) and a call only assembles arguments.
type filter struct {
	bits  uint32
	conds []string
	args  []any
}

// add appends the condition of the field numbered bit, with its argument.
func (f *filter) add(bit uint, cond string, arg any) {
	f.bits |= 1 << bit
	f.conds = append(f.conds, cond)
	f.args = append(f.args, arg)
}

// where renders " WHERE c1 AND c2 …", or "" without conditions.
func where(conds ...string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// listKind is which listing statement a listSQL entry is.
type listKind uint8

const (
	listTotal       listKind = iota + 1 // listWithTotal's
	listKeysetFirst                     // listAfter's without a cursor
	listKeysetAfter                     // listAfter's after a cursor
)

// listKey identifies a rendered listing statement.
type listKey struct {
	table string
	bits  uint32
	order order
	kind  listKind
}

// listParts is a rendered listing statement around its page size (and
// offset): head, the LIMIT, tail. The limit and offset stay literals, as
// squirrel rendered them, so the planner sees them; the arguments are $n
// placeholders.
type listParts struct{ head, tail string }

// listSQL is the cache of rendered listing statements. It is bounded: one
// entry per table, combination of filter fields, order and kind.
var listSQL struct {
	sync.RWMutex
	m map[listKey]listParts
}

// cachedList returns the statement of k, rendering it with render (with ?
// placeholders) the first time.
func cachedList(k listKey, render func() listParts) listParts {
	listSQL.RLock()
	p, ok := listSQL.m[k]
	listSQL.RUnlock()
	if ok {
		return p
	}
	p = render()
	p.head = dollars(p.head)
	listSQL.Lock()
	defer listSQL.Unlock()
	if listSQL.m == nil {
		listSQL.m = make(map[listKey]listParts)
	}
	listSQL.m[k] = p
	return p
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
	p := cachedList(listKey{table: t.name, bits: w.bits, order: o, kind: listTotal}, func() listParts {
		cond := where(w.conds...)
		return listParts{
			head: "SELECT t.total, p.* FROM (SELECT count(*) AS total FROM " + t.name + cond + ") AS t" +
				" LEFT JOIN LATERAL (SELECT " + joinColumns(t.columns) + " FROM " + t.name + cond +
				" ORDER BY " + o.orderBy() + " LIMIT ",
			tail: ") AS p ON true",
		}
	})
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
	conds, args := w.conds, w.args
	if cursor != "" {
		cur, err := store.DecodeCursor(cursor, o.sort, o.desc)
		if err != nil {
			return store.Page[T]{}, err
		}
		after, key, id, err := o.after(cur)
		if err != nil {
			return store.Page[T]{}, err
		}
		k.kind = listKeysetAfter
		conds = append(conds[:len(conds):len(conds)], after)
		args = append(args[:len(args):len(args)], key, id)
	}
	p := cachedList(k, func() listParts {
		return listParts{head: "SELECT " + joinColumns(t.columns) + " FROM " + t.name + where(conds...) +
			" ORDER BY " + o.orderBy() + " LIMIT "}
	})
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
