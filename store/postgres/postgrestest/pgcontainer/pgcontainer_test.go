package pgcontainer

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, postgrestest.LeakOptions()...)
}

// envChild marks the test binary's run as the child of
// TestFallbackServesNew.
const envChild = "PGCONTAINER_TEST_CHILD"

// TestFallbackServesNew runs postgrestest.New in a child process with
// OCPSTORE_TEST_DATABASE_URL and CI unset, so the only possible server is
// the container this package's Fallback starts. With a Docker engine the
// child gets a database from the container; without one it skips with the
// Fallback's own cause (Docker not available), not postgrestest's advice to
// import this package, which shows the import registered the Fallback.
func TestFallbackServesNew(t *testing.T) {
	if os.Getenv(envChild) != "" {
		db := postgrestest.New(t)
		var one int
		if err := db.Pool(t).QueryRow(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("query the container's database: %d, %v", one, err)
		}
		t.Logf("database %s in %s", db.Name, Image)
		return
	}
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestFallbackServesNew$", "-test.v")
	cmd.Env = append(withoutEnv(os.Environ(), postgrestest.EnvURL, "CI"), envChild+"=1")
	out, err := cmd.CombinedOutput()
	switch text := string(out); {
	case err != nil:
		t.Fatalf("child: %v\n%s", err, text)
	case strings.Contains(text, "--- PASS: TestFallbackServesNew") && strings.Contains(text, "in "+Image):
		t.Logf("a Docker engine answered: the child's database came from %s", Image)
	case strings.Contains(text, "--- SKIP: TestFallbackServesNew") && strings.Contains(text, "Docker"):
		if strings.Contains(text, "blank-import") {
			t.Fatalf("the child skipped asking for this package to be imported: the Fallback is not registered\n%s", text)
		}
		t.Logf("no Docker engine: the child skipped with the Fallback's cause")
	default:
		t.Fatalf("child neither used the container nor skipped for want of Docker:\n%s", text)
	}
}

// withoutEnv returns env without the variables named.
func withoutEnv(env []string, names ...string) []string {
	var out []string
next:
	for _, kv := range env {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}
