package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// requireNoErr fails the test now when err is not nil.
func requireNoErr(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// requireErrIs fails the test now unless err matches target.
func requireErrIs(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one matching %q", what, err, target)
	}
}

// requireInvalid fails the test unless err is ErrInvalidArgument and its
// *store.ValidationError names field.
func requireInvalid(t *testing.T, err error, field string) {
	t.Helper()
	if !errors.Is(err, store.ErrInvalidArgument) {
		t.Fatalf("got error %v, want ErrInvalidArgument for field %q", err, field)
	}
	var ve *store.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v matches ErrInvalidArgument but holds no *store.ValidationError", err)
	}
	if ve.Field != field {
		t.Fatalf("validation error names field %q (%v), want %q", ve.Field, err, field)
	}
}

// requireTransition fails the test unless err is ErrInvalidStateTransition
// holding a *store.TransitionError for the entity and ID, from and to. An
// empty to is not checked.
func requireTransition(t *testing.T, err error, entity, id, from, to string) {
	t.Helper()
	if !errors.Is(err, store.ErrInvalidStateTransition) {
		t.Fatalf("got error %v, want ErrInvalidStateTransition (%s %s: %s -> %s)", err, entity, id, from, to)
	}
	var te *store.TransitionError
	if !errors.As(err, &te) {
		t.Fatalf("error %v matches ErrInvalidStateTransition but holds no *store.TransitionError", err)
	}
	if te.Entity != entity || te.ID != id || te.From != from || (to != "" && te.To != to) {
		t.Fatalf("transition error = %+v, want entity %q id %q from %q to %q", *te, entity, id, from, to)
	}
}

// requireEqual fails the test now when got differs from want (see diff).
func requireEqual(t *testing.T, want, got any, what string) {
	t.Helper()
	if d := diff(want, got); d != "" {
		t.Fatalf("%s differs (want -> got):\n%s", what, d)
	}
}

// requireTime fails the test now unless got is the instant want, in UTC.
func requireTime(t *testing.T, want, got time.Time, what string) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
	if got.Location() != time.UTC {
		t.Fatalf("%s = %v is not in UTC", what, got)
	}
}

// requireTimePtr is requireTime for a nullable time that must be set.
func requireTimePtr(t *testing.T, want time.Time, got *time.Time, what string) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s is nil, want %v", what, want)
	}
	requireTime(t, want, *got, what)
}

// approx reports whether two money or hour amounts agree within rounding.
func approx(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// diff reports how got differs from want, one line per difference, or ""
// when they are equal. Times are compared with time.Equal (instants, not
// locations), nil and empty maps or slices are equal, pointers are
// compared by what they point to.
func diff(want, got any) string {
	var out []string
	diffValues("", reflect.ValueOf(want), reflect.ValueOf(got), &out)
	return strings.Join(out, "\n")
}

var timeType = reflect.TypeFor[time.Time]()

func diffValues(path string, w, g reflect.Value, out *[]string) {
	add := func() { *out = append(*out, fmt.Sprintf("%s: %s -> %s", path, show(w), show(g))) }
	if !w.IsValid() || !g.IsValid() {
		if w.IsValid() != g.IsValid() {
			add()
		}
		return
	}
	if w.Type() != g.Type() {
		*out = append(*out, fmt.Sprintf("%s: type %s -> %s", path, w.Type(), g.Type()))
		return
	}
	if w.Type() == timeType {
		if !w.Interface().(time.Time).Equal(g.Interface().(time.Time)) {
			add()
		}
		return
	}
	switch w.Kind() {
	case reflect.Pointer, reflect.Interface:
		if w.IsNil() || g.IsNil() {
			if w.IsNil() != g.IsNil() {
				add()
			}
			return
		}
		diffValues(path, w.Elem(), g.Elem(), out)
	case reflect.Struct:
		if hasUnexported(w.Type()) {
			if !w.Equal(g) {
				add()
			}
			return
		}
		for i := range w.NumField() {
			diffValues(path+"."+w.Type().Field(i).Name, w.Field(i), g.Field(i), out)
		}
	case reflect.Map:
		if w.Len() != g.Len() {
			add()
			return
		}
		for _, k := range w.MapKeys() {
			gv := g.MapIndex(k)
			if !gv.IsValid() {
				add()
				return
			}
			diffValues(fmt.Sprintf("%s[%v]", path, k), w.MapIndex(k), gv, out)
		}
	case reflect.Slice:
		if w.Type().Elem().Kind() == reflect.Uint8 {
			if !bytes.Equal(w.Bytes(), g.Bytes()) {
				add()
			}
			return
		}
		if w.Len() != g.Len() {
			add()
			return
		}
		for i := range w.Len() {
			diffValues(fmt.Sprintf("%s[%d]", path, i), w.Index(i), g.Index(i), out)
		}
	default:
		if !w.Equal(g) {
			add()
		}
	}
}

func hasUnexported(t reflect.Type) bool {
	for i := range t.NumField() {
		if !t.Field(i).IsExported() {
			return true
		}
	}
	return false
}

// show formats a value for a diff line.
func show(v reflect.Value) string {
	if !v.IsValid() {
		return "<invalid>"
	}
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && !v.IsNil() {
		return "&" + show(v.Elem())
	}
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
		return fmt.Sprintf("%q", v.Bytes())
	}
	return fmt.Sprintf("%+v", v.Interface())
}

// checkTimes fails the test unless every time in v (a struct or a pointer
// to one, walked through pointers, slices and fields) is in UTC with
// microsecond precision, as the contract says backends return times.
func checkTimes(t *testing.T, v any, what string) {
	t.Helper()
	var bad []string
	walkTimes("", reflect.ValueOf(v), func(path string, tm time.Time) {
		if tm.Location() != time.UTC || tm.Nanosecond()%1000 != 0 {
			bad = append(bad, fmt.Sprintf("%s = %v", path, tm))
		}
	})
	if len(bad) > 0 {
		t.Fatalf("%s: times not in UTC with microsecond precision: %s", what, strings.Join(bad, ", "))
	}
}

func walkTimes(path string, v reflect.Value, f func(string, time.Time)) {
	if !v.IsValid() {
		return
	}
	if v.Type() == timeType {
		f(path, v.Interface().(time.Time))
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkTimes(path, v.Elem(), f)
		}
	case reflect.Struct:
		if hasUnexported(v.Type()) {
			return
		}
		for i := range v.NumField() {
			walkTimes(path+"."+v.Type().Field(i).Name, v.Field(i), f)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkTimes(fmt.Sprintf("%s[%d]", path, i), v.Index(i), f)
		}
	}
}

// ids returns the IDs of rows, in order.
func ids[T any](rows []T, id func(T) string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = id(r)
	}
	return out
}

// requireIDs fails the test now unless got lists exactly want, in order.
func requireIDs(t *testing.T, want, got []string, what string) {
	t.Helper()
	if !slices.Equal(want, got) {
		t.Fatalf("%s: got %d rows %v, want %d rows %v", what, len(got), got, len(want), want)
	}
}

// ID accessors for ids.
func clusterID(c *store.Cluster) string          { return c.ID }
func jobID(j *store.Job) string                  { return j.ID }
func auditID(e *store.AuditEvent) string         { return e.ID }
func rbacID(m *store.RBACMapping) string         { return m.ID }
func artifactID(a *store.ClusterArtifact) string { return a.ID }
