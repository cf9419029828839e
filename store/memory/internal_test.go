package memory

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// TestClonesShareNothing fills every field of every row type and checks
// that its clone function copies every pointer, map and slice: it fails
// when a field is added to a type and not to its clone.
func TestClonesShareNothing(t *testing.T) {
	t.Parallel()
	check := func(name string, src any, clone func(any) any) {
		fill(reflect.ValueOf(src).Elem())
		dst := clone(src)
		if !reflect.DeepEqual(src, dst) {
			t.Errorf("%s: clone differs:\n%+v\n%+v", name, src, dst)
		}
		s, d := reflect.ValueOf(src).Elem(), reflect.ValueOf(dst).Elem()
		for i := range s.NumField() {
			switch s.Field(i).Kind() {
			case reflect.Pointer, reflect.Map, reflect.Slice:
				if s.Field(i).UnsafePointer() == d.Field(i).UnsafePointer() {
					t.Errorf("%s.%s is shared with the clone", name, s.Type().Field(i).Name)
				}
			}
		}
	}
	check("Cluster", &store.Cluster{}, func(v any) any { return cloneCluster(v.(*store.Cluster)) })
	check("Job", &store.Job{}, func(v any) any { return cloneJob(v.(*store.Job)) })
	check("JobLock", &store.JobLock{}, func(v any) any { return cloneLock(v.(*store.JobLock)) })
	check("IdempotencyKey", &store.IdempotencyKey{}, func(v any) any { return cloneIdem(v.(*store.IdempotencyKey)) })
	check("RBACMapping", &store.RBACMapping{}, func(v any) any { return cloneRBAC(v.(*store.RBACMapping)) })
	check("AuditEvent", &store.AuditEvent{}, func(v any) any { return cloneAudit(v.(*store.AuditEvent)) })
	check("ClusterOutputs", &store.ClusterOutputs{}, func(v any) any { return cloneOutputs(v.(*store.ClusterOutputs)) })
	check("ClusterArtifact", &store.ClusterArtifact{}, func(v any) any { return cloneArtifact(v.(*store.ClusterArtifact)) })
	check("UsageSample", &store.UsageSample{}, func(v any) any { return cloneUsage(v.(*store.UsageSample)) })
}

var timeType = reflect.TypeFor[time.Time]()

// fill sets v to a non-zero value that survives normalization unchanged.
func fill(v reflect.Value) {
	switch {
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)))
		return
	case v.Type().Kind() == reflect.Struct && v.Type().PkgPath() != "github.com/ocpctl/ocpstore/store":
		return // a foreign value type such as netip.Addr: copied by value
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i))
		}
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint8:
		v.SetUint(7)
	case reflect.Float64:
		v.SetFloat(1.5)
	}
}

// TestWindow checks the heap selection against a full sort.
func TestWindow(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		n := r.IntN(200)
		rows := make([]int, n)
		for i := range rows {
			rows[i] = r.IntN(50)
		}
		offset, limit := r.IntN(n+5), 1+r.IntN(60)
		want := slices.Sorted(slices.Values(rows))
		want = want[min(offset, n):min(offset+limit, n)]
		got := window(slices.Clone(rows), cmp.Compare[int], offset, limit)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("window(n=%d, offset=%d, limit=%d) = %v, want %v", n, offset, limit, got, want)
		}
	}
}

// row is a test row for the table machinery.
type row struct {
	id, group, uniq string
	order           int
	covered         bool // in the partial unique index
}

// TestTableModel drives the table and overlay machinery with random
// transactions, committed or dropped, and checks every read path (get, all,
// in, lookup, heads) against a plain map model, inside and outside a
// transaction.
func TestTableModel(t *testing.T) {
	t.Parallel()
	byOrder := func(a, b *row) int { return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.id, b.id)) }
	uniq := newUnique(func(r *row) (string, bool) { return r.uniq, r.covered })
	set := newSet(always(func(r *row) string { return r.group }))
	ord := newOrdered(func(r *row) (string, bool) { return r.group, r.order%3 != 0 }, byOrder, func(r *row) string { return r.id })
	tab := newTable[row](uniq, set, ord)
	committed := map[string]row{}
	rnd := rand.New(rand.NewPCG(3, 4))

	check := func(what string, v tableView[row], model map[string]row) {
		t.Helper()
		got := map[string]row{}
		for id, r := range v.all() {
			if _, dup := got[id]; dup {
				t.Fatalf("%s: all yields %s twice", what, id)
			}
			got[id] = *r
		}
		if !reflect.DeepEqual(got, model) && len(got)+len(model) > 0 {
			t.Fatalf("%s: all = %v, want %v", what, got, model)
		}
		for id, r := range model {
			if g := v.get(id); g == nil || *g != r {
				t.Fatalf("%s: get(%s) = %v, want %v", what, id, g, r)
			}
		}
		groups, heads, owners := map[string]int{}, map[string]row{}, map[string]string{}
		for id, r := range model {
			groups[r.group]++
			if r.order%3 != 0 {
				if h, ok := heads[r.group]; !ok || byOrder(&r, &h) < 0 {
					heads[r.group] = r
				}
			}
			if r.covered {
				owners[r.uniq] = id
			}
		}
		for g, n := range groups {
			m := 0
			for _, r := range v.in(set, g) {
				if r.group != g {
					t.Fatalf("%s: in(%s) yields %v", what, g, r)
				}
				m++
			}
			if m != n {
				t.Fatalf("%s: in(%s) yields %d rows, want %d", what, g, m, n)
			}
		}
		gotHeads := map[string]row{}
		for g, r := range v.heads(ord) {
			gotHeads[g] = *r
		}
		if !reflect.DeepEqual(gotHeads, heads) && len(gotHeads)+len(heads) > 0 {
			t.Fatalf("%s: heads = %v, want %v", what, gotHeads, heads)
		}
		for k := range 6 {
			key := fmt.Sprint("u", k)
			id, r := v.lookup(uniq, key)
			if want := owners[key]; id != want || (r == nil) != (want == "") {
				t.Fatalf("%s: lookup(%s) = %q, want %q", what, key, id, want)
			}
		}
	}

	for round := range 300 {
		o := &tableOverlay[row]{}
		v := tableView[row]{t: &tab, o: o}
		model := maps.Clone(committed)
		for range 1 + rnd.IntN(8) {
			id := fmt.Sprint("r", rnd.IntN(20))
			if rnd.IntN(4) == 0 {
				v.del(id)
				delete(model, id)
				continue
			}
			r := row{id: id, group: fmt.Sprint("g", rnd.IntN(4)), order: rnd.IntN(30),
				uniq: fmt.Sprint("u", rnd.IntN(6)), covered: rnd.IntN(2) == 0}
			if r.covered {
				if other, _ := v.lookup(uniq, r.uniq); other != "" && other != id {
					r.covered = false // the constraint would refuse it
				}
			}
			v.put(id, &r)
			model[id] = r
		}
		check(fmt.Sprint("round ", round, " in tx"), v, model)
		check(fmt.Sprint("round ", round, " outside"), tableView[row]{t: &tab}, committed)
		if rnd.IntN(3) > 0 {
			tab.apply(o)
			committed = model
		}
		check(fmt.Sprint("round ", round, " after"), tableView[row]{t: &tab}, committed)
	}
}
