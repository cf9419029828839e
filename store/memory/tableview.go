package memory

import "iter"

// tableOverlay is one transaction's uncommitted writes to a table: a new row
// per written primary key (nil: deleted), and for each unique index the keys
// the transaction wrote, so its own constraint checks see its own rows
// without scanning the overlay. Maps are allocated on first write.
type tableOverlay[R any] struct {
	rows map[string]*R
	uniq map[*uniqueIndex[R]]map[string]string
}

// tableView is a table as one caller sees it: the committed rows under the
// caller's overlay (none for a read outside a transaction).
type tableView[R any] struct {
	t *table[R]
	o *tableOverlay[R] // nil: read-only view of committed data
}

// written reports whether the caller's overlay holds a version of row id.
func (v tableView[R]) written(id string) bool {
	if v.o == nil {
		return false
	}
	_, ok := v.o.rows[id]
	return ok
}

// clean reports whether the caller has written nothing to the table, so
// the committed rows and indexes are exactly what it sees.
func (v tableView[R]) clean() bool { return v.o == nil || len(v.o.rows) == 0 }

// get returns the row with primary key id, or nil.
func (v tableView[R]) get(id string) *R {
	if v.o != nil {
		if r, ok := v.o.rows[id]; ok {
			return r
		}
	}
	return v.t.rows[id]
}

// put stores r under id in the overlay.
func (v tableView[R]) put(id string, r *R) {
	if v.o.rows == nil {
		v.o.rows = make(map[string]*R)
	}
	v.o.rows[id] = r
	for _, u := range v.t.unique {
		k, ok := u.key(r)
		if !ok {
			continue
		}
		if v.o.uniq == nil {
			v.o.uniq = make(map[*uniqueIndex[R]]map[string]string)
		}
		m := v.o.uniq[u]
		if m == nil {
			m = make(map[string]string)
			v.o.uniq[u] = m
		}
		m[k] = id
	}
}

// del deletes the row with primary key id in the overlay.
func (v tableView[R]) del(id string) {
	if v.o.rows == nil {
		v.o.rows = make(map[string]*R)
	}
	v.o.rows[id] = nil
}

// lookup returns the row holding unique key k of index u, and its primary
// key, or nil. Index entries are only hints: the row found must still have
// the key, since the overlay may have changed it.
func (v tableView[R]) lookup(u *uniqueIndex[R], k string) (string, *R) {
	holds := func(id string) *R {
		r := v.get(id)
		if r == nil {
			return nil
		}
		if rk, ok := u.key(r); ok && rk == k {
			return r
		}
		return nil
	}
	if v.o != nil {
		if id, ok := v.o.uniq[u][k]; ok {
			if r := holds(id); r != nil {
				return id, r
			}
		}
	}
	if id, ok := u.ids[k]; ok {
		if r := holds(id); r != nil {
			return id, r
		}
	}
	return "", nil
}

// all yields every row.
func (v tableView[R]) all() iter.Seq2[string, *R] {
	return func(yield func(string, *R) bool) {
		for id, r := range v.t.rows {
			if !v.written(id) && !yield(id, r) {
				return
			}
		}
		v.overlayRows(func(*R) bool { return true })(yield)
	}
}

// in yields the rows whose key in group index g is k.
func (v tableView[R]) in(g group[R], k string) iter.Seq2[string, *R] {
	return func(yield func(string, *R) bool) {
		for id, r := range g.members(k) {
			if !v.written(id) && !yield(id, r) {
				return
			}
		}
		v.overlayRows(func(r *R) bool {
			rk, ok := g.keyOf(r)
			return ok && rk == k
		})(yield)
	}
}

// overlayRows yields the overlay's live rows that match.
func (v tableView[R]) overlayRows(match func(*R) bool) iter.Seq2[string, *R] {
	return func(yield func(string, *R) bool) {
		if v.o == nil {
			return
		}
		for id, r := range v.o.rows {
			if r != nil && match(r) && !yield(id, r) {
				return
			}
		}
	}
}

// heads yields, for every group of ordered index x, its key and first row
// as the caller sees them: the first committed row the overlay left alone,
// or an overlay row of the group that sorts before it. It visits each
// group once, plus the overlay once.
func (v tableView[R]) heads(x *orderedIndex[R]) iter.Seq2[string, *R] {
	return func(yield func(string, *R) bool) {
		ov := make(map[string]*R) // the overlay's first row of each group
		for _, r := range v.overlayRows(func(*R) bool { return true }) {
			if k, ok := x.key(r); ok {
				if h := ov[k]; h == nil || x.cmp(r, h) < 0 {
					ov[k] = r
				}
			}
		}
		for k, g := range x.groups {
			h := ov[k]
			delete(ov, k)
			for _, r := range g {
				if v.written(x.id(r)) {
					continue // its version, if still in the group, is in ov
				}
				if h == nil || x.cmp(r, h) < 0 {
					h = r
				}
				break
			}
			if h != nil && !yield(k, h) {
				return
			}
		}
		for k, h := range ov {
			if !yield(k, h) {
				return
			}
		}
	}
}
