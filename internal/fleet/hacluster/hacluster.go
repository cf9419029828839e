// Package hacluster drives the Patroni cluster of scripts/ha/cluster.sh
// from a Go test: it brings it up and down through the script, reads and
// changes it through Patroni's REST API (GET /cluster, POST /switchover),
// and kills its processes by the PIDs the script and PostgreSQL record.
// It needs root and the script's fixed ports (PostgreSQL 5461-5463, REST
// API 8061-8063, etcd 2479-2480).
package hacluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Nodes is the number of nodes; node n (1-based) is named "node<n>".
const Nodes = 3

// Node n's ports.
func pgPort(n int) int  { return 5460 + n }
func apiPort(n int) int { return 8060 + n }

// Cluster is a running cluster.
type Cluster struct {
	Script string // scripts/ha/cluster.sh
	Dir    string // its state directory (OCPSTORE_HA_DIR)
	Mode   string // "sync" or "async"
	URL    string // the multi-host URL (target_session_attrs=read-write)
}

// ErrRefused is returned (wrapped) when Patroni refuses a request it
// could accept later (412 Precondition Failed: a switchover with no
// candidate close enough to the leader yet).
var ErrRefused = errors.New("refused by Patroni for now")

// ErrSwitchoverFailed is returned (wrapped) when Patroni accepted a
// switchover, tried it, and the candidate did not take over (503 "Switchover
// failed", seen with asynchronous replication under load): the old leader
// keeps, or takes back, the leader key, so the request may be made again
// once the cluster is healthy.
var ErrSwitchoverFailed = errors.New("switchover tried by Patroni and failed")

// Member is a node as Patroni's GET /cluster reports it.
type Member struct {
	Name     string          `json:"name"`
	Role     string          `json:"role"`  // leader, sync_standby, replica
	State    string          `json:"state"` // running, streaming, starting, stopped, ...
	Port     int             `json:"port"`
	Timeline int             `json:"timeline"`
	Lag      json.RawMessage `json:"lag"` // bytes, or "unknown"
}

// Node is the member's node number.
func (m Member) Node() int {
	n, _ := strconv.Atoi(strings.TrimPrefix(m.Name, "node"))
	return n
}

// Up runs "script down" (to clear a previous run's leftovers) and then
// "script up mode" with its state in dir.
func Up(ctx context.Context, script, dir, mode string) (*Cluster, error) {
	c := &Cluster{Script: script, Dir: dir, Mode: mode}
	if _, err := c.run(ctx, "down"); err != nil {
		return nil, err
	}
	out, err := c.run(ctx, "up", mode)
	if err != nil {
		return nil, err
	}
	c.URL = strings.TrimSpace(out)
	if !strings.HasPrefix(c.URL, "postgres://") {
		return nil, fmt.Errorf("hacluster: up printed %q, want the URL", out)
	}
	return c, nil
}

// Down stops every process the script started and removes its state.
func (c *Cluster) Down(ctx context.Context) error {
	_, err := c.run(ctx, "down")
	return err
}

// StartNode starts node n's Patroni again after KillNode.
func (c *Cluster) StartNode(ctx context.Context, n int) error {
	_, err := c.run(ctx, "start-node", strconv.Itoa(n))
	return err
}

// run runs the script; its stderr goes to the test's stderr.
func (c *Cluster) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", append([]string{c.Script}, args...)...)
	cmd.Env = append(os.Environ(), "OCPSTORE_HA_DIR="+c.Dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("hacluster: %s %s: %w", c.Script, strings.Join(args, " "), err)
	}
	return out.String(), nil
}

// LogTail returns the last lines of every node's Patroni log (which holds
// its PostgreSQL's log too), for a test that failed.
func (c *Cluster) LogTail(lines int) string {
	var b strings.Builder
	for n := 1; n <= Nodes; n++ {
		data, err := os.ReadFile(filepath.Join(c.Dir, fmt.Sprintf("node%d", n), "patroni.log"))
		all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		fmt.Fprintf(&b, "--- node%d (%v):\n%s\n", n, err, strings.Join(all[max(0, len(all)-lines):], "\n"))
	}
	return b.String()
}

// NodeURL is a single-host URL of node n (any role).
func (c *Cluster) NodeURL(n int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/ocpstore?sslmode=disable&connect_timeout=1", pgPort(n))
}

// Members asks the REST APIs, in turn, for the cluster's members.
func (c *Cluster) Members(ctx context.Context) ([]Member, error) {
	var errs []error
	for n := 1; n <= Nodes; n++ {
		var body struct {
			Members []Member `json:"members"`
		}
		err := c.api(ctx, n, http.MethodGet, "/cluster", nil, &body)
		if err == nil {
			return body.Members, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// Leader returns the running leader, or ok false when there is none.
func (c *Cluster) Leader(ctx context.Context) (m Member, ok bool, err error) {
	ms, err := c.Members(ctx)
	for _, m := range ms {
		if m.Role == "leader" && m.State == "running" {
			return m, true, nil
		}
	}
	return Member{}, false, err
}

// Healthy reports whether there is a running leader and two running
// standbys, one of them the synchronous standby in sync mode.
func (c *Cluster) Healthy(ctx context.Context) bool {
	ms, err := c.Members(ctx)
	if err != nil || len(ms) != Nodes {
		return false
	}
	leaders, standbys, syncs := 0, 0, 0
	for _, m := range ms {
		running := m.State == "running" || m.State == "streaming"
		switch {
		case m.Role == "leader" && running:
			leaders++
		case m.Role == "sync_standby" && running:
			syncs++
			standbys++
		case m.Role == "replica" && running:
			standbys++
		}
	}
	return leaders == 1 && standbys == 2 && (c.Mode != "sync" || syncs == 1)
}

// WaitHealthy polls until Healthy or ctx ends.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	return poll(ctx, func() bool { return c.Healthy(ctx) })
}

// WaitNewLeader polls until a node other than old is the running leader.
func (c *Cluster) WaitNewLeader(ctx context.Context, old int) (Member, error) {
	var leader Member
	err := poll(ctx, func() bool {
		m, ok, _ := c.Leader(ctx)
		leader = m
		return ok && m.Node() != old
	})
	return leader, err
}

// Switchover asks Patroni for a planned switchover from leader to
// candidate and waits for its answer (it answers once it is done).
func (c *Cluster) Switchover(ctx context.Context, leader, candidate Member) error {
	req := map[string]string{"leader": leader.Name, "candidate": candidate.Name}
	return c.api(ctx, leader.Node(), http.MethodPost, "/switchover", req, nil)
}

// KillPostmaster kills node n's postmaster with SIGKILL (and nothing
// else: Patroni sees it die). It returns the PID.
func (c *Cluster) KillPostmaster(n int) (int, error) {
	pid, err := c.postmaster(n)
	if err != nil {
		return 0, err
	}
	return pid, syscall.Kill(pid, syscall.SIGKILL)
}

// KillNode kills node n as a machine dying would: Patroni, the postmaster
// and every child of the postmaster, with SIGKILL.
func (c *Cluster) KillNode(n int) error {
	patroni, err := readPID(filepath.Join(c.Dir, fmt.Sprintf("node%d", n), "patroni.pid"))
	if err != nil {
		return err
	}
	pm, err := c.postmaster(n)
	if err != nil {
		return err
	}
	pids := append([]int{patroni, pm}, children(pm)...)
	var errs []error
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}

// postmaster reads node n's postmaster PID from its data directory.
func (c *Cluster) postmaster(n int) (int, error) {
	return readPID(filepath.Join(c.Dir, fmt.Sprintf("node%d", n), "data", "postmaster.pid"))
}

// readPID reads the PID on the first line of a PID file.
func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("hacluster: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0, fmt.Errorf("hacluster: PID file %s: %w", path, err)
	}
	return pid, nil
}

// children returns the PIDs of pid's child processes.
func children(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces, so split
		// after its closing parenthesis.
		i := bytes.LastIndexByte(b, ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			out = append(out, child)
		}
	}
	return out
}

// api calls node n's REST API; a non-2xx answer is an error.
func (c *Cluster) api(ctx context.Context, n int, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, fmt.Sprintf("http://127.0.0.1:%d%s", apiPort(n), path), body)
	if err != nil {
		return err
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return fmt.Errorf("hacluster: %s %s on node%d: %w", method, path, n, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("hacluster: %s %s on node%d: %w", method, path, n, err)
	}
	if resp.StatusCode == http.StatusPreconditionFailed {
		return fmt.Errorf("hacluster: %s %s on node%d: %w: %s", method, path, n, ErrRefused, bytes.TrimSpace(b))
	}
	if resp.StatusCode == http.StatusServiceUnavailable && path == "/switchover" {
		return fmt.Errorf("hacluster: %s %s on node%d: %w: %s", method, path, n, ErrSwitchoverFailed, bytes.TrimSpace(b))
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("hacluster: %s %s on node%d: %s: %s", method, path, n, resp.Status, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// apiClient keeps no idle connections: a test that ends leaves no
// goroutine behind for them.
var apiClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// poll calls cond every 100 ms until it is true or ctx ends.
func poll(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-t.C:
		}
	}
	return nil
}
