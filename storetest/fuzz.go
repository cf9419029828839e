package storetest

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ocpctl/ocpstore/store"
)

// FuzzFactory returns a Store on fresh, empty data for one fuzz target,
// using clock for every timestamp. It registers its own cleanup with tb
// and skips tb when the backend is unavailable. A fuzz target builds one
// Store and runs every input against it, so the targets keep a model of
// what they wrote.
type FuzzFactory func(tb testing.TB, clock store.Clock) *store.Store

// The fuzz targets share these rules, written out independently of the
// validating layer: a target computes whether the store must accept its
// input and then checks that it did, or that it refused it with
// ErrInvalidArgument. They restate the godoc and check.go's limits.

// fuzzText reports whether v may be stored in a column of max bytes.
func fuzzText(v string, max int) bool {
	return utf8.ValidString(v) && !strings.ContainsRune(v, 0) && len(v) <= max
}

// fuzzRequired is fuzzText for a value that must not be blank.
func fuzzRequired(v string, max int) bool { return strings.TrimSpace(v) != "" && fuzzText(v, max) }

// fuzzOptional is fuzzText for a nullable value.
func fuzzOptional(v *string, max int) bool { return v == nil || fuzzText(*v, max) }

// fuzzUUID reports whether v is a UUID in canonical 8-4-4-4-12 lower-case
// hex form (upper case is refused: it would not come back as given).
func fuzzUUID(v *string) bool {
	if v == nil {
		return true
	}
	if len(*v) != 36 {
		return false
	}
	for i, r := range *v {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if r != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// fuzzInstant reports whether t lies within years 1 to 9999 UTC.
func fuzzInstant(t *time.Time) bool {
	return t == nil || !t.Before(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)) &&
		t.Before(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
}

// fuzzPage reports whether limit and offset are a valid page.
func fuzzPage(limit, offset int) bool {
	return limit >= 0 && limit <= store.MaxLimit && offset >= 0 && offset <= math.MaxInt32
}

// fuzzEnum reports whether an optional enum filter is nil or valid.
func fuzzEnum[E interface{ Valid() bool }](e *E) bool { return e == nil || (*e).Valid() }

// requireOutcome fails t unless err is nil when valid, and otherwise
// ErrInvalidArgument holding a *store.ValidationError that names a field.
// Any other error, in either case, fails t.
func requireOutcome(t *testing.T, valid bool, err error, what string) {
	t.Helper()
	if valid {
		if err != nil {
			t.Fatalf("%s: valid input refused: %v", what, err)
		}
		return
	}
	var ve *store.ValidationError
	if !errors.Is(err, store.ErrInvalidArgument) || !errors.As(err, &ve) || ve.Field == "" {
		t.Fatalf("%s: invalid input: got %v, want ErrInvalidArgument naming a field", what, err)
	}
}

// optIf returns &v when set, else nil.
func optIf[T any](set bool, v T) *T {
	if !set {
		return nil
	}
	return &v
}

// bit reports whether bit i of mask is set.
func bit(mask uint32, i int) bool { return mask&(1<<i) != 0 }
