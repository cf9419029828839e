package memory

import (
	"iter"
	"slices"
)

// table is one committed relation: its rows by primary key and the indexes
// kept on them. A stored row is never modified: a write stores a new *R, so
// a row read under the data lock stays valid after the lock is released.
type table[R any] struct {
	rows    map[string]*R
	unique  []*uniqueIndex[R] // also in indexes; a transaction tracks the keys it writes
	indexes []index[R]
}

// index is a secondary index maintained on a table's committed rows.
type index[R any] interface {
	// update moves row id from old to new; old is nil for an insert, new
	// is nil for a delete.
	update(id string, old, new *R)
}

// group is an index that partitions rows by a key, so a filter on the key
// visits only the matching rows.
type group[R any] interface {
	// keyOf returns r's key; false when the index leaves r out.
	keyOf(r *R) (string, bool)
	// members yields the committed rows with key k.
	members(k string) iter.Seq2[string, *R]
	// count returns how many committed rows have key k.
	count(k string) int
}

// newTable returns an empty table maintaining the given indexes.
func newTable[R any](indexes ...index[R]) table[R] {
	t := table[R]{rows: make(map[string]*R), indexes: indexes}
	for _, ix := range indexes {
		if u, ok := ix.(*uniqueIndex[R]); ok {
			t.unique = append(t.unique, u)
		}
	}
	return t
}

// apply writes a committed transaction's overlay into the table. The order
// of the rows does not matter, even when rows swap a unique key, since a
// unique entry is only removed by the row it names.
func (t *table[R]) apply(o *tableOverlay[R]) {
	for id, r := range o.rows {
		old := t.rows[id]
		if old == nil && r == nil {
			continue
		}
		for _, ix := range t.indexes {
			ix.update(id, old, r)
		}
		if r == nil {
			delete(t.rows, id)
		} else {
			t.rows[id] = r
		}
	}
}

// uniqueIndex maps a unique key to the primary key of the committed row that
// has it. key reports false for rows the constraint does not cover (a
// partial unique index, e.g. inactive clusters).
type uniqueIndex[R any] struct {
	key func(*R) (string, bool)
	ids map[string]string
}

func newUnique[R any](key func(*R) (string, bool)) *uniqueIndex[R] {
	return &uniqueIndex[R]{key: key, ids: make(map[string]string)}
}

func (u *uniqueIndex[R]) update(id string, old, new *R) {
	if old != nil {
		if k, ok := u.key(old); ok && u.ids[k] == id {
			delete(u.ids, k)
		}
	}
	if new != nil {
		if k, ok := u.key(new); ok {
			u.ids[k] = id
		}
	}
}

// setIndex is a group kept as a set per key.
type setIndex[R any] struct {
	key  func(*R) (string, bool)
	rows map[string]map[string]*R
}

func newSet[R any](key func(*R) (string, bool)) *setIndex[R] {
	return &setIndex[R]{key: key, rows: make(map[string]map[string]*R)}
}

func (s *setIndex[R]) update(id string, old, new *R) {
	if old != nil {
		if k, ok := s.key(old); ok {
			delete(s.rows[k], id)
			if len(s.rows[k]) == 0 {
				delete(s.rows, k)
			}
		}
	}
	if new != nil {
		if k, ok := s.key(new); ok {
			m := s.rows[k]
			if m == nil {
				m = make(map[string]*R)
				s.rows[k] = m
			}
			m[id] = new
		}
	}
}

func (s *setIndex[R]) keyOf(r *R) (string, bool) { return s.key(r) }

func (s *setIndex[R]) members(k string) iter.Seq2[string, *R] {
	return func(yield func(string, *R) bool) {
		for id, r := range s.rows[k] {
			if !yield(id, r) {
				return
			}
		}
	}
}

func (s *setIndex[R]) count(k string) int { return len(s.rows[k]) }

// orderedIndex is a group kept sorted by cmp, a total order (rows of
// distinct primary keys never compare equal): a group's first row is at
// hand, and a listing in that order walks a group instead of sorting it.
// Rows mostly arrive in order (newest last), so most inserts append.
type orderedIndex[R any] struct {
	key    func(*R) (string, bool)
	cmp    func(a, b *R) int
	id     func(*R) string // the row's primary key
	groups map[string][]*R
}

func newOrdered[R any](key func(*R) (string, bool), cmp func(a, b *R) int, id func(*R) string) *orderedIndex[R] {
	return &orderedIndex[R]{key: key, cmp: cmp, id: id, groups: make(map[string][]*R)}
}

func (o *orderedIndex[R]) update(_ string, old, new *R) {
	var ko, kn string
	var inOld, inNew bool
	if old != nil {
		ko, inOld = o.key(old)
	}
	if new != nil {
		kn, inNew = o.key(new)
	}
	if inOld && inNew && ko == kn && o.cmp(old, new) == 0 {
		// Same group, same place: swap the row without moving the rest.
		if i, found := slices.BinarySearchFunc(o.groups[ko], old, o.cmp); found {
			o.groups[ko][i] = new
		}
		return
	}
	if inOld {
		g := o.groups[ko]
		if i, found := slices.BinarySearchFunc(g, old, o.cmp); found {
			g = slices.Delete(g, i, i+1)
		}
		if len(g) == 0 {
			delete(o.groups, ko)
		} else {
			o.groups[ko] = g
		}
	}
	if inNew {
		g := o.groups[kn]
		i, _ := slices.BinarySearchFunc(g, new, o.cmp)
		o.groups[kn] = slices.Insert(g, i, new)
	}
}

func (o *orderedIndex[R]) keyOf(r *R) (string, bool) { return o.key(r) }

func (o *orderedIndex[R]) members(k string) iter.Seq2[string, *R] {
	return func(yield func(string, *R) bool) {
		for _, r := range o.groups[k] {
			if !yield(o.id(r), r) {
				return
			}
		}
	}
}

func (o *orderedIndex[R]) count(k string) int { return len(o.groups[k]) }

// always adapts a key function that covers every row.
func always[R any](key func(*R) string) func(*R) (string, bool) {
	return func(r *R) (string, bool) { return key(r), true }
}
