package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// command is one subcommand of ocpstore.
type command struct {
	name    string        // as typed: "queue"
	args    string        // the positional arguments' synopsis: "CLUSTER_ID", "[status]"
	summary string        // one line, for the list of commands
	about   string        // what -help says after the synopsis
	timeout time.Duration // the default of -timeout; 0 means none
	// bind registers the command's own flags on fs and returns its body,
	// which runs with the positional arguments once the flags are parsed.
	bind func(fs *flag.FlagSet) func(ctx context.Context, s *session, args []string) error
}

// commands lists ocpstore's subcommands, in the order usage shows them.
func commands() []*command {
	return []*command{migrateCommand(), queueCommand(), locksCommand(), recoverCommand(), jobsCommand(), keysCommand()}
}

// errUsage marks an error in how the command was called: it exits with
// exitUsage and prints the command's usage.
var errUsage = errors.New("usage")

// usageError is an errUsage with what was wrong.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// run is main without the process: it runs the command args names and
// returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return run(ctx, []string{args[1], "-help"}, getenv, stdout, stderr)
		}
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return c.execute(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "ocpstore: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

// usage writes the list of commands.
func usage(w io.Writer) {
	fmt.Fprint(w, `ocpstore: operate an ocpstore PostgreSQL database.

Usage: ocpstore COMMAND [flags] [arguments]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-22s %s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	fmt.Fprint(w, `
Every command takes -database-url (default: $DATABASE_URL), -json, -timeout
and -help. Run "ocpstore COMMAND -help" for a command's flags.
`)
}

// execute parses the command's flags, common and own, and runs it.
func (c *command) execute(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	s := &session{getenv: getenv, stdout: stdout}
	fs := flag.NewFlagSet("ocpstore "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&s.databaseURL, "database-url", "",
		"PostgreSQL URL, e.g. postgres://user@host:5432/db?sslmode=disable (default: $DATABASE_URL)")
	fs.BoolVar(&s.json, "json", false, "write a JSON document instead of a table")
	fs.DurationVar(&s.timeout, "timeout", c.timeout, "give up after this long; 0: never (Ctrl-C always stops)")
	body := c.bind(fs)
	synopsis := strings.TrimSpace("ocpstore " + c.name + " [flags] " + c.args)
	help := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s\n\n%s\n\nFlags:\n", synopsis, strings.TrimSpace(c.about))
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	shortUsage := func() {
		fmt.Fprintf(stderr, "Usage: %s\nRun 'ocpstore %s -help' for details.\n", synopsis, c.name)
	}
	// The flag package prints a parse error itself, then calls Usage.
	fs.Usage = func() {}
	positional, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		help(stdout) // asked for: not an error
		return exitOK
	}
	if err != nil {
		shortUsage()
		return exitUsage
	}
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	err = body(ctx, s, positional)
	switch {
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "ocpstore %s: %v\n", c.name, strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
		shortUsage()
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "ocpstore %s: %v\n", c.name, err)
		return exitError
	}
	return exitOK
}

// parseInterspersed parses flags anywhere among the arguments ("jobs
// CLUSTER_ID -json" as well as "jobs -json CLUSTER_ID"), which the flag
// package alone stops at the first positional argument; "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
