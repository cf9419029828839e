package storetest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

// Environment variables that make RunTorture run long.
const (
	// EnvTortureDuration ("3m", any time.ParseDuration string) runs rounds
	// until that much wall time has passed. Give go test a -timeout above it.
	EnvTortureDuration = "OCPSTORE_TORTURE_DURATION"
	// EnvTortureOps runs that many worker actions (DefaultTortureOps
	// otherwise). With EnvTortureDuration, whichever limit comes first.
	EnvTortureOps = "OCPSTORE_TORTURE_OPS"
	// EnvTortureSeed seeds the workers' random choices, to replay a run's
	// choices (not its interleaving, which the scheduler decides).
	EnvTortureSeed = "OCPSTORE_TORTURE_SEED"
)

// DefaultTortureOps is the worker actions of a run without limits: the
// short run of go test ./..., under a second on memory and a few seconds on
// PostgreSQL.
const DefaultTortureOps = 4000

// TortureConfig sizes a torture run. Zero fields take their defaults.
type TortureConfig struct {
	Workers        int // goroutines, split over the two handles; default 8
	Clusters       int // clusters contended for; default 3
	JobsPerCluster int // jobs on each cluster, at most 8; default 3
	// Ops stops the run after this many worker actions (operations and
	// clock moves); Duration stops it after this much wall time, at the
	// end of a round. Both zero means Ops = DefaultTortureOps.
	Ops      int
	Duration time.Duration
	// RoundOps is the worker actions of one round (default 1000). Each
	// round ends with every worker idle; the state is then read back, the
	// round's history checked, and the next round starts from that state,
	// so a long run's checks cost memory and time in proportion to a round.
	RoundOps int
	// CheckTimeout bounds porcupine's check of one round (default 1m); a
	// check that times out fails the run without a verdict.
	CheckTimeout time.Duration
	// Seed seeds the workers' random choices; 0 picks one (reported in
	// the result).
	Seed uint64
	// VisualizationDir, when set, is where a violation's porcupine
	// visualization (an HTML file) is written; its path is in the error.
	VisualizationDir string
}

func (c TortureConfig) withDefaults() TortureConfig {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Workers, 8)
	def(&c.Clusters, 3)
	def(&c.JobsPerCluster, 3)
	def(&c.RoundOps, 1000)
	if c.Ops == 0 && c.Duration == 0 {
		c.Ops = DefaultTortureOps
	}
	if c.CheckTimeout == 0 {
		c.CheckTimeout = time.Minute
	}
	if c.Seed == 0 {
		c.Seed = rand.Uint64()
	}
	return c
}

func (c TortureConfig) validate() error {
	switch {
	case c.Workers < 2:
		return fmt.Errorf("torture: %d workers, want at least 2", c.Workers)
	case c.Clusters < 1:
		return fmt.Errorf("torture: %d clusters, want at least 1", c.Clusters)
	case c.JobsPerCluster < 1 || c.JobsPerCluster > maxTortureJobs:
		return fmt.Errorf("torture: %d jobs per cluster, want 1 to %d", c.JobsPerCluster, maxTortureJobs)
	case c.Ops < 0 || c.Duration < 0 || c.RoundOps < 1 || c.CheckTimeout < 0:
		return fmt.Errorf("torture: negative limits in %+v", c)
	}
	return nil
}

// TortureCount counts one kind of operation by outcome.
type TortureCount struct {
	OK int
	// Refused counts the refusals the contract prescribes: ErrLockHeld
	// (Acquire), ErrLockLost (Extend, Release, MarkRetry),
	// ErrInvalidStateTransition (MarkStarted), ErrNotFound (Get of a free
	// cluster's lock).
	Refused int
}

// TortureResult is what a torture run did. Every operation it counts was
// checked.
type TortureResult struct {
	Seed    uint64        // the seed of the workers' choices
	Rounds  int           // rounds run and checked
	Ops     int           // store calls recorded and checked, the end-of-round reads included
	Elapsed time.Duration // wall time, checks included

	Acquire, Extend, Release, MarkRetry, MarkStarted TortureCount
	GetLock, GetJob, DeleteExpired                   TortureCount

	// From the linearizations the checker found:
	Grants     int // Acquires that granted a free cluster's lock (new token)
	Takeovers  int // Acquires that took over another holder's expired lock (new token)
	Renewals   int // Acquires by the holder itself (same token)
	Superseded int // Extend, Release and MarkRetry refused because a larger token had been granted

	ExpiredDeleted int64 // rows DeleteExpired deleted
	ClockMoves     int   // moves of the ManualClock
	PastTTL        int   // ... of them longer than every TTL: every lock expired
	Aborted        int   // calls that failed with ErrSerialization (and changed nothing)
}

// String summarizes the result on a few lines.
func (r TortureResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d operations checked in %d rounds in %v (seed %d)\n", r.Ops, r.Rounds, r.Elapsed.Round(time.Millisecond), r.Seed)
	for _, k := range []struct {
		name string
		c    TortureCount
	}{{"Acquire", r.Acquire}, {"Extend", r.Extend}, {"Release", r.Release}, {"MarkRetry (fenced)", r.MarkRetry},
		{"MarkStarted", r.MarkStarted}, {"Get lock", r.GetLock}, {"Get job", r.GetJob}, {"DeleteExpired", r.DeleteExpired}} {
		fmt.Fprintf(&b, "  %-19s %7d ok %7d refused\n", k.name, k.c.OK, k.c.Refused)
	}
	fmt.Fprintf(&b, "  grants %d, expiry takeovers %d, renewals %d, stale holders refused %d, expired rows deleted %d\n",
		r.Grants, r.Takeovers, r.Renewals, r.Superseded, r.ExpiredDeleted)
	fmt.Fprintf(&b, "  clock moves %d (%d past every TTL), serialization failures %d", r.ClockMoves, r.PastTTL, r.Aborted)
	return b.String()
}

// tortureConfigFromEnv reads EnvTortureDuration, EnvTortureOps and
// EnvTortureSeed.
func tortureConfigFromEnv() (TortureConfig, error) {
	var cfg TortureConfig
	if v := os.Getenv(EnvTortureDuration); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return cfg, fmt.Errorf("%s=%q: want a positive duration such as 3m", EnvTortureDuration, v)
		}
		cfg.Duration = d
	}
	if v := os.Getenv(EnvTortureOps); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return cfg, fmt.Errorf("%s=%q: want a positive number of operations", EnvTortureOps, v)
		}
		cfg.Ops = n
	}
	if v := os.Getenv(EnvTortureSeed); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return cfg, fmt.Errorf("%s=%q: want a positive integer", EnvTortureSeed, v)
		}
		cfg.Seed = n
	}
	return cfg, nil
}
