package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

func TestPeerFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags([]string{"-mode", "peer"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.batches, o.riverWorkers) != "[1 100] [8 100]" {
		t.Errorf("peer defaults: batches %v, river workers %v; want [1 100] [8 100]", o.batches, o.riverWorkers)
	}
	o, err = parseFlags([]string{"-mode", "peer", "-batches", "1,10,100", "-river-workers", "4"}, io.Discard)
	if err != nil || fmt.Sprint(o.batches, o.riverWorkers) != "[1 10 100] [4]" {
		t.Errorf("peer with -batches and -river-workers: %+v, %v", o, err)
	}
	if o, err := parseFlags([]string{"-mode", "drain"}, io.Discard); err != nil || len(o.batches) != 3 {
		t.Errorf("drain's default batches: %+v, %v; want 1,10,100", o, err)
	}
	if o, err := parseFlags([]string{"-mode", "peer", "-coalesce=false"}, io.Discard); err != nil || o.coalesce != "false" {
		t.Errorf("-coalesce=false: %+v, %v", o, err)
	}
	if o, err := parseFlags([]string{"-mode", "drain"}, io.Discard); err != nil || o.coalesce != "both" {
		t.Errorf("-coalesce's default: %+v, %v; want both", o, err)
	}
	if _, err := parseFlags([]string{"-mode", "peer", "-coalesce", "maybe"}, io.Discard); err == nil {
		t.Error("-coalesce maybe: no error")
	}
	if _, err := parseFlags([]string{"-mode", "peer", "-river-workers", "0"}, io.Discard); err == nil {
		t.Error("-river-workers 0: no error")
	}
}

// TestPrintPeer checks the peer mode's machine-readable lines: each side's
// median rate, and each store/River pair's per-round ratios, median first.
func TestPrintPeer(t *testing.T) {
	t.Parallel()
	sides := []*peerSide{
		{river: true, workers: 8, rates: []float64{3000, 3200, 2800}},
		{river: true, workers: 100, rates: []float64{10000, 10000, 10000}},
		{workers: 8, v: variantFor(1, false), rates: []float64{300, 400, 250}},
		{workers: 8, v: variantFor(100, false), rates: []float64{2000, 2500, 1500}},
		{workers: 8, v: variantFor(1, true), rates: []float64{250, 300, 200}},
	}
	var b strings.Builder
	printPeer(&b, sides)
	for _, want := range []string{
		"\nriver workers=8 jobs_per_sec=3000\n",
		"\nriver workers=100 jobs_per_sec=10000\n",
		"\ndrain batch=1 workers=8 jobs_per_sec=300\n",
		"\ndrain batch=100 workers=8 jobs_per_sec=2000\n",
		// per round 0.100, 0.125, 0.089: the median of the ratios, not the ratio of the medians
		"\nratio drain.batch=1 drain.workers=8 river.workers=8 median=0.100 min=0.089 max=0.125 rounds=3\n",
		"\nratio drain.batch=100 drain.workers=8 river.workers=100 median=0.200 min=0.150 max=0.250 rounds=3\n",
		"\nratio drain.batch=1 drain.workers=8 river.workers=100 median=0.030 min=0.025 max=0.040 rounds=3\n",
		"\nratio drain.batch=100 drain.workers=8 river.workers=8 median=0.667 min=0.536 max=0.781 rounds=3\n",
		"\ndrain batch=1 workers=8 coalesce=false jobs_per_sec=250\n",
		"\nratio drain.batch=1 drain.workers=8 drain.coalesce=false river.workers=8 median=0.083 min=0.071 max=0.094 rounds=3\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("printPeer lacks %q; printed:\n%s", want, b.String())
		}
	}
	if n := strings.Count(b.String(), "\nratio "); n != 6 {
		t.Errorf("printPeer printed %d ratio lines, want 6 (3 store sides x 2 River sides)", n)
	}
}

// TestRiverBurnDown runs River's side of the peer mode on a small queue,
// twice on the same database (the second run must find a fresh queue),
// with the run's own verification: every job completed on its first
// attempt.
func TestRiverBurnDown(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	ctx := t.Context()
	srv, err := newServer(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("%sriver_test_%d_%d", dbPrefix, os.Getpid(), time.Now().UnixNano())
	q, err := openRiverQueue(ctx, srv, name, 60, 3, false, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer q.close(ctx, false)
	for _, workers := range []int{2, 20} {
		elapsed, err := q.run(ctx, workers, false)
		if err != nil {
			t.Fatalf("%d workers: %v", workers, err)
		}
		if elapsed <= 0 {
			t.Errorf("%d workers: elapsed %v", workers, elapsed)
		}
	}
	var jobs int
	if err := q.pool.QueryRow(ctx, "SELECT count(*) FROM river_job").Scan(&jobs); err != nil || jobs != 60 {
		t.Errorf("river_job holds %d jobs (%v) after the second run, want 60: the reset must empty it", jobs, err)
	}
}
