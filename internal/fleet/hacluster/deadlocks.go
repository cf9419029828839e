package hacluster

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Deadlocks counts the deadlocks PostgreSQL detected in the ocpstore
// database across the cluster's nodes, from pg_stat_database.deadlocks.
// Each node keeps its own counter, which a crash resets (PostgreSQL 15
// discards statistics in crash recovery) and a restart may carry over, so
// Deadlocks samples every node and adds up the increases it sees within
// each run of a postmaster (told apart by pg_postmaster_start_time). A
// deadlock that a postmaster counted and lost in a crash between two
// samples is missed: sample often (Run).
type Deadlocks struct {
	c *Cluster

	mu    sync.Mutex
	last  map[int]deadlockSample // by node
	total int64
}

// deadlockSample is one reading of one node.
type deadlockSample struct {
	started string // pg_postmaster_start_time
	n       int64
}

// NewDeadlocks returns a counter for c; call Sample or Run to count.
func NewDeadlocks(c *Cluster) *Deadlocks { return &Deadlocks{c: c, last: map[int]deadlockSample{}} }

// Run samples every interval until ctx ends.
func (d *Deadlocks) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		d.Sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sample reads every node that answers once. The first reading of a
// postmaster is its baseline.
func (d *Deadlocks) Sample(ctx context.Context) {
	for n := 1; n <= Nodes; n++ {
		s, err := d.read(ctx, n)
		if err != nil {
			continue // down or restarting: its next run gets a new baseline
		}
		d.mu.Lock()
		if prev, ok := d.last[n]; ok && prev.started == s.started && s.n > prev.n {
			d.total += s.n - prev.n
		}
		d.last[n] = s
		d.mu.Unlock()
	}
}

// Total is the deadlocks counted so far.
func (d *Deadlocks) Total() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.total
}

func (d *Deadlocks) read(ctx context.Context, n int) (deadlockSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.c.NodeURL(n))
	if err != nil {
		return deadlockSample{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var s deadlockSample
	err = conn.QueryRow(ctx, `SELECT pg_postmaster_start_time()::text, deadlocks
		FROM pg_stat_database WHERE datname = current_database()`).Scan(&s.started, &s.n)
	return s, err
}
