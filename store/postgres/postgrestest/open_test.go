package postgrestest

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestOpenAndDrop(t *testing.T) {
	t.Parallel()
	srv := serverFor(t)
	for _, open := range []func(context.Context) (*DB, error){Open, OpenEmpty} {
		db, err := open(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !databaseExists(t, srv, db.Name) {
			t.Fatalf("database %s missing after Open", db.Name)
		}
		for range 2 { // dropping twice is not an error
			if err := db.Drop(t.Context()); err != nil {
				t.Fatalf("Drop: %v", err)
			}
		}
		if databaseExists(t, srv, db.Name) {
			t.Errorf("database %s still exists after Drop", db.Name)
		}
	}
}

// databaseExists reports whether srv has a database called name.
func databaseExists(t *testing.T, srv *server, name string) bool {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), srv.url.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	return exists
}

// envExampleChild marks the test binary's run as
// TestSkipWithoutServer's child.
const envExampleChild = "POSTGRESTEST_EXAMPLE_CHILD"

// TestSkipWithoutServer runs ExampleOpen in a child without a server: the
// TestMain's SkipWithoutServer skips it, unless CI is set, where it runs and
// fails.
func TestSkipWithoutServer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ci       string
		wantFail bool
		want     string
	}{
		{ci: "", wantFail: false, want: "testing: warning: no tests to run"},
		{ci: "true", wantFail: true, want: "--- FAIL: ExampleOpen"},
	} {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^ExampleOpen$", "-test.v")
		cmd.Env = append(withoutEnv(os.Environ(), EnvURL, "CI"), envExampleChild+"=1")
		if tc.ci != "" {
			cmd.Env = append(cmd.Env, "CI="+tc.ci)
		}
		out, err := cmd.CombinedOutput()
		if (err != nil) != tc.wantFail || !strings.Contains(string(out), tc.want) {
			t.Errorf("CI=%q: child %v, want failure %v and %q in:\n%s", tc.ci, err, tc.wantFail, tc.want, out)
		}
	}
}

// withoutEnv returns env without the variables named.
func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(kv, n+"=") }) {
			out = append(out, kv)
		}
	}
	return out
}
