package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/ocpctl/ocpstore/store/postgres"
)

func migrateCommand() *command {
	return &command{
		name:    "migrate",
		args:    "[-grant role] [status]",
		summary: "apply the pending migrations; \"status\": applied and pending",
		about: `Without an argument, migrate applies the migrations this ocpstore embeds that
the database lacks, in order, each in its own transaction, under the
advisory lock every ocpstore migrator takes (postgres.Migrate): it waits for
a migration already running elsewhere, then finds nothing left to do. It
prints each migration as it is applied. A database migrated by a newer
release is refused and left untouched.

"migrate status" lists every migration as applied or pending. It reads
under the same advisory lock, so it waits for a migration in progress and
never reports one half applied. It changes nothing.

With -grant role, migrate then gives the application role exactly the rights
the store needs on the tables (postgres.GrantApplication), taking back any
other: run it as the owner role, after every upgrade (README: Security).

Neither has a timeout unless -timeout is given.`,
		bind: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			grant := fs.String("grant", "", "after migrating, grant the application `role` its rights (as the owner)")
			return func(ctx context.Context, s *session, args []string) error {
				switch {
				case len(args) == 0:
					return migrateApply(ctx, s, *grant)
				case len(args) == 1 && args[0] == "status":
					return migrateStatus(ctx, s)
				}
				return usageError("unexpected arguments %q", args)
			}
		},
	}
}

// migrationJSON is a migration in -json output.
type migrationJSON struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	Applied bool   `json:"applied"`
	// TookSeconds is how long applying it took, for the migrations this
	// run applied.
	TookSeconds *float64 `json:"took_seconds,omitempty"`
}

// migrateApply is "ocpstore migrate", granting role its rights afterwards
// unless role is empty.
func migrateApply(ctx context.Context, s *session, role string) error {
	pool, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	var applied []migrationJSON
	err = postgres.Migrate(ctx, pool, postgres.OnApplied(func(m postgres.Migration, took time.Duration) {
		seconds := took.Seconds()
		applied = append(applied, migrationJSON{Version: m.Version, Name: m.Name, Applied: true, TookSeconds: &seconds})
		if !s.json {
			fmt.Fprintf(s.stdout, "applied %s in %s\n", m.Name, took.Round(time.Millisecond))
		}
	}))
	if err != nil {
		return err
	}
	if role != "" {
		if err := postgres.GrantApplication(ctx, pool, role); err != nil {
			return err
		}
	}
	if s.json {
		return s.writeJSON(struct {
			Version int             `json:"version"`
			Applied []migrationJSON `json:"applied"`
		}{postgres.SchemaVersion(), append([]migrationJSON{}, applied...)})
	}
	if len(applied) == 0 {
		fmt.Fprintf(s.stdout, "database already at version %d: nothing to apply\n", postgres.SchemaVersion())
	} else {
		fmt.Fprintf(s.stdout, "database at version %d\n", postgres.SchemaVersion())
	}
	if role != "" {
		fmt.Fprintf(s.stdout, "granted role %s its rights on the tables\n", role)
	}
	return nil
}

// migrateStatus is "ocpstore migrate status".
func migrateStatus(ctx context.Context, s *session) error {
	pool, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	st, err := postgres.MigrationStatus(ctx, pool)
	if err != nil {
		return err
	}
	all := []migrationJSON{}
	var rows [][]string
	for _, m := range postgres.Migrations() {
		applied := m.Version <= st.Applied
		all = append(all, migrationJSON{Version: m.Version, Name: m.Name, Applied: applied})
		state := "pending"
		if applied {
			state = "applied"
		}
		rows = append(rows, []string{fmt.Sprint(m.Version), m.Name, state})
	}
	if s.json {
		return s.writeJSON(struct {
			Applied    int             `json:"applied"`
			Latest     int             `json:"latest"`
			Pending    int             `json:"pending"`
			Migrations []migrationJSON `json:"migrations"`
		}{st.Applied, st.Latest, len(st.Pending), all})
	}
	if err := table(s.stdout, []string{"VERSION", "NAME", "STATE"}, rows); err != nil {
		return err
	}
	switch {
	case st.Applied > st.Latest:
		fmt.Fprintf(s.stdout, "\ndatabase at version %d, newer than this ocpstore (%d): use a newer ocpstore\n", st.Applied, st.Latest)
	case len(st.Pending) > 0:
		fmt.Fprintf(s.stdout, "\ndatabase at version %d of %d: %d pending; run `ocpstore migrate`\n", st.Applied, st.Latest, len(st.Pending))
	default:
		fmt.Fprintf(s.stdout, "\ndatabase at version %d: up to date\n", st.Applied)
	}
	return nil
}
