package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/keyring"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// keysEnv is the environment variable holding the keyring when -keys is
// not given.
const keysEnv = "OCPSTORE_KEYS"

func keysCommand() *command {
	return &command{
		name:    "keys",
		args:    "status|rotate",
		summary: "secret fields of outputs: values per key ID; reseal them under the primary key",
		about: `keys status counts the sealed secret fields of cluster_outputs
(dashboard_token, sa_token, oc_login_command) by the key ID each names, and
the plain-text ones, without decrypting anything (store.OutputStore.KeyStatus).

keys rotate reseals, -batch rows at a time, every value not sealed with the
primary key (store.OutputStore.Rotate). Each batch is written back with a
compare-and-set on the values read, so the service keeps running: a row it
writes meanwhile is left as written and counted as changed; run rotate again
until nothing is changed and "keys status" shows only the primary. Plain
text written before encryption is sealed only with -seal-plaintext.

The keyring is -keys, else $OCPSTORE_KEYS: comma-separated "id:base64secret"
entries (keyring.ParseStatic), a 32-byte secret each (head -c 32 /dev/urandom
| base64). The primary is -primary, else the first entry; the others only
decrypt. Secrets are never printed.`,
		timeout: 0,
		bind: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			keys := fs.String("keys", "", "the keyring, id:base64secret,... (default: $"+keysEnv+"); prefer the variable, flags show in ps")
			primary := fs.String("primary", "", "the ID of the key that seals (default: the first entry)")
			batch := fs.Int("batch", 100, fmt.Sprintf("rows per batch (1 to %d)", store.MaxLimit))
			sealPlain := fs.Bool("seal-plaintext", false, "rotate: also seal plain-text values written before encryption")
			return func(ctx context.Context, s *session, args []string) error {
				if len(args) != 1 || args[0] != "status" && args[0] != "rotate" {
					return usageError("want one of status, rotate; got %q", args)
				}
				if *batch < 1 || *batch > store.MaxLimit {
					return usageError("-batch must be between 1 and %d", store.MaxLimit)
				}
				spec := *keys
				if spec == "" {
					spec = s.getenv(keysEnv)
				}
				var opts []store.Option
				switch {
				case spec != "":
					kr, err := parseKeyring(spec, *primary)
					if err != nil {
						return err
					}
					opts = append(opts, store.WithKeyring(kr))
				case args[0] == "rotate":
					return usageError("rotate needs the keys: pass -keys or set %s", keysEnv)
				}
				if *sealPlain {
					opts = append(opts, store.WithPlaintextSecrets())
				}
				pool, err := s.connectMigrated(ctx)
				if err != nil {
					return err
				}
				defer pool.Close()
				st := postgres.New(pool, postgres.WithStoreOptions(opts...))
				if args[0] == "status" {
					return keysStatus(ctx, s, st, *batch)
				}
				return keysRotate(ctx, s, st, *batch)
			}
		},
	}
}

// parseKeyring parses spec (keyring.ParseStatic's form) with the entry
// whose ID is primary moved first, so it seals.
func parseKeyring(spec, primary string) (*keyring.Static, error) {
	if primary != "" {
		entries := strings.Split(spec, ",")
		i := slices.IndexFunc(entries, func(e string) bool {
			id, _, _ := strings.Cut(strings.TrimSpace(e), ":")
			return strings.TrimSpace(id) == primary
		})
		if i < 0 {
			return nil, usageError("-primary %q is not a key ID of the keyring", primary)
		}
		entries[0], entries[i] = entries[i], entries[0]
		spec = strings.Join(entries, ",")
	}
	kr, err := keyring.ParseStatic(spec)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return kr, nil
}

// keysStatusJSON is "keys status -json".
type keysStatusJSON struct {
	Rows      int            `json:"rows"`
	Primary   string         `json:"primary,omitempty"`
	ByKey     map[string]int `json:"by_key"`
	Plaintext int            `json:"plaintext"`
	Malformed int            `json:"malformed"`
}

func keysStatus(ctx context.Context, s *session, st *store.Store, batch int) error {
	r, err := st.Outputs.KeyStatus(ctx, batch)
	if err != nil {
		return err
	}
	if s.json {
		return s.writeJSON(keysStatusJSON(r))
	}
	ids := make([]string, 0, len(r.ByKey))
	for id := range r.ByKey {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var rows [][]string
	for _, id := range ids {
		note := ""
		if id == r.Primary {
			note = "primary"
		}
		rows = append(rows, []string{id, fmt.Sprint(r.ByKey[id]), note})
	}
	if r.Primary != "" && r.ByKey[r.Primary] == 0 {
		rows = append(rows, []string{r.Primary, "0", "primary"})
	}
	rows = append(rows, []string{"(plain-text)", fmt.Sprint(r.Plaintext), ""})
	if r.Malformed > 0 {
		rows = append(rows, []string{"(malformed)", fmt.Sprint(r.Malformed), ""})
	}
	if _, err := fmt.Fprintf(s.stdout, "%d rows of cluster_outputs\n", r.Rows); err != nil {
		return err
	}
	return table(s.stdout, []string{"KEY", "VALUES", ""}, rows)
}

// rotationJSON is "keys rotate -json".
type rotationJSON struct {
	Scanned   int `json:"scanned"`
	Resealed  int `json:"resealed"`
	Changed   int `json:"changed"`
	Plaintext int `json:"plaintext"`
}

func keysRotate(ctx context.Context, s *session, st *store.Store, batch int) error {
	start := time.Now()
	r, err := st.Outputs.Rotate(ctx, batch)
	if err != nil {
		if errors.Is(err, keyring.ErrKeyNotFound) {
			err = fmt.Errorf("%w (add the key to the keyring, or resealing cannot read this value)", err)
		}
		return fmt.Errorf("after resealing %d rows: %w", r.Resealed, err)
	}
	if s.json {
		return s.writeJSON(rotationJSON(r))
	}
	_, err = fmt.Fprintf(s.stdout, "scanned %d rows in %s: resealed %d, changed meanwhile %d, plain text left %d\n",
		r.Scanned, time.Since(start).Round(time.Millisecond), r.Resealed, r.Changed, r.Plaintext)
	if err == nil && r.Changed > 0 {
		_, err = fmt.Fprintln(s.stdout, "rows were written during the rotation: run it again")
	}
	if err == nil && r.Plaintext > 0 {
		_, err = fmt.Fprintln(s.stdout, "plain-text values are left as they are: -seal-plaintext seals them")
	}
	return err
}
