package store_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// TestEveryMethodRefusesBadInput runs every invalid case (those of
// durations_test.go included, so a duration the heartbeat cannot tick at
// is among them) on a Store whose Observer records the operations, and
// fails unless every method that takes an argument (see
// methodsNeedingCases) was refused at least once. Each case must reach
// exactly one operation of the user API, to which it is credited, and
// never the backend.
func TestEveryMethodRefusesBadInput(t *testing.T) {
	b, fx := newBundle(t), newValidationFixture()
	credits := map[string]int{}
	var cases []invalidCase
	for _, group := range [][]invalidCase{clusterInvalidCases(), jobInvalidCases(), lockInvalidCases(),
		idempotencyInvalidCases(), rbacInvalidCases(), auditInvalidCases(), outputInvalidCases(),
		usageInvalidCases(), workerInvalidCases(), edgeInvalidCases(), exactValueCases()} {
		cases = append(cases, group...)
	}
	for _, mc := range append(storeMethodCases(), durationCases()...) {
		cases = append(cases, mc.invalidCase)
	}
	for _, tc := range cases {
		b.rec.take()
		err := refusedCall(b, fx, tc)
		ops := b.rec.take()
		if len(ops) == 3 && ops[0] == "Store.BeginTx" && ops[2] == "Tx.Rollback" {
			ops = ops[1:2] // a case on a transaction-bound Store (onTx) begins it first and rolls it back
		}
		if len(ops) != 1 {
			t.Errorf("case %s calls %d operations %v, want one", tc.name, len(ops), ops)
			continue
		}
		if !isInvalid(err, tc.field) {
			t.Errorf("case %s: got %v, want ErrInvalidArgument for %q", tc.name, err, tc.field)
			continue
		}
		credits[ops[0]]++
	}

	need, exempt := methodsNeedingCases()
	for _, m := range need {
		if credits[m] == 0 {
			t.Errorf("%s takes arguments but no invalid-argument case refuses one: add a case", m)
		}
	}
	for m := range credits {
		if !slices.Contains(need, m) {
			t.Errorf("cases are credited to %s, which methodsNeedingCases does not list", m)
		}
	}
	t.Logf("%d methods each refused by at least one case; %d methods take only a context: %s",
		len(need), len(exempt), strings.Join(exempt, ", "))
}

// TestStoreMethodCases runs the invalid calls of the Store's own methods.
func TestStoreMethodCases(t *testing.T) {
	var cases []invalidCase
	for _, mc := range storeMethodCases() {
		cases = append(cases, mc.invalidCase)
	}
	runRefused(t, cases)
}

// methodCase is an invalid call of a method of *store.Store (or of a
// transaction-bound one), made by reflection on the method's name, so the
// case provably calls the method it claims to.
type methodCase struct {
	method string // "Store.Claim"
	invalidCase
}

// contextType is the type of a method's first parameter.
var contextType = reflect.TypeFor[context.Context]()

// subStoreFields returns the sub-store fields of store.Store (Clusters,
// Jobs, …): its exported fields.
func subStoreFields() []reflect.StructField {
	var out []reflect.StructField
	st := reflect.TypeFor[store.Store]()
	for i := range st.NumField() {
		if f := st.Field(i); f.IsExported() {
			out = append(out, f)
		}
	}
	return out
}

// methodsNeedingCases lists, as "Clusters.Create" or "Store.Claim", every
// exported method of the sub-stores (the exported fields of store.Store),
// of *store.Store, of *store.Tx (its own, not those of the Store it
// embeds) and of *store.Heartbeat that takes an argument besides its
// context: each must have an invalid-argument case. exempt lists those
// that take nothing a caller could get wrong.
func methodsNeedingCases() (need, exempt []string) {
	add := func(name string, params []reflect.Type) {
		for _, p := range params {
			if p != contextType {
				need = append(need, name)
				return
			}
		}
		exempt = append(exempt, name)
	}
	for _, f := range subStoreFields() {
		for j := range f.Type.NumMethod() {
			m := f.Type.Method(j)
			add(f.Name+"."+m.Name, params(m.Type, 1))
		}
	}
	storeType := reflect.TypeFor[*store.Store]()
	for _, typ := range []struct {
		name string
		t    reflect.Type
	}{{"Store", storeType}, {"Tx", reflect.TypeFor[*store.Tx]()}, {"Heartbeat", reflect.TypeFor[*store.Heartbeat]()}} {
		for j := range typ.t.NumMethod() {
			m := typ.t.Method(j)
			if typ.name == "Tx" {
				if _, promoted := storeType.MethodByName(m.Name); promoted {
					continue
				}
			}
			add(typ.name+"."+m.Name, params(m.Type, 1))
		}
	}
	slices.Sort(need)
	slices.Sort(exempt)
	return need, exempt
}

// params returns a function type's parameters from the skip-th on (1 skips
// a method expression's receiver).
func params(fn reflect.Type, skip int) []reflect.Type {
	var out []reflect.Type
	for i := skip; i < fn.NumIn(); i++ {
		out = append(out, fn.In(i))
	}
	return out
}

// callMethod calls recv's exported method name by reflection with ctx and
// args (a nil arg is its parameter's zero value; a variadic parameter gets
// no values) and returns the method's error result. A *store.Heartbeat or
// *store.Tx the call returned is stopped or rolled back.
func callMethod(ctx context.Context, recv any, name string, args ...any) error {
	m := reflect.ValueOf(recv).MethodByName(name)
	if !m.IsValid() {
		return fmt.Errorf("%T has no method %s", recv, name)
	}
	in := []reflect.Value{reflect.ValueOf(ctx)}
	for i, a := range args {
		pt := m.Type().In(i + 1)
		if a == nil {
			in = append(in, reflect.Zero(pt))
		} else {
			in = append(in, reflect.ValueOf(a).Convert(pt))
		}
	}
	out := m.Call(in)
	for _, v := range out {
		switch r := v.Interface().(type) {
		case *store.Heartbeat:
			if r != nil {
				r.Stop()
			}
		case *store.Tx:
			if r != nil {
				_ = r.Rollback(ctx)
			}
		}
	}
	err, _ := out[len(out)-1].Interface().(error)
	return err
}

// onStore is a methodCase calling method of the bundle's Store with args
// made from the fixture.
func onStore(name, field, method string, args func(*validationFixture) []any) methodCase {
	return methodCase{method: "Store." + method, invalidCase: invalidCase{name: name, field: field,
		call: func(b *bundle, fx *validationFixture) error {
			return callMethod(b.ctx, b.s, method, args(fx)...)
		}}}
}

// onTx is a methodCase calling method of a Store bound to a transaction,
// which it rolls back.
func onTx(name, field, method string, args func(*validationFixture) []any) methodCase {
	return methodCase{method: "Store." + method, invalidCase: invalidCase{name: name, field: field,
		call: func(b *bundle, fx *validationFixture) error {
			tx, err := b.s.BeginTx(b.ctx)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback(b.ctx) }()
			return callMethod(b.ctx, tx.Store, method, args(fx)...)
		}}}
}

// lockWith returns a copy of the fixture's lock changed by mod.
func lockWith(fx *validationFixture, mod func(*store.JobLock)) *store.JobLock {
	l := *fx.lock
	mod(&l)
	return &l
}

// storeMethodCases are the invalid calls of the Store's own methods, each
// made by name. validation.go's worker cases call some of them directly.
func storeMethodCases() []methodCase {
	worker := func(id string) func(*validationFixture) []any {
		return func(*validationFixture) []any {
			return []any{store.ClaimParams{WorkerID: id, LockTTL: time.Hour}}
		}
	}
	finish := func(o store.Outcome) func(*validationFixture) []any {
		return func(fx *validationFixture) []any { return []any{fx.lock, o} }
	}
	noArgs := func(*validationFixture) []any { return nil }
	return []methodCase{
		onTx("BeginTxInATransaction", "tx", "BeginTx", noArgs),
		onStore("WithTxNilFunc", "fn", "WithTx", func(*validationFixture) []any { return []any{nil} }),
		onTx("WithTxNilFuncInATransaction", "fn", "WithTx", func(*validationFixture) []any { return []any{nil} }),
		onStore("ClaimWorkerWithNUL", "worker_id", "Claim", worker(nul)),
		onStore("ClaimBlankWorker", "worker_id", "Claim", worker(" \t")),
		onStore("ClaimWorkerOverColumnSize", "worker_id", "Claim", worker(tooLong255)),
		onStore("ClaimNegativeTTL", "lock_ttl", "Claim", func(*validationFixture) []any {
			return []any{store.ClaimParams{WorkerID: "w", LockTTL: -time.Second}}
		}),
		onStore("ClaimEmptyJobType", "job_types", "Claim", func(*validationFixture) []any {
			return []any{store.ClaimParams{WorkerID: "w", LockTTL: time.Hour, JobTypes: []store.JobType{""}}}
		}),
		onStore("ClaimManyZeroMax", "max", "ClaimMany", func(*validationFixture) []any {
			return []any{store.ClaimParams{WorkerID: "w", LockTTL: time.Hour}, 0}
		}),
		onStore("ClaimManyMaxOverLimit", "max", "ClaimMany", func(*validationFixture) []any {
			return []any{store.ClaimParams{WorkerID: "w", LockTTL: time.Hour}, store.MaxLimit + 1}
		}),
		onStore("ClaimManyEmptyWorker", "worker_id", "ClaimMany", func(*validationFixture) []any {
			return []any{store.ClaimParams{LockTTL: time.Hour}, 1}
		}),
		onStore("FinishZeroToken", "lock.token", "Finish", func(fx *validationFixture) []any {
			return []any{lockWith(fx, func(l *store.JobLock) { l.Token = 0 }), store.Succeeded(nil)}
		}),
		onStore("FinishFailedCodeOverColumnSize", "code", "Finish", finish(store.Failed(long(store.MaxErrorCodeLen+1), "m"))),
		onStore("FinishRetryMessageWithNUL", "message", "Finish", finish(store.Retry("C", nul, time.Minute))),
		onStore("FinishSucceededMetadataNotUTF8", "metadata[k]", "Finish", finish(store.Succeeded(map[string]string{"k": badUTF8}))),
		onStore("FinishManyNoItems", "items", "FinishMany", func(*validationFixture) []any { return []any{nil} }),
		onStore("KeepAliveEmptyJobID", "lock.job_id", "KeepAlive", func(fx *validationFixture) []any {
			return []any{lockWith(fx, func(l *store.JobLock) { l.JobID = "" }), time.Hour, time.Duration(0)}
		}),
		onStore("KeepAliveNegativeTTL", "ttl", "KeepAlive", func(fx *validationFixture) []any {
			return []any{fx.lock, -time.Hour, time.Duration(0)}
		}),
		onTx("KeepAliveInATransaction", "store", "KeepAlive", func(fx *validationFixture) []any {
			return []any{fx.lock, time.Hour, time.Duration(0)}
		}),
		onStore("RecoverStuckBlankActor", "actor", "RecoverStuck", func(*validationFixture) []any { return []any{" \t", 10} }),
		onStore("RecoverStuckActorWithNUL", "actor", "RecoverStuck", func(*validationFixture) []any { return []any{nul, 10} }),
		onStore("RecoverStuckActorOverColumnSize", "actor", "RecoverStuck", func(*validationFixture) []any {
			return []any{long(store.MaxARNLen + 1), 10}
		}),
		onStore("RecoverStuckNegativeLimit", "limit", "RecoverStuck", func(*validationFixture) []any { return []any{"janitor", -1} }),
	}
}
