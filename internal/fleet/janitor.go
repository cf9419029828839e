package fleet

import (
	"context"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// Janitor recovers the jobs of dead workers with store.RecoverStuck every
// Interval. A pass that fails is simply done again at the next tick: each
// job's requeue is a transaction of its own that re-checks the job, so a
// pass whose outcome was unknown cannot requeue a job twice.
type Janitor struct {
	ID       string // the audit actor of its requeues
	Store    *store.Store
	Log      *Log
	Interval time.Duration
}

// Run runs passes until stop ends.
func (j *Janitor) Run(stop context.Context) {
	t := time.NewTicker(j.Interval)
	defer t.Stop()
	for {
		select {
		case <-stop.Done():
			return
		case <-t.C:
		}
		call := now()
		n, err := j.Store.RecoverStuck(stop, j.ID, 100)
		if n > 0 {
			j.Log.Add(Event{Kind: KindRequeued, Worker: j.ID, N: n, Call: call, Ack: now()})
		}
		if err != nil && stop.Err() == nil {
			j.Log.Add(Event{Kind: KindError, Worker: j.ID, Op: "recover stuck", Class: Classify(err), Err: err.Error(),
				Call: call, Ack: now()})
		}
	}
}
