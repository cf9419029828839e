package fleet

import (
	"cmp"
	"slices"
	"time"
)

// Stall is how long the fleet stalled at one disruption of the database.
type Stall struct {
	At        time.Time     // when the disruption was made (a kill, a switchover request)
	Noticed   time.Time     // the first failed store call at or after At (At if none)
	Recovered time.Time     // the reply of the first successful Claim made at or after Noticed
	Duration  time.Duration // Recovered - At; 0 if no Claim succeeded afterwards
}

// Stalls measures, for each disruption time in at, the time until the
// fleet's first successful Claim on the new leader: the first grant
// acknowledged by the store's reply whose call was made once some process
// had seen the disruption (a failed call), and so could not have been
// served by the old leader. For a kill that is within milliseconds of the
// kill; for a switchover, the old leader serves until it shuts down, and
// the stall counts from the request.
func Stalls(events []Event, at []time.Time) []Stall {
	var failures, grants []Event
	for _, e := range events {
		switch {
		case e.Kind == KindError && e.Class != ClassUnexpected:
			failures = append(failures, e)
		case e.Kind == KindGrant && !e.Recovered:
			grants = append(grants, e)
		}
	}
	slices.SortFunc(failures, func(a, b Event) int { return cmp.Compare(a.Ack, b.Ack) })
	slices.SortFunc(grants, func(a, b Event) int { return cmp.Compare(a.Call, b.Call) })
	// firstAck[j] is the earliest reply among the grants called at or
	// after grants[j]'s call.
	firstAck := make([]int64, len(grants))
	for j := len(grants) - 1; j >= 0; j-- {
		firstAck[j] = grants[j].Ack
		if j+1 < len(grants) {
			firstAck[j] = min(firstAck[j], firstAck[j+1])
		}
	}
	out := make([]Stall, len(at))
	for i, t := range at {
		s := Stall{At: t, Noticed: t}
		if j, _ := slices.BinarySearchFunc(failures, t.UnixNano(), func(e Event, v int64) int { return cmp.Compare(e.Ack, v) }); j < len(failures) {
			s.Noticed = time.Unix(0, failures[j].Ack)
		}
		if j, _ := slices.BinarySearchFunc(grants, s.Noticed.UnixNano(), func(e Event, v int64) int { return cmp.Compare(e.Call, v) }); j < len(grants) {
			s.Recovered = time.Unix(0, firstAck[j])
			s.Duration = s.Recovered.Sub(t)
		}
		out[i] = s
	}
	return out
}
