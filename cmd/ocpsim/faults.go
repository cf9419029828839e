package main

import (
	"hash/fnv"
	"math/rand/v2"
	"strconv"
)

// Fault is what goes wrong with one run (attempt) of a job.
type Fault int

// The faults the simulation injects.
const (
	// FaultNone: the run succeeds.
	FaultNone Fault = iota
	// FaultTransient: the run fails transiently; the worker finishes it
	// with store.Retry, the job goes RETRYING and runs again after a
	// backoff (or fails once its attempts are used up).
	FaultTransient
	// FaultStall: the worker stops heartbeating and stalls past its
	// lock's expiry; the janitor requeues the job, another worker claims
	// it with a larger fencing token, and the stalled worker's late Finish
	// is refused with store.ErrLockLost.
	FaultStall
	// FaultCancel: the job's context is cancelled mid-run (a shutdown, a
	// lost deadline): the worker must not finish the job; its lock expires
	// and the janitor requeues it.
	FaultCancel
)

// String names the fault.
func (f Fault) String() string {
	switch f {
	case FaultTransient:
		return "transient"
	case FaultStall:
		return "stall"
	case FaultCancel:
		return "cancel"
	default:
		return "none"
	}
}

// RunKey names one run of a seeded job independently of its random ID.
type RunKey struct {
	Cluster int // the cluster's index in the run
	Seq     int // the job's position in its cluster's queue
	Attempt int // 1 for the first run
}

// FaultPlan decides the fault of each run. Keying it by RunKey (rather than
// drawing from a shared generator as workers go) makes the set of faults a
// pure function of the seed, whatever the scheduling.
type FaultPlan func(RunKey) Fault

// RandomFaults is the default plan: each run meets a fault with
// probability rate; of those, half are transient errors, a quarter stalls
// and a quarter cancellations.
func RandomFaults(seed uint64, rate float64) FaultPlan {
	return func(k RunKey) Fault {
		h := fnv.New64a()
		for _, n := range []int{k.Cluster, k.Seq, k.Attempt} {
			h.Write([]byte(strconv.Itoa(n) + "/"))
		}
		rng := rand.New(rand.NewPCG(seed, h.Sum64()))
		if rng.Float64() >= rate {
			return FaultNone
		}
		switch p := rng.Float64(); {
		case p < 0.5:
			return FaultTransient
		case p < 0.75:
			return FaultStall
		default:
			return FaultCancel
		}
	}
}
