package main

import (
	"strings"
	"testing"
	"time"
)

func TestHelpForEveryCommand(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		for _, args := range [][]string{{c.name, "-help"}, {c.name, "-h"}, {"help", c.name}} {
			r := ocpstore(t, "", args...)
			out := r.ok(t)
			if !strings.HasPrefix(out, "Usage: ocpstore "+c.name+" [flags]") {
				t.Errorf("%q: help starts %q", args, strings.SplitN(out, "\n", 2)[0])
			}
			for _, want := range []string{strings.TrimSpace(c.about)[:20], "-database-url", "DATABASE_URL", "-json", "-timeout"} {
				if !strings.Contains(out, want) {
					t.Errorf("%q: help does not mention %q:\n%s", args, want, out)
				}
			}
		}
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-help"}, {"help"}, {"--help"}} {
		out := ocpstore(t, "", args...).ok(t)
		for _, c := range commands() {
			if !strings.Contains(out, "\n  "+c.name) || !strings.Contains(out, c.summary) {
				t.Errorf("%q: usage does not list %s:\n%s", args, c.name, out)
			}
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "Usage: ocpstore COMMAND"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"queue", "-no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"queue", "extra"}, `unexpected arguments ["extra"]`},
		{[]string{"jobs"}, "want one CLUSTER_ID, got 0 arguments"},
		{[]string{"jobs", "a", "b"}, "want one CLUSTER_ID, got 2 arguments"},
		{[]string{"migrate", "sideways"}, `unexpected arguments ["sideways"]`},
		{[]string{"recover", "-limit", "0"}, "-limit must be between 1 and 1000"},
		{[]string{"locks", "-limit", "0"}, "-limit must be at least 1"},
	} {
		r := ocpstore(t, "", tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want exit %d and %q on stderr only",
				tc.args, r.code, r.stderr, r.stdout, exitUsage, tc.want)
		}
	}
}

func TestNoDatabaseURL(t *testing.T) {
	t.Parallel()
	r := ocpstore(t, "", "queue")
	if r.code != exitError || !strings.Contains(r.stderr, "no database: pass -database-url or set DATABASE_URL") {
		t.Errorf("queue without a database: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestUnreachableDatabase(t *testing.T) {
	t.Parallel()
	// Port 1 on the loopback: refused at once. The password must not show.
	url := "postgres://ops:secret@127.0.0.1:1/ocp?sslmode=disable"
	for _, args := range [][]string{{"queue", "-database-url", url}, {"migrate", "status", "-database-url", url}} {
		r := ocpstore(t, "", args...)
		if r.code != exitError || !strings.Contains(r.stderr, "cannot reach the database") ||
			!strings.Contains(r.stderr, "127.0.0.1:1") || strings.Contains(r.stderr, "secret") {
			t.Errorf("%q: exit %d, stderr %q; want exit 1 naming the server, without the password", args, r.code, r.stderr)
		}
	}
	r := ocpstore(t, "", "queue", "-database-url", "postgres://ops:secret@127.0.0.1:1/ocp?sslmode=sideways")
	if r.code != exitError || !strings.Contains(r.stderr, "invalid database URL") || strings.Contains(r.stderr, "secret") {
		t.Errorf("bad URL: exit %d, stderr %q; want exit 1, invalid database URL, without the password", r.code, r.stderr)
	}
}

func TestParseInterspersed(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-json", "clu_1"}, {"clu_1", "-json"}, {"-limit", "5", "clu_1", "-json"},
	} {
		r := ocpstore(t, "", append([]string{"jobs"}, args...)...)
		// No database: the arguments parsed, and the command got as far as connecting.
		if r.code != exitError || !strings.Contains(r.stderr, "no database") {
			t.Errorf("jobs %q: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	r := ocpstore(t, "", "jobs", "--", "-json")
	if r.code != exitError || !strings.Contains(r.stderr, "no database") {
		t.Errorf(`jobs -- -json: exit %d, stderr %q; want "-json" taken as the CLUSTER_ID`, r.code, r.stderr)
	}
}

func TestAge(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0:                                "0s",
		1499 * time.Millisecond:          "1s",
		59 * time.Second:                 "59s",
		time.Minute + 3*time.Second:      "1m03s",
		3*time.Hour + 7*time.Minute:      "3h07m",
		52*time.Hour + 30*time.Minute:    "2d04h",
		-(2*time.Minute + 5*time.Second): "-2m05s",
	} {
		if got := age(d); got != want {
			t.Errorf("age(%v) = %q, want %q", d, got, want)
		}
	}
}
