package storetest

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/anishathalye/porcupine"

	"github.com/ocpctl/ocpstore/store"
)

// TestTortureWireRoundTrip pins that an operation a torture child sends
// its parent arrives unchanged: the parent checks exactly what the child
// recorded, every field of the model's input and output included.
func TestTortureWireRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	n := func() int64 { return rng.Int64N(1 << 40) }
	for range 200 {
		op := porcupine.Operation{ClientId: rng.IntN(9), Call: n(), Return: n(),
			Input: tortureInput{kind: tortureKind(1 + rng.IntN(int(tkDeleteExpired))), cluster: rng.IntN(3) - 1,
				job: rng.IntN(8), worker: rng.IntN(9), token: n(), ttl: n(), lo: n(), hi: n()},
			Output: tortureOutput{res: tortureRes(1 + rng.IntN(int(trBad))),
				lock: tortureLock{job: rng.IntN(8), worker: rng.IntN(9), token: n(), lockedAt: n(), expires: n()},
				job:  tortureJob{status: store.JobStatuses()[rng.IntN(len(store.JobStatuses()))], attempts: rng.IntN(5), at: n()},
				n:    n(), why: "why"}}
		b, err := json.Marshal(toWire(op))
		if err != nil {
			t.Fatal(err)
		}
		var w wireOp
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatal(err)
		}
		if got := fromWire(w); !reflect.DeepEqual(got, op) {
			t.Fatalf("round trip changed the operation:\n got %+v\nwant %+v", got, op)
		}
	}
}
