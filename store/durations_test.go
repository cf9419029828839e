package store_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// The store keeps time to the microsecond (store.TimeResolution). A
// positive duration below it would be stored as zero: a lock with a TTL of
// 999 ns was born expired, and KeepAlive with a TTL of 1 or 2 ns computed a
// zero heartbeat interval and panicked in time.NewTicker, killing the
// process. Every duration argument of every exported method must refuse
// such a value, naming its field; this file holds those cases and proves,
// by reflection, that no method taking a duration lacks one.

// TestDurations runs the sub-microsecond cases (each refused, naming its
// field, before the backend) and checks that every method with a duration
// argument has one. That exactly one microsecond is kept is storage, in
// storetest's Durations group.
func TestDurations(t *testing.T) {
	t.Run("BelowResolutionRefused", func(t *testing.T) {
		t.Parallel()
		var cases []invalidCase
		for _, mc := range durationCases() {
			cases = append(cases, mc.invalidCase)
		}
		runRefused(t, cases)
	})

	t.Run("EveryDurationArgumentHasACase", func(t *testing.T) {
		t.Parallel()
		covered := map[string]bool{}
		for _, mc := range durationCases() {
			covered[mc.method] = true
		}
		need := durationMethods()
		for _, m := range need {
			if !covered[m] {
				t.Errorf("%s takes a duration but no case refuses one below %v: add one to durationCases", m, store.TimeResolution)
			}
		}
		for m := range covered {
			if !slices.Contains(need, m) {
				t.Errorf("durationCases names %s, which takes no duration", m)
			}
		}
		if len(need) < 9 {
			t.Fatalf("the reflection found only %d methods taking a duration: %v", len(need), need)
		}
	})
}

// durationCases are calls of every method with a duration argument, with
// one below store.TimeResolution.
func durationCases() []methodCase {
	retry := store.Retry("C", "m", time.Nanosecond)
	claim := store.ClaimParams{WorkerID: "w", LockTTL: store.TimeResolution - 1}
	return []methodCase{
		onSub("AcquireTTL999ns", "ttl", "JobLocks", "Acquire", func(fx *validationFixture) []any {
			return []any{fx.cluster.ID, fx.job.ID, "w", store.TimeResolution - 1}
		}),
		onSub("ExtendTTL1ns", "ttl", "JobLocks", "Extend", func(fx *validationFixture) []any {
			return []any{fx.lock, time.Nanosecond}
		}),
		onSub("MarkRetryAfter500ns", "after", "Jobs", "MarkRetry", func(fx *validationFixture) []any {
			return []any{fx.lock, "C", "m", 500 * time.Nanosecond}
		}),
		onSub("ReserveTTL1ns", "ttl", "Idempotency", "Reserve", func(*validationFixture) []any {
			return []any{store.IdempotencyReservation{Scope: idemScope, Key: idemKey, RequestHash: "h", TTL: time.Nanosecond}}
		}),
		onStore("ClaimTTL999ns", "lock_ttl", "Claim", func(*validationFixture) []any { return []any{claim} }),
		onStore("ClaimManyTTL999ns", "lock_ttl", "ClaimMany", func(*validationFixture) []any { return []any{claim, 1} }),
		onStore("FinishRetryAfter1ns", "after", "Finish", func(fx *validationFixture) []any { return []any{fx.lock, retry} }),
		onStore("FinishManyRetryAfter1ns", "items[0].outcome.after", "FinishMany", func(fx *validationFixture) []any {
			return []any{[]store.Completion{{Lock: fx.lock, Outcome: retry}}}
		}),
		// A TTL of 1 or 2 ns made the heartbeat's interval (ttl/3) zero, and
		// time.NewTicker panicked in the heartbeat's goroutine.
		onStore("KeepAliveTTL1ns", "ttl", "KeepAlive", func(fx *validationFixture) []any {
			return []any{fx.lock, time.Nanosecond, time.Duration(0)}
		}),
		onStore("KeepAliveTTL2ns", "ttl", "KeepAlive", func(fx *validationFixture) []any {
			return []any{fx.lock, 2 * time.Nanosecond, time.Duration(0)}
		}),
		onStore("KeepAliveInterval1ns", "interval", "KeepAlive", func(fx *validationFixture) []any {
			return []any{fx.lock, time.Hour, time.Nanosecond}
		}),
	}
}

// onSub is a methodCase calling method of the sub-store named sub (a field
// of store.Store) on the bundle's Store, with args made from the fixture.
func onSub(name, field, sub, method string, args func(*validationFixture) []any) methodCase {
	return methodCase{method: sub + "." + method, invalidCase: invalidCase{name: name, field: field,
		call: func(b *bundle, fx *validationFixture) error {
			f := reflect.ValueOf(b.s).Elem().FieldByName(sub)
			if !f.IsValid() {
				return errors.New("store.Store has no field " + sub)
			}
			return callMethod(b.ctx, f.Interface(), method, args(fx)...)
		}}}
}

// durationType is time.Duration.
var durationType = reflect.TypeFor[time.Duration]()

// durationMethods lists, as "JobLocks.Acquire" or "Store.KeepAlive", every
// exported method of the sub-stores and of *store.Store, *store.Tx and
// *store.Heartbeat with a parameter that holds a time.Duration: one itself,
// or a struct, pointer or slice with one inside (ClaimParams.LockTTL,
// Outcome's retry delay, FinishMany's []Completion).
func durationMethods() []string {
	var out []string
	add := func(name string, params []reflect.Type) {
		if slices.ContainsFunc(params, func(p reflect.Type) bool { return holdsDuration(p, map[reflect.Type]bool{}) }) {
			out = append(out, name)
		}
	}
	for _, f := range subStoreFields() {
		for j := range f.Type.NumMethod() {
			add(f.Name+"."+f.Type.Method(j).Name, params(f.Type.Method(j).Type, 1))
		}
	}
	for _, typ := range []struct {
		name string
		t    reflect.Type
	}{{"Store", reflect.TypeFor[*store.Store]()}, {"Tx", reflect.TypeFor[*store.Tx]()}, {"Heartbeat", reflect.TypeFor[*store.Heartbeat]()}} {
		for j := range typ.t.NumMethod() {
			m := typ.t.Method(j)
			if _, promoted := reflect.TypeFor[*store.Store]().MethodByName(m.Name); typ.name == "Tx" && promoted {
				continue
			}
			add(typ.name+"."+m.Name, params(m.Type, 1))
		}
	}
	slices.Sort(out)
	return out
}

// holdsDuration reports whether a value of type t carries a time.Duration.
func holdsDuration(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == durationType {
		return true
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return holdsDuration(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsDuration(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}
