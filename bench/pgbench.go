package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// findPgbench returns the pgbench to run: flag when it names one ("none"
// disables the baseline), else pgbench on PATH, else the newest under
// /usr/lib/postgresql/*/bin. Empty when there is none.
func findPgbench(flag string) string {
	switch flag {
	case "none":
		return ""
	case "":
	default:
		return flag
	}
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(found) == 0 {
		return ""
	}
	slices.Sort(found)
	return found[len(found)-1]
}

// pgbenchRun is one pgbench invocation.
type pgbenchRun struct {
	bin      string
	dbURL    string
	script   string
	clients  int
	duration time.Duration
	vars     map[string]string // -D name=value
}

// args returns the command line, without the binary.
func (r pgbenchRun) args() []string {
	threads := min(r.clients, 2)
	args := []string{"-n", "-M", "prepared", "-c", strconv.Itoa(r.clients), "-j", strconv.Itoa(threads),
		"-T", strconv.Itoa(max(int(r.duration.Seconds()), 1)), "-f", r.script}
	names := make([]string, 0, len(r.vars))
	for k := range r.vars {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		args = append(args, "-D", k+"="+r.vars[k])
	}
	return append(args, r.dbURL)
}

// String is the command line as a shell would take it.
func (r pgbenchRun) String() string {
	parts := []string{"pgbench"}
	for _, a := range r.args() {
		if strings.ContainsAny(a, " '\"{}[]*?&;|<>()$\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// pgbenchResult is what a pgbench run reports.
type pgbenchResult struct {
	TPS    float64       // transactions (script runs) per second, without connection time
	Txns   int64         // transactions processed
	Failed int64         // failed transactions
	CPU    time.Duration // pgbench's own CPU time (user and system)
}

// Elapsed is the measured time, from the transactions and their rate.
func (r pgbenchResult) Elapsed() time.Duration {
	if r.TPS == 0 {
		return 0
	}
	return time.Duration(float64(r.Txns) / r.TPS * float64(time.Second))
}

// run runs pgbench and parses its report.
func (r pgbenchRun) run(ctx context.Context) (pgbenchResult, error) {
	cmd := exec.CommandContext(ctx, r.bin, r.args()...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Env = append(os.Environ(), "PGAPPNAME=ocpstore-bench-pgbench")
	if err := cmd.Run(); err != nil {
		return pgbenchResult{}, fmt.Errorf("%s: %w\n%s%s", r, err, out.String(), lastLines(errOut.String(), 20))
	}
	res, err := parsePgbench(out.String())
	res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if err != nil {
		return res, fmt.Errorf("%s: %w\n%s", r, err, out.String())
	}
	if res.Failed > 0 {
		return res, fmt.Errorf("%s: %d transactions failed\n%s", r, res.Failed, lastLines(errOut.String(), 20))
	}
	return res, nil
}

var (
	reTxns   = regexp.MustCompile(`(?m)^number of transactions actually processed: (\d+)`)
	reFailed = regexp.MustCompile(`(?m)^number of failed transactions: (\d+)`)
	reTPS    = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \(without initial connection time\)`)
)

// parsePgbench reads the figures of pgbench's report (PostgreSQL 15 and
// later print the failed transactions; earlier versions do not, and then
// Failed is 0).
func parsePgbench(out string) (pgbenchResult, error) {
	var r pgbenchResult
	m := reTPS.FindStringSubmatch(out)
	t := reTxns.FindStringSubmatch(out)
	if m == nil || t == nil {
		return r, fmt.Errorf("no tps or transaction count in pgbench's report")
	}
	r.TPS, _ = strconv.ParseFloat(m[1], 64)
	r.Txns, _ = strconv.ParseInt(t[1], 10, 64)
	if f := reFailed.FindStringSubmatch(out); f != nil {
		r.Failed, _ = strconv.ParseInt(f[1], 10, 64)
	}
	return r, nil
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}
