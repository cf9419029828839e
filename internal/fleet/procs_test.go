package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fleetShape is the size and pace of a fleet.
type fleetShape struct {
	workerProcs, workersPerProc int
	ttl                         time.Duration
	workMin, workMax            time.Duration
	clusters, backlog           int
}

// buildFleet builds cmd/ocpfleet into a temporary directory, with the race
// detector when the test has it, and returns the binary's path.
func buildFleet(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ocpfleet")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(t.Context(), "go", append(args, "./cmd/ocpfleet")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/ocpfleet: %v\n%s", err, out)
	}
	return bin
}

// fleetProc is one running fleet process.
type fleetProc struct {
	name, role, log string
	cmd             *exec.Cmd
	done            chan struct{} // closed when it has exited
	err             error         // its exit, once done is closed
	stopAsked       time.Time     // when it was sent SIGTERM (zero: not yet)
	mu              sync.Mutex
}

// runningFleet is the processes of one fleet.
type runningFleet struct {
	t     *testing.T
	procs []*fleetProc
}

// startFleet starts a producer, a janitor and shape.workerProcs worker
// processes on url, logging to the test's temporary directory. Every
// process is killed when the test ends, if it still runs.
func startFleet(t *testing.T, bin, url string, shape fleetShape) *runningFleet {
	t.Helper()
	dir := t.TempDir()
	f := &runningFleet{t: t}
	start := func(role, name string, args ...string) {
		p := &fleetProc{name: name, role: role, log: filepath.Join(dir, name+".jsonl"), done: make(chan struct{})}
		args = append([]string{"-role", role, "-name", name, "-url", url, "-log", p.log,
			"-ttl", shape.ttl.String()}, args...)
		p.cmd = exec.Command(bin, args...)
		p.cmd.Stdout, p.cmd.Stderr = os.Stderr, os.Stderr
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		go func() {
			err := p.cmd.Wait()
			p.mu.Lock()
			p.err = err
			p.mu.Unlock()
			close(p.done)
		}()
		t.Cleanup(func() {
			_ = p.cmd.Process.Kill()
			<-p.done
		})
		f.procs = append(f.procs, p)
	}
	start("producer", "producer", "-workers", "1", "-clusters", strconv.Itoa(shape.clusters),
		"-backlog", strconv.Itoa(shape.backlog))
	start("janitor", "janitor", "-workers", "1", "-interval", "500ms")
	for i := range shape.workerProcs {
		start("worker", fmt.Sprintf("workers%d", i+1), "-workers", strconv.Itoa(shape.workersPerProc),
			"-work-min", shape.workMin.String(), "-work-max", shape.workMax.String())
	}
	return f
}

// stop sends SIGTERM to the processes of the given roles and waits up to
// timeout for each to exit; it returns the names of those that did not
// (hung), which it then kills.
func (f *runningFleet) stop(timeout time.Duration, roles ...string) (hung []string) {
	var ps []*fleetProc
	for _, p := range f.procs {
		for _, r := range roles {
			if p.role == r {
				ps = append(ps, p)
			}
		}
	}
	for _, p := range ps {
		p.mu.Lock()
		p.stopAsked = time.Now()
		p.mu.Unlock()
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(timeout)
	for _, p := range ps {
		select {
		case <-p.done:
		case <-deadline:
			hung = append(hung, p.name)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	return hung
}

// crashed describes the processes that exited unasked or with a failure.
func (f *runningFleet) crashed() []string {
	var out []string
	for _, p := range f.procs {
		select {
		case <-p.done:
		default:
			continue
		}
		p.mu.Lock()
		err, asked := p.err, !p.stopAsked.IsZero()
		p.mu.Unlock()
		var exit *exec.ExitError
		switch {
		case !asked:
			out = append(out, fmt.Sprintf("%s exited unasked (%v)", p.name, err))
		case errors.As(err, &exit) && exit.ExitCode() >= 0:
			out = append(out, fmt.Sprintf("%s: %v", p.name, err))
		}
	}
	return out
}

// logs returns the processes' log files.
func (f *runningFleet) logs() []string {
	out := make([]string, len(f.procs))
	for i, p := range f.procs {
		out[i] = p.log
	}
	return out
}

// waitFor polls cond every 100 ms until it holds or ctx ends.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, context.Cause(ctx))
		case <-t.C:
		}
	}
	return nil
}
