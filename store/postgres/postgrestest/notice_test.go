package postgrestest

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestAnnounceSkip points the announcement at a file: one line per
// process, naming the package's directory and the reason.
func TestAnnounceSkip(t *testing.T) {
	// Not parallel: it swaps package state, restored before it returns.
	tty := filepath.Join(t.TempDir(), "tty")
	if err := os.WriteFile(tty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	savedPath := ttyPath
	ttyPath, announced = tty, sync.Once{}
	t.Cleanup(func() { ttyPath, announced = savedPath, sync.Once{} })

	announceSkip(errors.New("no server, first"))
	announceSkip(errors.New("no server, second"))
	got, err := os.ReadFile(tty)
	if err != nil {
		t.Fatal(err)
	}
	want := "SKIP\t./store/postgres/postgrestest: PostgreSQL tests not run (no server, first; go test -v says how to run them)\n"
	if string(got) != want {
		t.Errorf("announced %q, want %q", got, want)
	}
}

func TestAnnounceSkipWithoutTerminal(t *testing.T) {
	savedPath := ttyPath
	ttyPath, announced = filepath.Join(t.TempDir(), "missing", "tty"), sync.Once{}
	t.Cleanup(func() { ttyPath, announced = savedPath, sync.Once{} })
	announceSkip(errors.New("no server")) // must neither fail nor create anything
	if _, err := os.Stat(ttyPath); !os.IsNotExist(err) {
		t.Errorf("announceSkip without a terminal: %v", err)
	}
}

// envParallelChild marks the test binary's run as TestSetDefaultParallel's
// child, which prints the -parallel it runs with.
const envParallelChild = "POSTGRESTEST_PARALLEL_CHILD"

// TestSetDefaultParallel runs this binary (whose TestMain calls
// SetDefaultParallel(8)) with and without -test.parallel.
func TestSetDefaultParallel(t *testing.T) {
	if os.Getenv(envParallelChild) != "" {
		t.Logf("parallel=%s", flag.Lookup("test.parallel").Value)
		return
	}
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "parallel=8"},
		{[]string{"-test.parallel=3"}, "parallel=3"},
	} {
		args := append([]string{"-test.run=^TestSetDefaultParallel$", "-test.v"}, tc.args...)
		cmd := exec.CommandContext(t.Context(), os.Args[0], args...)
		cmd.Env = append(os.Environ(), envParallelChild+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("child with %q: %v, want %q in:\n%s", tc.args, err, tc.want, out)
		}
	}
}
