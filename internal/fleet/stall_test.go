package fleet_test

import (
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/internal/fleet"
)

// TestStalls pins what a stall measures: from the disruption to the reply
// of the first Claim made once the fleet had seen it (a failed call), so a
// grant the old leader answered after the disruption, or one found by
// reconciliation, does not end it.
func TestStalls(t *testing.T) {
	t.Parallel()
	base := time.Unix(1000, 0)
	at := func(ms int) int64 { return base.Add(time.Duration(ms) * time.Millisecond).UnixNano() }
	events := []fleet.Event{
		{Kind: fleet.KindGrant, Call: at(-50), Ack: at(-40)},
		{Kind: fleet.KindGrant, Call: at(5), Ack: at(8)}, // still the old leader: made before the failure was seen
		{Kind: fleet.KindError, Class: fleet.ClassUnavailable, Call: at(10), Ack: at(10)},
		{Kind: fleet.KindError, Class: fleet.ClassUnexpected, Call: at(12), Ack: at(12)},
		{Kind: fleet.KindGrant, Recovered: true, Call: at(9), Ack: at(900)},
		{Kind: fleet.KindGrant, Call: at(2500), Ack: at(2600)},
		{Kind: fleet.KindGrant, Call: at(2000), Ack: at(2800)}, // made earlier, answered later
		{Kind: fleet.KindError, Class: fleet.ClassUnknown, Call: at(5000), Ack: at(5000)},
	}
	got := fleet.Stalls(events, []time.Time{base, base.Add(4 * time.Second), base.Add(6 * time.Second)})
	want := []time.Duration{2600 * time.Millisecond, 0, 0}
	for i, s := range got {
		if s.Duration != want[i] {
			t.Errorf("disruption %d: stall %v (noticed %v, recovered %v), want %v", i, s.Duration,
				s.Noticed.Sub(base), s.Recovered.Sub(base), want[i])
		}
	}
	if got[1].Noticed != base.Add(5*time.Second) || !got[1].Recovered.IsZero() {
		t.Errorf("disruption 2: noticed %v recovered %v, want noticed at 5s and no recovery", got[1].Noticed.Sub(base), got[1].Recovered)
	}
	if got[2].Noticed != got[2].At {
		t.Errorf("disruption 3 with no failure after it: noticed %v, want its own time", got[2].Noticed.Sub(base))
	}
}
