package storetest

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
)

// check checks one round's history (see Torture) and adds it to the result.
func (r *tortureRun) check(history []porcupine.Operation, moves []tortureMove) error {
	r.count(history)
	res, info := porcupine.CheckOperationsVerbose(r.model, history, r.cfg.CheckTimeout)
	var errs []error
	switch res {
	case porcupine.Ok:
		r.classify(history, info)
	case porcupine.Unknown:
		return fmt.Errorf("porcupine found no verdict on %d operations within %v", len(history), r.cfg.CheckTimeout)
	default:
		msg := r.explain(history, info)
		if path, err := r.visualize(info, moves); err != nil {
			msg += fmt.Sprintf("\n(visualization not written: %v)", err)
		} else if path != "" {
			msg += "\nvisualization: " + path
		}
		errs = append(errs, fmt.Errorf("%w: history not linearizable:\n%s", ErrTortureViolation, msg))
	}
	if err := r.checkOverlap(history); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// count adds the round's operations to the result's counters.
func (r *tortureRun) count(history []porcupine.Operation) {
	res := &r.result
	for _, op := range history {
		in, out := op.Input.(tortureInput), op.Output.(tortureOutput)
		if in.kind == tkInit {
			continue
		}
		res.Ops++
		if in.kind == tkAcquire && out.res == trOK {
			r.granted[in.cluster] = max(r.granted[in.cluster], out.lock.token)
		}
		if out.res == trAborted {
			res.Aborted++
			continue
		}
		var c *TortureCount
		switch in.kind {
		case tkAcquire:
			c = &res.Acquire
		case tkExtend:
			c = &res.Extend
		case tkRelease:
			c = &res.Release
		case tkFenced:
			c = &res.MarkRetry
		case tkStart:
			c = &res.MarkStarted
		case tkGetLock:
			c = &res.GetLock
		case tkGetJob:
			c = &res.GetJob
		case tkDeleteExpired:
			c = &res.DeleteExpired
			res.ExpiredDeleted += out.n
		}
		if out.res == trOK {
			c.OK++
		} else {
			c.Refused++
		}
	}
}

// classify replays the linearization porcupine found for each cluster and
// counts fresh grants, takeovers, renewals and refused stale holders.
func (r *tortureRun) classify(history []porcupine.Operation, info porcupine.LinearizationInfo) {
	parts := torturePartition(history, len(r.clusters))
	for p, lins := range info.PartialLinearizationsOperations() {
		for _, lin := range lins {
			if len(lin) == len(parts[p]) {
				r.classifyOne(lin)
				break
			}
		}
	}
}

// classifyOne counts along one cluster's linearization.
func (r *tortureRun) classifyOne(lin []porcupine.Operation) {
	res := &r.result
	states := []tortureState{{}}
	for _, op := range lin {
		in, out := op.Input.(tortureInput), op.Output.(tortureOutput)
		var next []tortureState
		var pre *tortureState
		for i, s := range states {
			if n := s.step(in, out); len(n) > 0 {
				next = append(next, n...)
				if pre == nil {
					pre = &states[i]
				}
			}
		}
		if pre == nil {
			return // cannot happen for a linearization porcupine accepted
		}
		switch {
		case in.kind == tkAcquire && out.res == trOK:
			switch {
			case !pre.held:
				res.Grants++
			case pre.lock.job == in.job && pre.lock.worker == in.worker:
				res.Renewals++
			default:
				res.Takeovers++
			}
		case (in.kind == tkExtend || in.kind == tkRelease || in.kind == tkFenced) && out.res == trLost:
			if in.token < pre.maxToken {
				res.Superseded++
			}
		}
		states = slices.Compact(next)
	}
}

// explain describes, for each cluster whose history does not linearize,
// the longest linearization porcupine found, the state it ends in, and the
// operations none of which can come next: the excerpt of the history where
// the backend and the model part.
func (r *tortureRun) explain(history []porcupine.Operation, info porcupine.LinearizationInfo) string {
	var b strings.Builder
	parts := torturePartition(history, len(r.clusters))
	for p, lins := range info.PartialLinearizationsOperations() {
		var longest []porcupine.Operation
		for _, lin := range lins {
			if len(lin) > len(longest) {
				longest = lin
			}
		}
		if len(longest) == len(parts[p]) {
			continue
		}
		states := []tortureState{{}}
		done := map[int64]bool{}
		for _, op := range longest {
			var next []tortureState
			for _, s := range states {
				next = append(next, s.step(op.Input.(tortureInput), op.Output.(tortureOutput))...)
			}
			states = slices.Compact(next)
			done[op.Call] = true
		}
		fmt.Fprintf(&b, "cluster %d (%s), round %d: %d of %d operations linearize.\n",
			p, r.clusters[p].id, r.result.Rounds+1, len(longest), len(parts[p]))
		b.WriteString("  last operations of the longest linearization:\n")
		for _, op := range longest[max(0, len(longest)-8):] {
			b.WriteString("    " + describeTortureStamped(op) + "\n")
		}
		for _, s := range states {
			fmt.Fprintf(&b, "  state after it: %v\n", s)
		}
		b.WriteString("  none of these can come next:\n")
		var left []porcupine.Operation
		for _, op := range parts[p] {
			if !done[op.Call] {
				left = append(left, op)
			}
		}
		first := left[0].Return
		for _, op := range left {
			first = min(first, op.Return)
		}
		for _, op := range left {
			if op.Call <= first {
				b.WriteString("    " + describeTortureStamped(op) + "\n")
			}
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// describeTortureStamped describes an operation with its worker and logical times.
func describeTortureStamped(op porcupine.Operation) string {
	return fmt.Sprintf("[%d-%d] w%d %s", op.Call, op.Return, op.ClientId,
		describeTortureOp(op.Input.(tortureInput), op.Output.(tortureOutput)))
}

// visualize writes porcupine's visualization of the round, with the clock
// moves as annotations, to a new file in VisualizationDir and returns its
// path ("" when no directory is configured).
func (r *tortureRun) visualize(info porcupine.LinearizationInfo, moves []tortureMove) (string, error) {
	if r.cfg.VisualizationDir == "" {
		return "", nil
	}
	anns := make([]porcupine.Annotation, len(moves))
	for i, m := range moves {
		anns[i] = porcupine.Annotation{Tag: "clock", Start: m.stamp,
			Description: fmt.Sprintf("clock %s -> %s", fmtMicros(m.from), fmtMicros(m.to))}
	}
	info.AddAnnotations(anns)
	f, err := os.CreateTemp(r.cfg.VisualizationDir, fmt.Sprintf("ocpstore-torture-round%d-*.html", r.result.Rounds+1))
	if err != nil {
		return "", err
	}
	err = porcupine.Visualize(r.model, info, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return f.Name(), err
}

// tortureEvidence is what the overlap check keeps of a cluster from one
// round to the next: the largest token proven current so far, its holder,
// and an operation that proved it.
type tortureEvidence struct {
	token       int64
	job, worker int
	op          porcupine.Operation
}

// tortureProof gathers one round's proofs that a token was current.
type tortureProof struct {
	job, worker int
	first       porcupine.Operation // the proof that returned first
	last        porcupine.Operation // the proof that was called last
}

// provesCurrent returns the token an operation provesCurrent current at some instant
// between its call and its return, with the token's holder: a granted or
// renewed lock, a successful Extend, Release or fenced write, a lock row
// read. ok is false for every other operation.
func provesCurrent(in tortureInput, out tortureOutput) (token int64, job, worker int, ok bool) {
	if out.res != trOK {
		return 0, 0, 0, false
	}
	switch in.kind {
	case tkAcquire, tkGetLock:
		return out.lock.token, out.lock.job, out.lock.worker, true
	case tkExtend, tkRelease, tkFenced:
		return in.token, in.job, in.worker, true
	}
	return 0, 0, 0, false
}

// checkOverlap checks, independently of porcupine, that no two holders'
// intervals overlap. Each operation that provesCurrent a token current (see
// provesCurrent) shows that the token was current at some instant between its
// call and its return. Tokens grow with each grant and a token is never
// current again once a larger one has been granted, so the periods during
// which the tokens t1 < t2 of one cluster are current are disjoint, t1's
// first. Hence, exactly:
//
//   - no proof of t1 may be called after a proof of t2 returned (in
//     logical time: both are stamps of one counter), which also means
//     that tokens of grants grow in real-time order; and
//   - every proof of a token names the same holder (job and worker).
//
// Rounds are separated by a quiescent point, so across rounds this is: no
// token below the largest one proven current in an earlier round may be
// proven current again, and that largest one keeps its holder.
func (r *tortureRun) checkOverlap(history []porcupine.Operation) error {
	proofs := make([]map[int64]*tortureProof, len(r.clusters))
	for c := range proofs {
		proofs[c] = map[int64]*tortureProof{}
	}
	var errs []error
	for _, op := range history {
		in, out := op.Input.(tortureInput), op.Output.(tortureOutput)
		t, job, worker, ok := provesCurrent(in, out)
		if !ok {
			continue
		}
		p := proofs[in.cluster][t]
		switch {
		case p == nil:
			proofs[in.cluster][t] = &tortureProof{job: job, worker: worker, first: op, last: op}
			continue
		case p.job != job || p.worker != worker:
			errs = append(errs, fmt.Errorf("%w: cluster %d: token %d has two holders:\n  %s\n  %s",
				ErrTortureViolation, in.cluster, t, describeTortureStamped(p.first), describeTortureStamped(op)))
		}
		if op.Return < p.first.Return {
			p.first = op
		}
		if op.Call > p.last.Call {
			p.last = op
		}
	}
	for c, byToken := range proofs {
		prev := &r.evidence[c]
		tokens := make([]int64, 0, len(byToken))
		for t := range byToken {
			tokens = append(tokens, t)
		}
		slices.Sort(tokens)
		var latest *tortureProof // the proof of a smaller token called last
		var latestToken int64
		overlapped := false
		for _, t := range tokens {
			p := byToken[t]
			switch {
			case t < prev.token:
				errs = append(errs, fmt.Errorf("%w: cluster %d: token %d current again after token %d was, in an earlier round:\n  earlier: %s\n  now:     %s",
					ErrTortureViolation, c, t, prev.token, describeTortureStamped(prev.op), describeTortureStamped(p.last)))
			case t == prev.token && (p.job != prev.job || p.worker != prev.worker):
				errs = append(errs, fmt.Errorf("%w: cluster %d: token %d has two holders:\n  %s\n  %s",
					ErrTortureViolation, c, t, describeTortureStamped(prev.op), describeTortureStamped(p.first)))
			}
			if latest != nil && latest.last.Call > p.first.Return && !overlapped {
				// One report per cluster: a late stale proof overlaps every
				// larger token proven before it.
				overlapped = true
				errs = append(errs, fmt.Errorf("%w: cluster %d: holders overlap: token %d was current after token %d was:\n  %s\n  returned before\n  %s",
					ErrTortureViolation, c, latestToken, t, describeTortureStamped(p.first), describeTortureStamped(latest.last)))
			}
			if latest == nil || p.last.Call > latest.last.Call {
				latest, latestToken = p, t
			}
		}
		if n := len(tokens); n > 0 && tokens[n-1] > prev.token {
			p := byToken[tokens[n-1]]
			*prev = tortureEvidence{token: tokens[n-1], job: p.job, worker: p.worker, op: p.last}
		}
	}
	return errors.Join(errs...)
}
