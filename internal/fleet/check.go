package fleet

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ocpctl/ocpstore/store"
)

// Report is what Check found. The first group must be zero in a run whose
// guarantees held; the rest describe the run.
type Report struct {
	Lost             int // jobs or clusters whose create was acknowledged, missing from the database
	Duplicated       int // jobs whose completion applied more than once (log or database)
	Overlaps         int // a token proven current after a larger one was (two holders at once), or one token with two holders
	TokenRegressions int // a grant whose token is not above one granted before it (log or database order)
	AckedMissing     int // acknowledged writes (creates, grants, finishes) whose effect is not in the database
	Unfinished       int // jobs not in a terminal state at the end
	Unexpected       int // store errors Classify did not recognise
	// Unlogged: job starts and ends in the database that no log mentions,
	// so an unknown outcome that applied was never reconciled.
	Unlogged int

	Jobs, Clusters    int // creates acknowledged
	Grants, Finishes  int // acknowledged by the store's reply
	RecoveredGrants   int // grants learned by reconciling an unknown Claim (adopted or lost)
	RecoveredFinishes int // finishes learned by reconciling an unknown Finish
	RecoveredCreates  int // creates found applied after an unknown outcome
	Refused           int // Finish refused with ErrLockLost
	Gone              int // a Finish found its job, or a create its cluster, gone (lost: asynchronous replication)
	Unknown           int // calls whose outcome was unknown
	Unavailable       int // calls that failed as unavailable
	Requeued          int // jobs the janitor requeued or failed
	TxRetries         uint64

	// Problems describes the first violations found, for the test's log.
	Problems []string
}

// maxProblems bounds Report.Problems.
const maxProblems = 20

func (r *Report) problem(format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// Violations is the sum of the counts that must be zero.
func (r *Report) Violations() int {
	return r.Lost + r.Duplicated + r.Overlaps + r.TokenRegressions + r.AckedMissing + r.Unfinished + r.Unexpected +
		r.Unlogged
}

// String renders the report as key=value pairs.
func (r *Report) String() string {
	return fmt.Sprintf("jobs=%d lost=%d duplicated=%d overlaps=%d token_regressions=%d acked_missing=%d unfinished=%d "+
		"unexpected_errors=%d clusters=%d grants=%d finishes=%d recovered_grants=%d recovered_finishes=%d recovered_creates=%d "+
		"refused=%d jobs_gone=%d unknown_outcomes=%d unavailable_errors=%d requeued=%d unlogged=%d tx_retries=%d",
		r.Jobs, r.Lost, r.Duplicated, r.Overlaps, r.TokenRegressions, r.AckedMissing, r.Unfinished, r.Unexpected,
		r.Clusters, r.Grants, r.Finishes, r.RecoveredGrants, r.RecoveredFinishes, r.RecoveredCreates,
		r.Refused, r.Gone, r.Unknown, r.Unavailable, r.Requeued, r.Unlogged, r.TxRetries)
}

// Check compares a fleet's logs with the database at the end of its run.
func Check(events []Event, snap *Snapshot) *Report {
	r := &Report{}
	r.count(events)
	r.checkAcked(events, snap)
	r.checkDuplicates(events, snap)
	r.checkOverlaps(events)
	r.checkTokenOrder(events, snap)
	for id, j := range snap.Jobs {
		if !j.Status.Terminal() {
			r.Unfinished++
			r.problem("job %s is %s at the end", id, j.Status)
		}
	}
	return r
}

// count fills the descriptive counters.
func (r *Report) count(events []Event) {
	for _, e := range events {
		switch e.Kind {
		case KindJobCreated:
			r.Jobs++
		case KindClusterCreated:
			r.Clusters++
		case KindGrant, KindGrantLost:
			if e.Recovered {
				r.RecoveredGrants++
			} else {
				r.Grants++
			}
		case KindFinish:
			if e.Recovered {
				r.RecoveredFinishes++
			} else {
				r.Finishes++
			}
		case KindFinishRefused:
			r.Refused++
		case KindJobGone, KindClusterGone:
			r.Gone++
		case KindRequeued:
			r.Requeued += e.N
		case KindStop:
			r.TxRetries += e.Retries
		case KindError:
			switch e.Class {
			case ClassUnknown:
				r.Unknown++
			case ClassUnavailable:
				r.Unavailable++
			default:
				r.Unexpected++
				r.problem("unexpected error in %s %s (%s): %s", e.Proc, e.Worker, e.Op, e.Err)
			}
		}
		if (e.Kind == KindJobCreated || e.Kind == KindClusterCreated) && e.Recovered {
			r.RecoveredCreates++
		}
	}
}

// tokenKey names a grant or a finish: a job and a token.
type tokenKey struct {
	job   string
	token int64
}

// checkAcked looks in the database for every write a log acknowledges, and
// in the logs for every job start and end the database holds.
func (r *Report) checkAcked(events []Event, snap *Snapshot) {
	starts, ends := map[tokenKey]bool{}, map[tokenKey]string{}
	for _, a := range snap.Events {
		k := tokenKey{a.Job, a.Token}
		switch a.Action {
		case store.ActionJobStart:
			starts[k] = true
		case store.ActionJobSucceed, store.ActionJobFail, store.ActionJobRetry:
			ends[k] = a.JobStatus
		}
	}
	logged := map[tokenKey]bool{}
	for _, e := range events {
		k := tokenKey{e.Job, e.Token}
		switch e.Kind {
		case KindClusterCreated:
			if !snap.Clusters[e.Cluster] {
				r.Lost++
				r.AckedMissing++
				r.problem("cluster %s created (acknowledged by %s) is missing", e.Cluster, e.Proc)
			}
		case KindJobCreated:
			if snap.Jobs[e.Job] == nil {
				r.Lost++
				r.AckedMissing++
				r.problem("job %s created (acknowledged by %s) is missing", e.Job, e.Proc)
			}
		case KindGrant, KindGrantLost:
			logged[k] = true
			if !starts[k] {
				r.AckedMissing++
				r.problem("grant of job %s token %d to %s (recovered %v) has no job.start event", e.Job, e.Token, e.Worker, e.Recovered)
			}
		case KindFinish:
			logged[k] = true
			if got, ok := ends[k]; !ok || got != e.Status {
				r.AckedMissing++
				r.problem("finish of job %s token %d as %s by %s (recovered %v): the database has %q", e.Job, e.Token, e.Status, e.Worker, e.Recovered, got)
			}
		}
	}
	for _, a := range snap.Events {
		if a.Token != 0 && !logged[tokenKey{a.Job, a.Token}] {
			r.Unlogged++
			r.problem("database event %s %s of job %s token %d by %s is in no log", a.ID, a.Action, a.Job, a.Token, a.Actor)
		}
	}
}

// checkDuplicates counts jobs completed more than once: more than one
// terminal event in the database, or more than one terminal finish (or
// two finishes with one token) in the logs.
func (r *Report) checkDuplicates(events []Event, snap *Snapshot) {
	dup := map[string]bool{}
	terminalEvents := map[string]int{}
	for _, a := range snap.Events {
		switch {
		case a.Action == store.ActionJobSucceed, a.Action == store.ActionJobFail, a.Action == store.ActionJobReject,
			a.Action == store.ActionJobRequeue && a.JobStatus == string(store.JobFailed):
			if terminalEvents[a.Job]++; terminalEvents[a.Job] == 2 {
				dup[a.Job] = true
				r.problem("job %s has two terminal events in the database (the second: %s by %s)", a.Job, a.Action, a.Actor)
			}
		}
	}
	terminalFinishes, perToken := map[string]int{}, map[tokenKey]int{}
	for _, e := range events {
		if e.Kind != KindFinish {
			continue
		}
		k := tokenKey{e.Job, e.Token}
		if perToken[k]++; perToken[k] == 2 {
			dup[e.Job] = true
			r.problem("job %s token %d finished twice in the logs", e.Job, e.Token)
		}
		if store.JobStatus(e.Status).Terminal() {
			if terminalFinishes[e.Job]++; terminalFinishes[e.Job] == 2 {
				dup[e.Job] = true
				r.problem("job %s completed twice in the logs (the second by %s)", e.Job, e.Worker)
			}
		}
	}
	r.Duplicated = len(dup)
}

// tokenProofs is what the logs prove about one token of one cluster: it
// was current at some instant inside each proof's [Call, Ack].
type tokenProofs struct {
	holders  []string // workers
	firstAck Event    // the proof that returned first
	lastCall Event    // the proof that was made last
}

// checkOverlaps checks that no two holders of a cluster overlapped. A
// grant or finish with token t shows t was current at some instant of
// [Call, Ack]. Tokens only grow and a token is never current again once a
// larger one was granted, so for tokens t1 < t2 of one cluster no proof of
// t1 may be made after a proof of t2 returned; and one token has one
// holder. (The same argument as storetest's torture check, on wall-clock
// times every process on the machine shares.)
func (r *Report) checkOverlaps(events []Event) {
	byCluster := map[string]map[int64]*tokenProofs{}
	for _, e := range events {
		if e.Kind != KindGrant && e.Kind != KindGrantLost && e.Kind != KindFinish {
			continue
		}
		m := byCluster[e.Cluster]
		if m == nil {
			m = map[int64]*tokenProofs{}
			byCluster[e.Cluster] = m
		}
		p := m[e.Token]
		if p == nil {
			p = &tokenProofs{firstAck: e, lastCall: e}
			m[e.Token] = p
		}
		if !slices.Contains(p.holders, e.Worker) {
			p.holders = append(p.holders, e.Worker)
		}
		if e.Ack < p.firstAck.Ack {
			p.firstAck = e
		}
		if e.Call > p.lastCall.Call {
			p.lastCall = e
		}
	}
	for cluster, m := range byCluster {
		tokens := make([]int64, 0, len(m))
		for t := range m {
			tokens = append(tokens, t)
		}
		slices.Sort(tokens)
		var latest *tokenProofs // among smaller tokens, the one proven last
		for _, t := range tokens {
			p := m[t]
			if len(p.holders) > 1 {
				r.Overlaps++
				r.problem("cluster %s token %d has holders %s", cluster, t, strings.Join(p.holders, ", "))
			}
			if latest != nil && latest.lastCall.Call > p.firstAck.Ack {
				r.Overlaps++
				r.problem("cluster %s: token %d (%s %s) was current after token %d (%s %s) was", cluster,
					latest.lastCall.Token, latest.lastCall.Kind, latest.lastCall.Worker, t, p.firstAck.Kind, p.firstAck.Worker)
			}
			if latest == nil || p.lastCall.Call > latest.lastCall.Call {
				latest = p
			}
		}
	}
}

// checkTokenOrder checks that grants' tokens grow per cluster: in the
// logs, a grant made after another was acknowledged has a larger token;
// in the database, job.start events in commit order carry growing tokens.
func (r *Report) checkTokenOrder(events []Event, snap *Snapshot) {
	grants := map[string][]Event{}
	for _, e := range events {
		if e.Kind == KindGrant || e.Kind == KindGrantLost {
			grants[e.Cluster] = append(grants[e.Cluster], e)
		}
	}
	for cluster, gs := range grants {
		byAck := slices.Clone(gs)
		slices.SortFunc(byAck, func(a, b Event) int { return cmp.Compare(a.Ack, b.Ack) })
		slices.SortFunc(gs, func(a, b Event) int { return cmp.Compare(a.Call, b.Call) })
		var maxBefore int64
		var maxEv Event
		i := 0
		for _, g := range gs {
			for ; i < len(byAck) && byAck[i].Ack < g.Call; i++ {
				if byAck[i].Token > maxBefore {
					maxBefore, maxEv = byAck[i].Token, byAck[i]
				}
			}
			if g.Token <= maxBefore {
				r.TokenRegressions++
				r.problem("cluster %s: grant of token %d to %s came after token %d (to %s) was acknowledged",
					cluster, g.Token, g.Worker, maxBefore, maxEv.Worker)
			}
		}
	}
	last := map[string]AuditRecord{}
	for _, a := range snap.Events {
		if a.Action != store.ActionJobStart {
			continue
		}
		if prev, ok := last[a.Cluster]; ok && a.Token <= prev.Token {
			r.TokenRegressions++
			r.problem("cluster %s: job.start %s has token %d after %s had %d", a.Cluster, a.ID, a.Token, prev.ID, prev.Token)
		}
		last[a.Cluster] = a
	}
}
