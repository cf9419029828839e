package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestExample runs the example on each backend and checks that the
// exporters printed the spans and the metrics the README lists.
func TestExample(t *testing.T) {
	for _, backend := range []string{"memory", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			args := []string{"-spans"}
			if backend == "postgres" {
				args = append(args, "-database-url", postgrestest.New(t).URL)
			}
			var stdout, stderr bytes.Buffer
			if code := cli(t.Context(), args, func(string) string { return "" }, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			want := []string{`"Name":"Store.Claim"`, "ocpstore.operation.duration", "ocpstore.operation.errors",
				"ocpstore.claims", "ocpstore.queue.jobs", "ocpstore.queue.oldest_age"}
			if backend == "postgres" {
				want = append(want, "ocpstore.pool.connections")
			}
			for _, w := range want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("output lacks %s", w)
				}
			}
		})
	}
}

// TestHelp: -help says what it does and which backend it uses.
func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := cli(t.Context(), []string{"-help"}, func(string) string { return "" }, &stdout, &stderr); code != 0 {
		t.Fatalf("-help: exit %d", code)
	}
	for _, w := range []string{"OpenTelemetry", "in memory by default", "-database-url"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("-help lacks %q:\n%s", w, stderr.String())
		}
	}
}
