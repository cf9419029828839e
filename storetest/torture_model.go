package storetest

import (
	"fmt"
	"hash/maphash"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/ocpctl/ocpstore/store"
)

// This file is the sequential model the torture test checks histories
// against: one cluster's lock row and the status of the cluster's jobs.
//
// Time. The backend reads its clock somewhere inside each call, and on
// PostgreSQL it does so before the statement takes the lock row, so two
// calls on one cluster may take effect in an order different from the order
// of their clock readings. The model therefore has no global "now": every
// operation carries the clock readings taken just before its call (lo) and
// just after its return (hi), and the model allows any now in [lo, hi] for
// it. When the output reveals the now the backend used (an ExpiresAt is
// now+ttl, an UpdatedAt is now), the model requires exactly that value to
// be in the window; when it does not (a refusal), the model allows the
// outcome if some now in the window explains it. Clock moves are therefore
// not operations of the history.

// maxTortureJobs bounds the jobs per cluster, so that a cluster's model
// state is a comparable value.
const maxTortureJobs = 8

// tortureKind is what a recorded operation did.
type tortureKind uint8

const (
	tkInit          tortureKind = iota + 1 // not a store call: sets the round's start state
	tkAcquire                              // JobLocks.Acquire
	tkExtend                               // JobLocks.Extend
	tkRelease                              // JobLocks.Release
	tkFenced                               // Jobs.MarkRetry, fenced by the lock
	tkStart                                // Jobs.MarkStarted
	tkGetLock                              // JobLocks.Get
	tkGetJob                               // Jobs.GetByID
	tkDeleteExpired                        // JobLocks.ReleaseExpired: in every cluster's partition
)

var tortureKindNames = [...]string{tkInit: "Init", tkAcquire: "Acquire", tkExtend: "Extend",
	tkRelease: "Release", tkFenced: "MarkRetry", tkStart: "MarkStarted", tkGetLock: "GetLock",
	tkGetJob: "GetJob", tkDeleteExpired: "DeleteExpired"}

func (k tortureKind) String() string { return tortureKindNames[k] }

// tortureRes is how a recorded operation ended.
type tortureRes uint8

const (
	trOK       tortureRes = iota + 1 // no error
	trHeld                           // ErrLockHeld
	trLost                           // ErrLockLost
	trRefused                        // ErrInvalidStateTransition
	trNotFound                       // ErrNotFound
	trAborted                        // ErrSerialization: nothing happened
	trBad                            // an answer the contract never gives (see tortureOutput.why)
)

var tortureResNames = [...]string{trOK: "ok", trHeld: "ErrLockHeld", trLost: "ErrLockLost",
	trRefused: "ErrInvalidStateTransition", trNotFound: "ErrNotFound", trAborted: "ErrSerialization",
	trBad: "bad answer"}

func (r tortureRes) String() string { return tortureResNames[r] }

// tortureLock is a lock row in the model's terms. Times are microseconds after
// the run's start on the shared ManualClock.
type tortureLock struct {
	job, worker       int // the job's index in its cluster, the worker's index
	token             int64
	lockedAt, expires int64
}

// tortureJob is a job in the model's terms.
type tortureJob struct {
	status   store.JobStatus
	attempts int
	at       int64 // UpdatedAt
}

// tortureState is the model's state of one cluster: its lock row, the
// largest token its lock ever had, and its jobs.
type tortureState struct {
	ready    bool // false until the round's tkInit
	held     bool // the lock row exists
	lock     tortureLock
	maxToken int64
	jobs     [maxTortureJobs]tortureJob
}

// tortureInput is a recorded call.
type tortureInput struct {
	kind    tortureKind
	cluster int // the cluster's index; -1 for DeleteExpired (every cluster)
	job     int // Acquire, Start, GetJob: the job; Extend, Release, Fenced: the lock's job
	worker  int // Acquire: the worker; Extend, Release, Fenced: the lock's LockedBy
	token   int64
	ttl     int64        // Acquire, Extend, µs
	lo, hi  int64        // clock readings before the call and after the return, µs
	init    tortureState // tkInit only
}

// tortureOutput is a recorded return.
type tortureOutput struct {
	res  tortureRes
	lock tortureLock // Acquire, Extend, GetLock when ok
	job  tortureJob  // Start, Fenced, GetJob when ok
	n    int64       // DeleteExpired: rows deleted (over every cluster)
	why  string      // trBad: what was wrong with the answer
}

// in reports whether at is inside the operation's clock window.
func (in tortureInput) in(at int64) bool { return in.lo <= at && at <= in.hi }

// step returns every state the operation can lead to from s with this
// output: none when the output is impossible. Only DeleteExpired can lead
// to two states (its now is not revealed); every other step is determined
// by its output.
func (s tortureState) step(in tortureInput, out tortureOutput) []tortureState {
	switch {
	case !s.ready:
		if in.kind == tkInit {
			return []tortureState{in.init}
		}
		return nil
	case in.kind == tkInit, out.res == trBad:
		return nil
	case out.res == trAborted:
		return []tortureState{s}
	case in.kind == tkDeleteExpired:
		return s.deleteExpired(in, out)
	}
	var next tortureState
	var ok bool
	switch in.kind {
	case tkAcquire:
		next, ok = s.acquire(in, out)
	case tkExtend:
		next, ok = s.extend(in, out)
	case tkRelease:
		next, ok = s.release(in, out)
	case tkFenced:
		next, ok = s.fenced(in, out)
	case tkStart:
		next, ok = s.start(in, out)
	case tkGetLock:
		ok = (out.res == trOK && s.held && out.lock == s.lock) || (out.res == trNotFound && !s.held)
		next = s
	case tkGetJob:
		ok, next = out.res == trOK && out.job == s.jobs[in.job], s
	}
	if !ok {
		return nil
	}
	return []tortureState{next}
}

// current reports whether the lock of the operation (its job and token) is
// the cluster's current one: the row exists with that token. Expiry does
// not matter.
func (s tortureState) current(in tortureInput) bool {
	return s.held && s.lock.token == in.token && s.lock.job == in.job
}

// acquire: the same job and worker renew (same token and LockedAt, even
// after expiry); a free or expired lock is granted with a token above every
// token the cluster ever had; a live lock of another holder is ErrLockHeld.
func (s tortureState) acquire(in tortureInput, out tortureOutput) (tortureState, bool) {
	mine := s.held && s.lock.job == in.job && s.lock.worker == in.worker
	switch out.res {
	case trHeld:
		// Held iff now < expires for some now in [lo, hi].
		return s, s.held && !mine && in.lo < s.lock.expires
	case trOK:
		l := out.lock
		now := l.expires - in.ttl
		if l.job != in.job || l.worker != in.worker || !in.in(now) {
			return s, false
		}
		switch {
		case mine:
			if l.token != s.lock.token || l.lockedAt != s.lock.lockedAt {
				return s, false
			}
		case !s.held || now >= s.lock.expires:
			if l.token <= s.maxToken || l.lockedAt != now {
				return s, false
			}
			s.held, s.maxToken = true, l.token
		default:
			return s, false // granted over another holder's live lock
		}
		s.lock = l
		return s, true
	}
	return s, false
}

// extend: the current token moves the expiry to now+ttl, keeping the rest
// of the row; any other token is ErrLockLost.
func (s tortureState) extend(in tortureInput, out tortureOutput) (tortureState, bool) {
	cur := s.current(in)
	switch out.res {
	case trLost:
		return s, !cur
	case trOK:
		l := out.lock
		want := s.lock
		want.expires = l.expires
		if !cur || l != want || !in.in(l.expires-in.ttl) {
			return s, false
		}
		s.lock = l
		return s, true
	}
	return s, false
}

// release: the current token deletes the row; any other is ErrLockLost.
func (s tortureState) release(in tortureInput, out tortureOutput) (tortureState, bool) {
	cur := s.current(in)
	switch out.res {
	case trLost:
		return s, !cur
	case trOK:
		s.held, s.lock = false, tortureLock{}
		return s, cur
	}
	return s, false
}

// fenced (MarkRetry): RUNNING -> RETRYING only with the current token,
// Attempt unchanged; else ErrLockLost.
func (s tortureState) fenced(in tortureInput, out tortureOutput) (tortureState, bool) {
	j := s.jobs[in.job]
	allowed := s.current(in) && j.status == store.JobRunning
	switch out.res {
	case trLost:
		return s, !allowed
	case trOK:
		got := out.job
		if !allowed || got.status != store.JobRetrying || got.attempts != j.attempts || !in.in(got.at) {
			return s, false
		}
		s.jobs[in.job] = got
		return s, true
	}
	return s, false
}

// start (MarkStarted): PENDING or RETRYING -> RUNNING with Attempt+1,
// whoever holds the lock (it is not fenced); else a TransitionError.
func (s tortureState) start(in tortureInput, out tortureOutput) (tortureState, bool) {
	j := s.jobs[in.job]
	allowed := j.status == store.JobPending || j.status == store.JobRetrying
	switch out.res {
	case trRefused:
		return s, !allowed
	case trOK:
		got := out.job
		if !allowed || got.status != store.JobRunning || got.attempts != j.attempts+1 || !in.in(got.at) {
			return s, false
		}
		s.jobs[in.job] = got
		return s, true
	}
	return s, false
}

// deleteExpired deletes the row iff expires <= now. The now is not
// revealed (the count is over every cluster), so a row expiring inside
// [lo, hi] may or may not have been deleted: both states follow.
func (s tortureState) deleteExpired(in tortureInput, out tortureOutput) []tortureState {
	if out.res != trOK {
		return nil
	}
	freed := s
	freed.held, freed.lock = false, tortureLock{}
	switch {
	case !s.held || s.lock.expires > in.hi:
		return []tortureState{s}
	case s.lock.expires <= in.lo:
		return []tortureState{freed}
	default:
		return []tortureState{s, freed}
	}
}

// tortureHashSeed seeds the state hash; any fixed seed will do.
var tortureHashSeed = maphash.MakeSeed()

// tortureModel is the porcupine model of the cluster locks of a run with
// the given number of clusters, partitioned by cluster: a history is
// linearizable iff every cluster's is, DeleteExpired taking part in each.
func tortureModel(clusters int) porcupine.Model {
	m := porcupine.NondeterministicModel{
		Partition: func(h []porcupine.Operation) [][]porcupine.Operation { return torturePartition(h, clusters) },
		Init:      func() []any { return []any{tortureState{}} },
		Step: func(state, input, output any) []any {
			next := state.(tortureState).step(input.(tortureInput), output.(tortureOutput))
			out := make([]any, len(next))
			for i, n := range next {
				out[i] = n
			}
			return out
		},
		Hash: func(state any) uint64 { return maphash.Comparable(tortureHashSeed, state.(tortureState)) },
		DescribeOperation: func(input, output any) string {
			return describeTortureOp(input.(tortureInput), output.(tortureOutput))
		},
		DescribeState: func(state any) string { return state.(tortureState).String() },
	}
	return m.ToModel()
}

// torturePartition splits a history by cluster; an operation on every
// cluster (DeleteExpired) goes to each partition.
func torturePartition(h []porcupine.Operation, clusters int) [][]porcupine.Operation {
	parts := make([][]porcupine.Operation, clusters)
	for _, op := range h {
		c := op.Input.(tortureInput).cluster
		if c >= 0 {
			parts[c] = append(parts[c], op)
			continue
		}
		for i := range parts {
			parts[i] = append(parts[i], op)
		}
	}
	return parts
}

// fmtMicros renders microseconds after the run's start.
func fmtMicros(v int64) string { return (time.Duration(v) * time.Microsecond).String() }

func (l tortureLock) String() string {
	return fmt.Sprintf("token %d (j%d w%d) locked %s expires %s", l.token, l.job, l.worker, fmtMicros(l.lockedAt), fmtMicros(l.expires))
}

func (j tortureJob) String() string {
	return fmt.Sprintf("%s attempt %d at %s", j.status, j.attempts, fmtMicros(j.at))
}

// String describes a state for messages and the visualization.
func (s tortureState) String() string {
	if !s.ready {
		return "(before init)"
	}
	var b strings.Builder
	if s.held {
		fmt.Fprintf(&b, "lock %v", s.lock)
	} else {
		b.WriteString("no lock")
	}
	fmt.Fprintf(&b, "; max token %d; jobs", s.maxToken)
	for i, j := range s.jobs {
		if j.status != "" {
			fmt.Fprintf(&b, " j%d=%s/%d", i, j.status, j.attempts)
		}
	}
	return b.String()
}

// describeTortureOp describes an operation for messages and the visualization.
func describeTortureOp(in tortureInput, out tortureOutput) string {
	var call string
	switch in.kind {
	case tkInit:
		return "Init " + in.init.String()
	case tkAcquire:
		call = fmt.Sprintf("Acquire(j%d, w%d, ttl %s)", in.job, in.worker, fmtMicros(in.ttl))
	case tkExtend:
		call = fmt.Sprintf("Extend(token %d j%d w%d, ttl %s)", in.token, in.job, in.worker, fmtMicros(in.ttl))
	case tkRelease, tkFenced:
		call = fmt.Sprintf("%s(token %d j%d w%d)", in.kind, in.token, in.job, in.worker)
	case tkStart, tkGetJob:
		call = fmt.Sprintf("%s(j%d)", in.kind, in.job)
	default:
		call = in.kind.String() + "()"
	}
	result := out.res.String()
	switch {
	case out.res == trBad:
		result += ": " + out.why
	case out.res != trOK:
	case in.kind == tkAcquire, in.kind == tkExtend, in.kind == tkGetLock:
		result = out.lock.String()
	case in.kind == tkStart, in.kind == tkFenced, in.kind == tkGetJob:
		result = out.job.String()
	case in.kind == tkDeleteExpired:
		result = fmt.Sprintf("%d deleted", out.n)
	}
	return fmt.Sprintf("%s clock [%s, %s] -> %s", call, fmtMicros(in.lo), fmtMicros(in.hi), result)
}
