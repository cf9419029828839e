// Command ocpstore is the operations tool for an ocpstore PostgreSQL
// database: it applies and reports migrations, shows the job queue and the
// cluster locks, runs the janitor's recovery pass, and lists a cluster's
// jobs, without writing Go.
//
//	go install github.com/ocpctl/ocpstore/cmd/ocpstore@latest
//
//	ocpstore migrate                apply the pending migrations
//	ocpstore migrate status         applied and pending migrations
//	ocpstore queue                  unfinished jobs by type: counts and oldest ages
//	ocpstore locks                  cluster locks held, and expired but not released
//	ocpstore recover                one RecoverStuck pass over jobs whose worker died
//	ocpstore jobs CLUSTER_ID        a cluster's job history
//	ocpstore keys status            sealed secret fields per key ID, plain text
//	ocpstore keys rotate            reseal secret fields under the primary key
//
// Every command takes -database-url (default: the DATABASE_URL environment
// variable), -json (a JSON document on standard output instead of a table),
// -timeout and -help. Errors go to standard error; the exit status is 0 on
// success, 1 on an error and 2 on a usage error.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
