package store

import (
	"encoding/base64"
	"encoding/json"
	"time"
)

// Page sizes shared by every list method.
const (
	DefaultLimit = 50   // used when a filter's Limit is 0
	MaxLimit     = 1000 // a larger Limit is refused
)

// Page is one page of a keyset (cursor) listing.
type Page[T any] struct {
	Items []T
	// Next is the cursor for the following page, "" when this is the last.
	Next string
}

// Cursor is the decoded form of a keyset cursor: the sort it belongs to and
// the sort key and ID of the last row of the previous page. Callers treat
// cursors as opaque strings; backends use EncodeCursor and DecodeCursor.
type Cursor struct {
	Sort string `json:"s"`           // the sort column the cursor was made for
	Desc bool   `json:"d,omitempty"` // the direction it was made for
	Key  string `json:"k"`           // the last row's sort key (see TimeKey)
	ID   string `json:"i"`           // the last row's ID, the tie-breaker
}

// EncodeCursor returns c as an opaque, URL-safe string.
func EncodeCursor(c Cursor) string {
	b, _ := json.Marshal(c) // a struct of strings and a bool always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses a cursor made by EncodeCursor and checks that it was
// made for the given sort and direction. A malformed or mismatched cursor is
// ErrInvalidArgument for the field "cursor".
func DecodeCursor(s, sort string, desc bool) (Cursor, error) {
	var c Cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID == "" {
		return Cursor{}, invalid("cursor", "malformed cursor")
	}
	if c.Sort != sort || c.Desc != desc {
		return Cursor{}, invalid("cursor", "cursor was made for sort %q desc=%v, not %q desc=%v", c.Sort, c.Desc, sort, desc)
	}
	// A forged cursor's key and ID must still be what a column can hold
	// (a JSON \u0000 decodes to a NUL byte, which PostgreSQL refuses).
	var k checker
	k.text("cursor", c.ID, MaxIDLen)
	k.text("cursor", c.Key, MaxNameLen)
	if k.err != nil {
		return Cursor{}, k.err
	}
	return c, nil
}

// TimeKey is the cursor key for a time sort: Unix microseconds in decimal.
func TimeKey(t time.Time) string {
	b, _ := json.Marshal(t.UnixMicro())
	return string(b)
}

// ParseTimeKey parses a key made by TimeKey; a bad key, or one outside the
// years 1 to 9999 no stored time can lie beyond, is ErrInvalidArgument.
func ParseTimeKey(k string) (time.Time, error) {
	var us int64
	if err := json.Unmarshal([]byte(k), &us); err != nil {
		return time.Time{}, invalid("cursor", "malformed time key")
	}
	t := time.UnixMicro(us).UTC()
	if !inTimeRange(t) {
		return time.Time{}, invalid("cursor", "time key out of range")
	}
	return t, nil
}

// limitOf validates a page size and applies the default.
func limitOf(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, invalid("limit", "must not be negative")
	case limit > MaxLimit:
		return 0, invalid("limit", "must be at most %d", MaxLimit)
	case limit == 0:
		return DefaultLimit, nil
	}
	return limit, nil
}

// EffectiveLimit returns the page size a backend should use for limit: the
// default for 0. The validating layer has already refused bad values.
func EffectiveLimit(limit int) int {
	if limit == 0 {
		return DefaultLimit
	}
	return limit
}
