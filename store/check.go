package store

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Column sizes. Strings longer than their column are refused, not truncated.
const (
	MaxNameLen      = 255 // cluster name and the other VARCHAR(255) columns
	MaxErrorCodeLen = 100
	MaxHashLen      = 64  // idempotency request hash
	MaxARNLen       = 512 // IAM principal ARN, audit actor, RBAC created_by
	MaxActionLen    = 100 // audit action
	MaxTextLen      = 1 << 20
	// MaxCost bounds UsageSample.EstimatedHourlyCost (ocpctl's NUMERIC(10,4)
	// range). Within it every float64 is stored exactly: the column is an
	// unconstrained NUMERIC holding the value's shortest decimal form.
	MaxCost = 999999.9999
)

// TimeResolution is the precision of every time and duration the store
// keeps: a microsecond, as PostgreSQL's timestamptz and interval. Times are
// truncated to it (both backends alike); a positive duration shorter than
// it (a TTL of 999 ns, a Duration(30) meant as seconds) would be stored as
// zero, so it is refused.
const TimeResolution = time.Microsecond

// checker collects the first validation error of a struct.
type checker struct{ err error }

func (c *checker) fail(field, format string, args ...any) {
	if c.err == nil {
		c.err = invalid(field, format, args...)
	}
}

// text checks what every stored string must satisfy: valid UTF-8, no NUL
// byte (PostgreSQL text cannot hold one), at most max bytes.
func (c *checker) text(field, v string, max int) {
	switch {
	case !utf8.ValidString(v):
		c.fail(field, "not valid UTF-8")
	case strings.IndexByte(v, 0) >= 0:
		c.fail(field, "contains a NUL byte")
	case len(v) > max:
		c.fail(field, "longer than %d bytes", max)
	}
}

// required is text that must not be empty or blank.
func (c *checker) required(field, v string, max int) {
	if strings.TrimSpace(v) == "" {
		c.fail(field, "must not be empty")
		return
	}
	c.text(field, v, max)
}

func (c *checker) optional(field string, v *string, max int) {
	if v != nil {
		c.text(field, *v, max)
	}
}

func (c *checker) id(field, v string) { c.required(field, v, MaxIDLen) }

// optionalID is an ID that may be empty (Create assigns one).
func (c *checker) optionalID(field, v string) {
	if v != "" {
		c.id(field, v)
	}
}

// uuid checks an optional UUID. Only the canonical lower-case form is
// accepted: the database would store an upper-case UUID in lower case, and
// return it so, and a filter would match either case there but not in
// memory. Refusing it keeps every UUID exactly as given.
func (c *checker) uuid(field string, v *string) {
	if v != nil && !isUUID(*v) {
		c.fail(field, "not a UUID in canonical lower-case form (8-4-4-4-12 hex digits)")
	}
}

// tags checks a map of tags. The field names of a bad entry are built only
// when there is one: tags are on hot paths (audit metadata).
func (c *checker) tags(field string, m map[string]string) {
	for k, v := range m {
		if strings.TrimSpace(k) == "" || !validText(k, MaxNameLen) {
			c.required(field+" key", k, MaxNameLen)
		}
		if !validText(v, MaxTextLen) {
			c.text(field+"["+k+"]", v, MaxTextLen)
		}
	}
}

// validID reports whether id would accept v.
func validID(v string) bool { return strings.TrimSpace(v) != "" && validText(v, MaxIDLen) }

// validText reports whether text would accept v.
func validText(v string, max int) bool {
	return len(v) <= max && strings.IndexByte(v, 0) < 0 && utf8.ValidString(v)
}

// ttl checks a lifetime (a lock's, an idempotency key's): at least
// TimeResolution.
func (c *checker) ttl(field string, d time.Duration) {
	if d < TimeResolution {
		c.fail(field, "must be at least %v: the store keeps time to the microsecond", TimeResolution)
	}
}

// delay checks a wait that may be zero (a retry's): zero, or at least
// TimeResolution.
func (c *checker) delay(field string, d time.Duration) {
	switch {
	case d < 0:
		c.fail(field, "must not be negative")
	case d > 0 && d < TimeResolution:
		c.fail(field, "must be 0 or at least %v: the store keeps time to the microsecond", TimeResolution)
	}
}

func (c *checker) nonNegative(field string, n int) {
	if n < 0 {
		c.fail(field, "must not be negative")
	}
}

// The instants the store accepts: years 1 to 9999, in UTC. Every backend
// stores them exactly; PostgreSQL's timestamptz reaches further, but the
// driver's binary encoding overflows past about 292,000 years from 2000 and
// would silently store another instant.
var (
	minTime = time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, time.December, 31, 23, 59, 59, 999999999, time.UTC)
)

// inTimeRange reports whether t lies within years 1 to 9999, in UTC.
func inTimeRange(t time.Time) bool { return !t.Before(minTime) && !t.After(maxTime) }

// time checks a required instant: set, and within years 1 to 9999.
func (c *checker) time(field string, t time.Time) {
	if t.IsZero() {
		c.fail(field, "must be set")
		return
	}
	c.optionalTime(field, &t)
}

// optionalTime checks an instant that may be nil: within years 1 to 9999.
func (c *checker) optionalTime(field string, t *time.Time) {
	if t != nil && !inTimeRange(*t) {
		c.fail(field, "must lie within years 1 to 9999 UTC")
	}
}

func (c *checker) limit(n int) {
	if _, err := limitOf(n); err != nil && c.err == nil {
		c.err = err
	}
}

func (c *checker) page(limit, offset int) {
	c.limit(limit)
	c.nonNegative("offset", offset)
	if offset > math.MaxInt32 {
		c.fail("offset", "too large")
	}
}

// enum checks a required enum value.
func (c *checker) enum(field string, valid bool, v string) {
	if !valid {
		c.fail(field, "unknown value %q", v)
	}
}

// isUUID reports whether s is a UUID in canonical 8-4-4-4-12 lower-case
// hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if s[i] != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdef", rune(s[i])):
			return false
		}
	}
	return true
}

// validateSamples checks RecordBatch's input: 1 to MaxBatch valid
// samples, no cluster and sample time twice.
func validateSamples(samples []*UsageSample) error {
	if len(samples) == 0 || len(samples) > MaxBatch {
		return invalid("samples", "must hold 1 to %d samples", MaxBatch)
	}
	type key struct {
		cluster string
		at      int64
	}
	seen := make(map[key]bool, len(samples))
	for i, s := range samples {
		if err := s.validate(); err != nil {
			return fmt.Errorf("samples[%d]: %w", i, err)
		}
		k := key{s.ClusterID, s.SampleTime.UnixMicro()}
		if seen[k] {
			return invalid(fmt.Sprintf("samples[%d]", i), "repeats cluster %s at %s", s.ClusterID, s.SampleTime)
		}
		seen[k] = true
	}
	return nil
}

func checkID(field, id string) error {
	var k checker
	k.id(field, id)
	return k.err
}

func checkLimit(limit int) error {
	if limit < 1 || limit > MaxLimit {
		return invalid("limit", "must be between 1 and %d", MaxLimit)
	}
	return nil
}

// orDefault returns s, or def when s is empty.
func orDefault[S ~string](s, def S) S {
	if s == "" {
		return def
	}
	return s
}

// checkAfter checks a keyset listing's offset (none) and cursor, which
// must be "" or one made for the listing's sort, with a key that is a
// time in range when the sort is by a time (every sort but a cluster's
// by name).
func checkAfter(offset int, cursor, sort string, desc bool) error {
	if offset != 0 {
		return invalid("filters.offset", "must be 0 with a cursor")
	}
	if cursor == "" {
		return nil
	}
	c, err := DecodeCursor(cursor, sort, desc)
	if err != nil || sort == string(ClusterByName) {
		return err
	}
	_, err = ParseTimeKey(c.Key)
	return err
}
