package storetest

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/ocpctl/ocpstore/store"
)

// TortureProcesses is how many OS processes RunTortureProcesses runs its
// workers in, and tortureWorkersPerProcess how many workers each runs.
const (
	TortureProcesses         = 3
	tortureWorkersPerProcess = 3
)

// Environment of a torture child process: the file describing its part
// in the run (a tortureSpec), and its number.
const (
	envTortureChild = "OCPSTORE_TORTURE_CHILD"
	envTortureProc  = "OCPSTORE_TORTURE_PROC"
)

// OpenInProcess opens a Store on the database dsn names whose backend
// reads clock. RunTortureProcesses calls it once in every process.
type OpenInProcess func(t *testing.T, dsn string, clock store.Clock) *store.Store

// tortureSpec is what a child needs to take part in a run.
type tortureSpec struct {
	DSN, Shared    string
	Base           time.Time
	Seed           uint64
	WorkersPerProc int
	Workers        int // over every process
	Clusters       []tortureSpecCluster
}

type tortureSpecCluster struct {
	ID   string
	Jobs []string
}

// RunTortureProcesses is RunTorture across TortureProcesses OS processes
// on one database, as worker processes on several machines would run: the
// test binary re-executes itself once per process (running only the
// calling test, with envTortureChild set), each child runs its workers on
// its own Store from open, and the parent merges their histories and
// checks them together, round by round, exactly as Torture checks the
// goroutines of one process. The processes share, through a file mapped
// into each of them, the logical clock that stamps every call and return,
// the round's budget, and the ManualClock the backend reads (sharedClock),
// so one history and one model time cover them all.
//
// newDSN returns the database (called in the parent only). The run's size
// comes from the environment as RunTorture's does. It fails the test on a
// violation, when a child fails, or when the processes did not actually
// run concurrently (no two operations of different processes overlapped).
// Call it from a test of its own: a child runs that test only.
func RunTortureProcesses(t *testing.T, newDSN func(t *testing.T) string, open OpenInProcess) {
	t.Helper()
	if spec := os.Getenv(envTortureChild); spec != "" {
		if err := runTortureChild(t, spec, open); err != nil {
			t.Fatal(err)
		}
		return
	}
	cfg, err := tortureConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = TortureProcesses * tortureWorkersPerProcess
	cfg.VisualizationDir = os.TempDir()
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mem, err := newSharedMemory(filepath.Join(dir, "shared"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mem.close() })
	began := time.Now()
	r := newSharedRun(cfg, mem, epoch)
	spec := tortureSpec{DSN: newDSN(t), Shared: filepath.Join(dir, "shared"), Base: epoch, Seed: cfg.Seed,
		WorkersPerProc: tortureWorkersPerProcess, Workers: cfg.Workers}
	s := open(t, spec.DSN, r.clock.(store.Clock))
	states, err := r.setUp(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.clusters {
		spec.Clusters = append(spec.Clusters, tortureSpecCluster{ID: c.id, Jobs: c.jobs})
	}
	kids := startTortureChildren(t, dir, spec)
	var cross crossProcess
	for done := 0; cfg.Ops == 0 || done < cfg.Ops; {
		if cfg.Duration > 0 && time.Since(began) >= cfg.Duration {
			break
		}
		n := cfg.RoundOps
		if cfg.Ops > 0 {
			n = min(n, cfg.Ops-done)
		}
		done += n
		states, err = r.roundAcross(t, s, kids, states, n, &cross)
		r.result.Elapsed = time.Since(began)
		if err != nil {
			t.Fatalf("torture round %d across %d processes: %v", r.result.Rounds+1, len(kids), err)
		}
		r.result.Rounds++
	}
	stopTortureChildren(t, kids)
	t.Logf("torture across %d processes: %v\n  operations per process %v; operations overlapping one of another process: %d",
		len(kids), r.result, cross.perProc, cross.overlapping)
	for p, n := range cross.perProc {
		if n == 0 {
			t.Errorf("process %d recorded no operation", p)
		}
	}
	if cross.overlapping == 0 {
		t.Error("no operation of one process overlapped one of another: the processes did not run concurrently")
	}
}

// newSharedRun returns a run whose counters and clock live in mem.
func newSharedRun(cfg TortureConfig, mem *sharedMemory, base time.Time) *tortureRun {
	r := &tortureRun{cfg: cfg, clock: sharedClock{base: base, micros: mem.slot(slotClock)}, base: base,
		jobs: map[string][2]int{}, workers: map[string]int{}, model: tortureModel(cfg.Clusters),
		evidence: make([]tortureEvidence, cfg.Clusters), granted: make([]int64, cfg.Clusters),
		result: TortureResult{Seed: cfg.Seed},
		stamp:  mem.slot(slotStamp), budget: mem.slot(slotBudget), pastTTL: mem.slot(slotPastTTL)}
	for i := range cfg.Workers {
		r.workers[tortureWorkerName(i)] = i
	}
	return r
}

// tortureWorkerName is worker i's ID (LockedBy).
func tortureWorkerName(i int) string { return fmt.Sprintf("torture-w%d", i) }

// crossProcess is the evidence that the processes ran concurrently.
type crossProcess struct {
	perProc     []int // operations recorded per process
	overlapping int   // operations overlapping (in logical time) one of another process
}

// add counts one round's worker operations.
func (c *crossProcess) add(ops []porcupine.Operation, procs int) {
	if c.perProc == nil {
		c.perProc = make([]int, procs)
	}
	ops = slices.Clone(ops)
	slices.SortFunc(ops, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
	lastReturn := make([]int64, procs) // per process, the latest return of an operation called earlier
	for _, op := range ops {
		p := op.ClientId / tortureWorkersPerProcess
		c.perProc[p]++
		for q, ret := range lastReturn {
			if q != p && ret > op.Call {
				c.overlapping++
				break
			}
		}
		lastReturn[p] = max(lastReturn[p], op.Return)
	}
}

// roundAcross is tortureRun.round with the workers in the child
// processes: it sets the round's start states, has every child work until
// the shared budget is spent, merges their histories, reads the end
// states back and checks the round.
func (r *tortureRun) roundAcross(t *testing.T, s *store.Store, kids []*tortureChild, states []tortureState, n int, cross *crossProcess) ([]tortureState, error) {
	var history []porcupine.Operation
	client := r.cfg.Workers
	for c, st := range states {
		st.maxToken = max(st.maxToken, r.granted[c])
		stamp := r.stamp.Add(1)
		history = append(history, porcupine.Operation{ClientId: client,
			Input: tortureInput{kind: tkInit, cluster: c, init: st}, Call: stamp, Output: tortureOutput{}, Return: stamp})
	}
	r.budget.Store(int64(n))
	for _, k := range kids {
		if err := k.send(); err != nil {
			return nil, err
		}
	}
	var moves []tortureMove
	var worked []porcupine.Operation
	var errs []error
	for _, k := range kids {
		res, err := k.receive()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, w := range res.Ops {
			worked = append(worked, fromWire(w))
		}
		for _, m := range res.Moves {
			moves = append(moves, tortureMove{stamp: m.Stamp, from: m.From, to: m.To})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cross.add(worked, len(kids))
	history = append(history, worked...)
	end, next, err := r.observe(t.Context(), s, client)
	if err != nil {
		return nil, err
	}
	history = append(history, end...)
	r.result.ClockMoves += len(moves)
	r.result.PastTTL = int(r.pastTTL.Load())
	if err := r.check(history, moves); err != nil {
		return nil, err
	}
	return next, nil
}

// tortureChild is a child process of the run, seen from the parent.
type tortureChild struct {
	proc     int
	cmd      *exec.Cmd
	commands *os.File      // a line per round: "work until the budget is spent"
	results  *bufio.Reader // a tortureRoundResult per round
	output   bytes.Buffer  // the child's stdout and stderr
	done     chan error    // its exit
}

// startTortureChildren writes the spec and starts the children: the test
// binary running the calling test, with two pipes (fds 3 and 4) for
// commands and results.
func startTortureChildren(t *testing.T, dir string, spec tortureSpec) []*tortureChild {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var runPattern []string
	for _, part := range strings.Split(t.Name(), "/") {
		runPattern = append(runPattern, "^"+regexp.QuoteMeta(part)+"$")
	}
	kids := make([]*tortureChild, TortureProcesses)
	for p := range kids {
		k := &tortureChild{proc: p, done: make(chan error, 1)}
		cmdR, cmdW, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		resR, resW, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		k.cmd = exec.Command(exe, "-test.run="+strings.Join(runPattern, "/"), "-test.count=1", "-test.v")
		k.cmd.Env = append(os.Environ(), envTortureChild+"="+path, envTortureProc+"="+strconv.Itoa(p))
		k.cmd.ExtraFiles = []*os.File{cmdR, resW}
		k.cmd.Stdout, k.cmd.Stderr = &k.output, &k.output
		err = k.cmd.Start()
		_, _ = cmdR.Close(), resW.Close() // the child's ends
		if err != nil {
			t.Fatalf("start torture process %d: %v", p, err)
		}
		go func() { k.done <- k.cmd.Wait() }()
		k.commands, k.results = cmdW, bufio.NewReader(resR)
		t.Cleanup(func() {
			_ = cmdW.Close()
			_ = resR.Close()
			_ = k.cmd.Process.Kill() // a no-op once it has exited
		})
		kids[p] = k
	}
	return kids
}

// send tells the child to work the round.
func (k *tortureChild) send() error {
	if _, err := k.commands.Write([]byte("round\n")); err != nil {
		return fmt.Errorf("torture process %d: %w\n%s", k.proc, err, k.output.String())
	}
	return nil
}

// receive reads the child's round.
func (k *tortureChild) receive() (tortureRoundResult, error) {
	var res tortureRoundResult
	line, err := k.results.ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &res)
	}
	if err == nil && res.Err != "" {
		err = errors.New(res.Err)
	}
	if err != nil {
		select {
		case <-k.done: // the output is complete
		case <-time.After(10 * time.Second):
		}
		return res, fmt.Errorf("torture process %d: %w\noutput:\n%s", k.proc, err, k.output.String())
	}
	return res, nil
}

// stopTortureChildren closes the command pipes, on which the children
// return, and checks that each exited cleanly.
func stopTortureChildren(t *testing.T, kids []*tortureChild) {
	t.Helper()
	for _, k := range kids {
		_ = k.commands.Close()
	}
	for _, k := range kids {
		if err := <-k.done; err != nil {
			t.Errorf("torture process %d: %v\noutput:\n%s", k.proc, err, k.output.String())
		}
	}
}
