package memory

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// window returns rows[offset:offset+limit] of rows in cmp order. It selects
// the first offset+limit rows with a bounded heap instead of sorting all of
// them, so a page of a large match set costs O(n log k). rows is reordered.
func window[T any](rows []T, cmp func(a, b T) int, offset, limit int) []T {
	k := offset + limit
	if offset >= len(rows) {
		return nil
	}
	if k >= len(rows)/2 {
		slices.SortFunc(rows, cmp)
		return rows[offset:min(k, len(rows))]
	}
	h := rows[:k] // a max-heap of the k smallest rows seen so far
	for i := k/2 - 1; i >= 0; i-- {
		siftDown(h, i, cmp)
	}
	for _, r := range rows[k:] {
		if cmp(r, h[0]) < 0 {
			h[0] = r
			siftDown(h, 0, cmp)
		}
	}
	slices.SortFunc(h, cmp)
	return h[offset:]
}

// siftDown restores the max-heap property of h below i.
func siftDown[T any](h []T, i int, cmp func(a, b T) int) {
	for {
		big, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && cmp(h[l], h[big]) > 0 {
			big = l
		}
		if r < len(h) && cmp(h[r], h[big]) > 0 {
			big = r
		}
		if big == i {
			return
		}
		h[i], h[big] = h[big], h[i]
		i = big
	}
}

// keyset returns the page after the rows already listed (rows holds only
// rows that sort after the cursor) and the cursor of the next page: one row
// more than limit is selected to know whether there is a next page.
func keyset[T any](rows []T, cmp func(a, b T) int, limit int, cursor func(last T) store.Cursor) ([]T, string) {
	page := window(rows, cmp, 0, limit+1)
	if len(page) <= limit {
		return page, ""
	}
	page = page[:limit]
	return page, store.EncodeCursor(cursor(page[limit-1]))
}

// byTimeID orders rows by (time, id), descending when desc.
func byTimeID(at, bt time.Time, aid, bid string, desc bool) int {
	c := at.Compare(bt)
	if c == 0 {
		c = strings.Compare(aid, bid)
	}
	if desc {
		return -c
	}
	return c
}

// byStringID orders rows by (key, id) in byte order, descending when desc.
func byStringID(ak, bk, aid, bid string, desc bool) int {
	c := cmp.Or(strings.Compare(ak, bk), strings.Compare(aid, bid))
	if desc {
		return -c
	}
	return c
}

// timeCursor decodes a time-sorted cursor into its time and ID; "" gives ok false.
func timeCursor(cursor, sort string, desc bool) (at time.Time, id string, ok bool, err error) {
	if cursor == "" {
		return time.Time{}, "", false, nil
	}
	c, err := store.DecodeCursor(cursor, sort, desc)
	if err != nil {
		return time.Time{}, "", false, err
	}
	at, err = store.ParseTimeKey(c.Key)
	return at, c.ID, err == nil, err
}
