package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

func recoverCommand() *command {
	return &command{
		name:    "recover",
		summary: "one RecoverStuck pass: requeue (or fail) jobs whose worker died",
		about: `recover runs one pass of the janitor (store.Store.RecoverStuck): each RUNNING
job without a live lock of its own is requeued as RETRYING, runnable at once,
or failed with ABANDONED when it has no attempts left (its cluster then moves
to the job's failure status), with an audit event by -actor, one transaction
per job. A job whose worker came back meanwhile is left alone. It prints how
many jobs it took back; "ocpstore queue" shows how many are stuck.`,
		timeout: time.Minute,
		bind: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			limit := fs.Int("limit", 100, fmt.Sprintf("take back at most this many jobs (1 to %d)", store.MaxLimit))
			actor := fs.String("actor", "ocpstore-cli", "the actor of the audit events")
			return func(ctx context.Context, s *session, args []string) error {
				if len(args) != 0 {
					return usageError("unexpected arguments %q", args)
				}
				if *limit < 1 || *limit > store.MaxLimit {
					return usageError("-limit must be between 1 and %d", store.MaxLimit)
				}
				pool, err := s.connectMigrated(ctx)
				if err != nil {
					return err
				}
				defer pool.Close()
				n, err := postgres.New(pool).RecoverStuck(ctx, *actor, *limit)
				if err != nil {
					return err
				}
				if s.json {
					return s.writeJSON(struct {
						Recovered int `json:"recovered"`
					}{n})
				}
				noun := "jobs"
				if n == 1 {
					noun = "job"
				}
				_, err = fmt.Fprintf(s.stdout, "took back %d stuck %s\n", n, noun)
				return err
			}
		},
	}
}
