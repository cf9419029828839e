package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// runCLI runs the command with args and no environment, and returns its
// exit status and output.
func runCLI(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli(ctx, args, func(string) string { return "" }, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// wantPassed fails t unless the output reports every check passed.
func wantPassed(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if code != 0 || !strings.Contains(stdout, "all checks passed") || strings.Count(stdout, "  ok   ") != 3 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestMemory(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, t.Context(), "-clusters", "6", "-workers", "3")
	wantPassed(t, code, stdout, stderr)
	if !strings.Contains(stdout, "on memory") || !strings.Contains(stdout, "checked 24 jobs") {
		t.Errorf("unexpected output:\n%s", stdout)
	}
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	code, stdout, stderr := runCLI(t, t.Context(), "-database-url", db.URL, "-clusters", "6", "-workers", "3")
	wantPassed(t, code, stdout, stderr)
	if !strings.Contains(stdout, "on PostgreSQL (database "+db.Name) {
		t.Errorf("unexpected output:\n%s", stdout)
	}
}

// TestHelp: -help says what the example does and which backend it uses;
// bad flags are refused with status 2.
func TestHelp(t *testing.T) {
	t.Parallel()
	code, _, stderr := runCLI(t, t.Context(), "-help")
	for _, want := range []string{"Claim, KeepAlive, work, Finish", "RecoverStuck", "in memory by default",
		"PostgreSQL with -database-url", "migrated first", "-clusters", "-workers"} {
		if code != 0 || !strings.Contains(stderr, want) {
			t.Errorf("-help: exit %d, lacks %q:\n%s", code, want, stderr)
		}
	}
	for _, args := range [][]string{{"-workers", "x"}, {"extra"}, {"-workers", "0"}, {"-clusters", "0"}} {
		if code, _, _ := runCLI(t, t.Context(), args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// TestInterruptStopsGracefully: an interrupt before the queue is done
// stops the fleet without verifying, and exits 1 saying so; every job a
// worker had claimed is finished or requeued, none left RUNNING, and no
// goroutine is left behind (TestMain).
func TestInterruptStopsGracefully(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	var out bytes.Buffer
	s := store.New(&interruptingBackend{Backend: memory.NewBackend(), interrupt: cancel})
	err := run(ctx, s, 8, 3, &out)
	if err == nil || !strings.Contains(err.Error(), "not verified") {
		t.Fatalf("run: %v, want it stopped before verifying\n%s", err, out.String())
	}
	running := store.JobRunning
	if jobs, _, err := s.Jobs.List(t.Context(), store.JobFilters{Status: &running}); err != nil || len(jobs) > 0 {
		t.Fatalf("%d jobs left RUNNING after the shutdown (%v)", len(jobs), err)
	}
}

// interruptingBackend calls interrupt after the first successful claim.
type interruptingBackend struct {
	store.Backend
	interrupt context.CancelFunc
}

func (b *interruptingBackend) Executor() store.Executor {
	return interruptingExecutor{Executor: b.Backend.Executor(), b: b}
}

type interruptingExecutor struct {
	store.Executor
	b *interruptingBackend
}

func (x interruptingExecutor) JobsClaim(ctx context.Context, p store.JobsClaimParams) ([]*store.Claimed, error) {
	got, err := x.Executor.JobsClaim(ctx, p)
	if len(got) > 0 {
		x.b.interrupt()
	}
	return got, err
}

// number returns the integer the first group of pattern matches in report.
func number(t *testing.T, report, pattern string) int {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(report)
	if m == nil {
		t.Fatalf("the report lacks %q:\n%s", pattern, report)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}
