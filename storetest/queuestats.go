package storetest

import (
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// testQueueStats covers Store.QueueStats: every job type in order, zero
// counts included, and each unfinished job in the one category its status,
// retry time and lock put it in, with the oldest entry's time, all on the
// backend's clock.
func testQueueStats(t *testing.T, setup setupFunc) {
	b := setup(t)
	t0 := b.clock.Now()
	type want struct{ runnable, retrying, running, stuck store.QueueCount }
	check := func(what string, w want) {
		t.Helper()
		r, err := b.s.QueueStats(b.ctx)
		requireNoErr(t, err, "queue stats "+what)
		if !r.At.Equal(b.clock.Now()) {
			t.Fatalf("%s: At = %v, want the clock's %v", what, r.At, b.clock.Now())
		}
		types := store.JobTypes()
		if len(r.ByType) != len(types) {
			t.Fatalf("%s: %d job types, want %d", what, len(r.ByType), len(types))
		}
		for i, q := range r.ByType {
			if q.JobType != types[i] {
				t.Fatalf("%s: entry %d is %q, want %q", what, i, q.JobType, types[i])
			}
			exp := want{}
			if q.JobType == store.JobCreate {
				exp = w
			}
			for _, c := range []struct {
				name      string
				got, want store.QueueCount
			}{{"runnable", q.Runnable, exp.runnable}, {"retrying", q.Retrying, exp.retrying},
				{"running", q.Running, exp.running}, {"stuck", q.Stuck, exp.stuck}} {
				if c.got.Count != c.want.Count || !c.got.Since.Equal(c.want.Since) {
					t.Fatalf("%s: %s %s = %d since %v, want %d since %v", what, q.JobType, c.name,
						c.got.Count, c.got.Since, c.want.Count, c.want.Since)
				}
			}
		}
	}
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	check("with no jobs", want{})
	b.job(t, b.cluster(t).ID, store.JobCreate)
	b.clock.Advance(time.Minute)
	b.job(t, b.cluster(t).ID, store.JobCreate)
	check("with two pending jobs", want{runnable: store.QueueCount{Count: 2, Since: t0}})
	r, err := b.s.QueueStats(b.ctx)
	requireNoErr(t, err, "queue stats")
	if age := r.ByType[0].Runnable.Age(r.At); r.ByType[0].JobType == store.JobCreate && age != time.Minute {
		t.Fatalf("oldest runnable age %v, want 1m", age)
	}

	b.claim(t, "w1") // the oldest, for an hour
	check("after a claim", want{runnable: store.QueueCount{Count: 1, Since: at(time.Minute)},
		running: store.QueueCount{Count: 1, Since: at(time.Minute)}})
	b.clock.Advance(time.Hour)
	check("once its lock expired", want{runnable: store.QueueCount{Count: 1, Since: at(time.Minute)},
		stuck: store.QueueCount{Count: 1, Since: at(time.Minute)}})

	cl := b.claim(t, "w2")
	_, err = b.s2.Finish(b.ctx, cl.Lock, store.Retry("E", "try later", 10*time.Minute))
	requireNoErr(t, err, "finish with a retry")
	check("with a job retrying later", want{retrying: store.QueueCount{Count: 1, Since: at(61 * time.Minute)},
		stuck: store.QueueCount{Count: 1, Since: at(time.Minute)}})
	b.clock.Advance(10 * time.Minute)
	check("once its retry time came", want{runnable: store.QueueCount{Count: 1, Since: at(71 * time.Minute)},
		stuck: store.QueueCount{Count: 1, Since: at(time.Minute)}})
}
