package postgres_test

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
)

// EnvPostgresBin names the directory of the PostgreSQL server binaries
// (initdb, pg_ctl) for tests that start a server of their own. Without it
// they are looked up on PATH, then in /usr/lib/postgresql/*/bin (Debian),
// newest version first.
const EnvPostgresBin = "OCPSTORE_POSTGRES_BIN"

// privateServer is a PostgreSQL instance a test starts for itself, so that
// it may stop, restart or break it without disturbing anything else: its
// data directory and unix socket in a temporary directory, its own TCP
// port on 127.0.0.1, trust authentication. PostgreSQL refuses to run as
// root; a test running as root runs it as the OS user postgres.
type privateServer struct {
	bin  string // the directory of initdb and pg_ctl
	dir  string // data, sock, log
	port int
	cred *syscall.Credential // the user to run the server as, or nil for the test's own
}

// startPrivateServer initdbs and starts a server for t, stopped and
// removed when t ends. It fails t when the binaries are missing.
func startPrivateServer(t *testing.T) *privateServer {
	t.Helper()
	s := &privateServer{bin: postgresBin(t), port: freePort(t)}
	dir, err := os.MkdirTemp("", "ocpstore-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s.dir = dir
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, and PostgreSQL refuses root: need the OS user postgres: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.command("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8",
		"--locale", "C.UTF-8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"+
		"max_connections = 30\nshared_buffers = 16MB\n", s.port, dir)
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(conf)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	s.pgCtl(t, "start")
	t.Cleanup(func() { _ = s.command("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop").Run() })
	return s
}

// URL is the connection URL of database db on the server.
func (s *privateServer) URL(db string) string {
	return (&url.URL{Scheme: "postgres", User: url.User("postgres"), Host: "127.0.0.1:" + strconv.Itoa(s.port),
		Path: "/" + db, RawQuery: "sslmode=disable"}).String()
}

// restart restarts the server with a fast shutdown, which ends every
// session, and waits until it accepts connections again.
func (s *privateServer) restart(t *testing.T) { s.pgCtl(t, "restart", "-m", "fast") }

// pgCtl runs pg_ctl on the server's data directory, waiting for it. The
// server's own output goes to the log file (-l): a server started with
// pg_ctl's output still inherits it, and a pipe there would never close.
// pg_ctl's output goes to a file too, for the same reason, and is shown
// when it fails.
func (s *privateServer) pgCtl(t *testing.T, action string, args ...string) {
	t.Helper()
	args = append([]string{"-D", filepath.Join(s.dir, "data"), "-l", filepath.Join(s.dir, "log"), "-w", "-t", "60",
		action}, args...)
	out, err := os.CreateTemp(s.dir, "pg_ctl-*.out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := s.command("pg_ctl", args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		text, _ := os.ReadFile(out.Name())
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		t.Fatalf("pg_ctl %s: %v\n%s\nserver log:\n%s", action, err, text, log)
	}
}

// command is one of the server's binaries, run as the server's user.
func (s *privateServer) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
		cmd.Env = append(os.Environ(), "HOME="+s.dir)
	}
	return cmd
}

// postgresBin finds the directory of initdb and pg_ctl (see EnvPostgresBin).
func postgresBin(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv(EnvPostgresBin); dir != "" {
		return dir
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d
		}
	}
	t.Fatalf("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin; set %s", EnvPostgresBin)
	return ""
}

// versionOf is the major version in a path such as /usr/lib/postgresql/15/bin.
func versionOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
