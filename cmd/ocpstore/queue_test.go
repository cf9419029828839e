package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestQueue fills the queue with a manual clock an hour behind the
// database's: two CREATE jobs runnable (since base+1m and base+2m), one
// stuck (since base), one HIBERNATE running (since base+2h, its lock still
// live), and checks the JSON document exactly and the table's columns.
func TestQueue(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	pool := db.Pool(t)
	clock := store.NewManualClock(dbNow(t, pool).Add(-time.Hour))
	base := clock.Now()
	s := postgres.New(pool, postgres.WithClock(clock))
	_, stuck := newCluster(t, s, store.ClusterPending, store.JobCreate)
	claim(t, s, store.JobCreate, stuck, time.Minute)
	clock.Advance(time.Minute)
	newCluster(t, s, store.ClusterPending, store.JobCreate)
	clock.Advance(time.Minute)
	newCluster(t, s, store.ClusterPending, store.JobCreate)
	clock.Advance(2*time.Hour - 2*time.Minute)
	_, running := newCluster(t, s, store.ClusterReady, store.JobHibernate)
	claim(t, s, store.JobHibernate, running, 2*time.Hour)

	var doc queueReportJSON
	ocpstore(t, "", "queue", "-json", "-database-url", db.URL).decode(t, &doc)
	if len(doc.JobTypes) != len(store.JobTypes()) {
		t.Fatalf("%d job types, want every one (%d)", len(doc.JobTypes), len(store.JobTypes()))
	}
	type want struct{ runnable, running, stuck int }
	wants := map[string]want{"CREATE": {2, 0, 1}, "HIBERNATE": {0, 1, 0}}
	for _, q := range doc.JobTypes {
		w := wants[q.JobType]
		if q.Runnable.Count != w.runnable || q.Running.Count != w.running || q.Stuck.Count != w.stuck || q.Retrying.Count != 0 {
			t.Errorf("%s: %+v, want %+v", q.JobType, q, w)
		}
	}
	byType := map[string]jobQueueJSON{}
	for i, q := range doc.JobTypes {
		if q.JobType != string(store.JobTypes()[i]) {
			t.Errorf("entry %d is %s, want %s (store.JobTypes order)", i, q.JobType, store.JobTypes()[i])
		}
		byType[q.JobType] = q
	}
	create, hibernate := byType["CREATE"], byType["HIBERNATE"]
	checks := []struct {
		name  string
		c     countJSON
		since time.Time
	}{
		{"CREATE runnable", create.Runnable, base.Add(time.Minute)},
		{"CREATE stuck", create.Stuck, base},
		{"HIBERNATE running", hibernate.Running, base.Add(2 * time.Hour)},
	}
	for _, c := range checks {
		if c.c.Since == nil || !c.c.Since.Equal(c.since) || c.c.AgeSeconds == nil || *c.c.AgeSeconds != doc.At.Sub(c.since).Seconds() {
			t.Errorf("%s: since %v, age %v s; want since %v, age at %v", c.name, c.c.Since, c.c.AgeSeconds, c.since, doc.At)
		}
	}
	if create.Running.Since != nil || create.Running.AgeSeconds != nil {
		t.Errorf("an empty category has a since or an age: %+v", create.Running)
	}

	// The table: the two types with jobs and the total, counts and ages.
	rows := lines(ocpstore(t, db.URL, "queue").ok(t))
	wantRows := [][]string{
		{"TYPE", "RUNNABLE", "OLDEST", "RETRYING", "OLDEST", "RUNNING", "OLDEST", "STUCK", "OLDEST"},
		{"CREATE", "2", "age", "0", "-", "0", "-", "1", "age"},
		{"HIBERNATE", "0", "-", "0", "-", "1", "age", "0", "-"},
		{"TOTAL", "2", "age", "0", "-", "1", "age", "1", "age"},
	}
	if len(rows) != len(wantRows) {
		t.Fatalf("table has %d rows, want %d: %q", len(rows), len(wantRows), rows)
	}
	for i, w := range wantRows {
		for j, cell := range w {
			if got := rows[i][j]; got != cell && (cell != "age" || got == "-" || got == "0") {
				t.Errorf("row %d column %d = %q, want %q", i, j, got, cell)
			}
		}
	}
}

// TestQueueTable formats a fixed report: ages are measured from its At, and
// the total takes the oldest of each column.
func TestQueueTable(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	r := &postgres.QueueReport{At: at, ByType: []postgres.JobQueue{
		{JobType: store.JobCreate, Runnable: postgres.QueueCount{Count: 3, Since: at.Add(-90 * time.Second)}},
		{JobType: store.JobDestroy},
		{JobType: store.JobResume, Runnable: postgres.QueueCount{Count: 1, Since: at.Add(-2 * time.Hour)},
			Retrying: postgres.QueueCount{Count: 2, Since: at.Add(-50 * time.Hour)}},
	}}
	var out bytes.Buffer
	if err := queueTable(&session{stdout: &out}, r); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"TYPE    RUNNABLE  OLDEST  RETRYING  OLDEST  RUNNING  OLDEST  STUCK  OLDEST\n" +
		"CREATE  3         1m30s   0         -       0        -       0      -\n" +
		"RESUME  1         2h00m   2         2d02h   0        -       0      -\n" +
		"TOTAL   4         2h00m   2         2d02h   0        -       0      -\n"
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	if err := queueTable(&session{stdout: &out}, &postgres.QueueReport{At: at, ByType: []postgres.JobQueue{{JobType: store.JobCreate}}}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "no unfinished jobs\n" {
		t.Errorf("empty queue: %q", out.String())
	}
}
