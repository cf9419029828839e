package fleet

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Kind is what an Event records.
type Kind string

// The kinds of events a fleet process logs.
const (
	// KindGrant: Claim granted Job on Cluster with Token (Attempt is the
	// job's attempt). Recovered when the grant was learned by
	// reconciling a Claim whose outcome was unknown, not from its reply.
	KindGrant Kind = "grant"
	// KindGrantLost: a Claim whose outcome was unknown turned out to have
	// granted Token, but the lock was no longer the worker's when it
	// looked (it expired and was recovered or taken over).
	KindGrantLost Kind = "grant_lost"
	// KindFinish: Finish with Token wrote Status (SUCCEEDED, FAILED or
	// RETRYING) to Job. Recovered when learned by reconciliation.
	KindFinish Kind = "finish"
	// KindFinishRefused: Finish with Token was refused (store.ErrLockLost).
	KindFinishRefused Kind = "finish_refused"
	// KindJobGone: Finish found no such job. Only a database that lost
	// acknowledged commits (the job's creation) does that: asynchronous
	// replication after a failover.
	KindJobGone Kind = "job_gone"
	// KindClusterGone: the producer's create of a job found its Cluster
	// gone, lost in the same way.
	KindClusterGone Kind = "cluster_gone"
	// KindClusterCreated, KindJobCreated: the producer's creates, with
	// Cluster and Job (and JobType). Recovered when a create whose outcome
	// was unknown was found to have been applied.
	KindClusterCreated Kind = "cluster_created"
	KindJobCreated     Kind = "job_created"
	// KindRequeued: RecoverStuck requeued or failed N jobs.
	KindRequeued Kind = "requeued"
	// KindError: a store call (Op) failed with Err, classified as Class.
	KindError Kind = "error"
	// KindStart, KindStop: the process started and stopped cleanly. Stop
	// carries the store's transaction counters.
	KindStart Kind = "start"
	KindStop  Kind = "stop"
)

// Event is one line of a fleet process's log. Times are Unix nanoseconds
// of the machine's wall clock, which every process on one machine shares:
// Call is when the store call was made, Ack when its reply (or the read
// that reconciled it) came back, so the operation took effect in between.
type Event struct {
	Kind      Kind   `json:"kind"`
	Proc      string `json:"proc"`
	Worker    string `json:"worker,omitempty"`
	Cluster   string `json:"cluster,omitempty"`
	Job       string `json:"job,omitempty"`
	JobType   string `json:"job_type,omitempty"`
	Token     int64  `json:"token,omitempty"`
	Attempt   int    `json:"attempt,omitempty"`
	Status    string `json:"status,omitempty"`
	Recovered bool   `json:"recovered,omitempty"`
	Op        string `json:"op,omitempty"`
	Class     Class  `json:"class,omitempty"`
	Err       string `json:"err,omitempty"`
	N         int    `json:"n,omitempty"`
	Retries   uint64 `json:"tx_retries,omitempty"`
	Call      int64  `json:"call"`
	Ack       int64  `json:"ack"`
}

// Log writes a process's events as JSON lines. It is safe for concurrent
// use; each event is written with one Write, so a process killed midway
// leaves at most its last line torn (ReadEvents reports it).
type Log struct {
	proc string
	mu   sync.Mutex
	w    io.Writer
	err  error
}

// NewLog returns a Log of process proc writing to w.
func NewLog(proc string, w io.Writer) *Log { return &Log{proc: proc, w: w} }

// Add stamps e with the process's name and writes it. The first write
// error is kept (see Err) and later events are dropped: a log with a hole
// would make the checker report writes as unacknowledged.
func (l *Log) Add(e Event) {
	e.Proc = l.proc
	b, err := json.Marshal(e)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return
	}
	if err == nil {
		_, err = l.w.Write(append(b, '\n'))
	}
	l.err = err
}

// Err returns the first error writing the log.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// now is the wall clock in Unix nanoseconds, the time base of Event.
func now() int64 { return time.Now().UnixNano() }

// ReadEvents reads the events of the JSON-lines log files paths.
func ReadEvents(paths ...string) ([]Event, error) {
	var out []Event
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("read fleet log: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
		for n := 1; sc.Scan(); n++ {
			var e Event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				_ = f.Close()
				return nil, fmt.Errorf("read fleet log %s line %d: %w", p, n, err)
			}
			out = append(out, e)
		}
		err = sc.Err()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("read fleet log %s: %w", p, err)
		}
	}
	return out, nil
}
