package storetest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
)

// runTortureChild is a child process of RunTortureProcesses: it opens its
// Store, and for each line its parent sends on fd 3 runs its workers until
// the shared budget is spent and sends their operations back on fd 4. It
// returns when the parent closes the command pipe.
func runTortureChild(t *testing.T, specPath string, open OpenInProcess) error {
	proc, err := strconv.Atoi(os.Getenv(envTortureProc))
	if err != nil {
		return fmt.Errorf("torture child: %s: %w", envTortureProc, err)
	}
	b, err := os.ReadFile(specPath)
	if err != nil {
		return fmt.Errorf("torture child: %w", err)
	}
	var spec tortureSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("torture child: spec: %w", err)
	}
	mem, err := newSharedMemory(spec.Shared, false)
	if err != nil {
		return err
	}
	defer mem.close()
	cfg := TortureConfig{Workers: spec.Workers, Clusters: len(spec.Clusters), JobsPerCluster: len(spec.Clusters[0].Jobs),
		Seed: spec.Seed}
	r := newSharedRun(cfg, mem, spec.Base)
	for c, sc := range spec.Clusters {
		r.clusters = append(r.clusters, tortureCluster{id: sc.ID, jobs: sc.Jobs})
		for j, id := range sc.Jobs {
			r.jobs[id] = [2]int{c, j}
		}
	}
	s := open(t, spec.DSN, r.clock.(sharedClock))
	workers := make([]*tortureWorker, spec.WorkersPerProc)
	for i := range workers {
		id := proc*spec.WorkersPerProc + i
		workers[i] = &tortureWorker{r: r, id: id, name: tortureWorkerName(id), s: s,
			rng: rand.New(rand.NewPCG(spec.Seed, uint64(id)))}
	}
	commands := bufio.NewScanner(os.NewFile(3, "torture commands"))
	results := json.NewEncoder(os.NewFile(4, "torture results"))
	for commands.Scan() {
		res := workRound(t.Context(), r, workers)
		if err := results.Encode(res); err != nil {
			return fmt.Errorf("torture child %d: send round: %w", proc, err)
		}
	}
	return commands.Err()
}

// workRound runs the workers until the shared budget is spent (or one
// fails, which spends it for every process) and returns what they did.
func workRound(ctx context.Context, r *tortureRun, workers []*tortureWorker) tortureRoundResult {
	errs := make([]error, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		w.ops, w.moves = w.ops[:0], w.moves[:0]
		wg.Go(func() {
			for r.budget.Add(-1) >= 0 {
				if err := w.step(ctx); err != nil {
					errs[i] = err
					r.budget.Store(-1 << 40) // stop every process
					return
				}
			}
		})
	}
	wg.Wait()
	var res tortureRoundResult
	if err := errors.Join(errs...); err != nil {
		res.Err = err.Error()
		return res
	}
	for _, w := range workers {
		for _, op := range w.ops {
			res.Ops = append(res.Ops, toWire(op))
		}
		for _, m := range w.moves {
			res.Moves = append(res.Moves, wireMove{Stamp: m.stamp, From: m.from, To: m.to})
		}
	}
	return res
}
