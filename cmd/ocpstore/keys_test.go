package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/keyring"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// keyEntry returns the keyring entry "id:base64secret" of a test key.
func keyEntry(id string) string {
	secret := sha256.Sum256([]byte("ocpstore keys test " + id))
	return id + ":" + base64.StdEncoding.EncodeToString(secret[:])
}

// ocpstoreEnv runs the command with the environment env.
func ocpstoreEnv(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, func(name string) string { return env[name] }, &stdout, &stderr)
	return result{stdout.String(), stderr.String(), code}
}

// TestKeys seals two clusters' outputs with k1 and writes one in plain
// text, then checks status, rotation to k2 (plain text only with
// -seal-plaintext), rotation back with -primary, and the errors of a
// missing key and of missing keys, which never print a secret.
func TestKeys(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	pool := db.Pool(t)
	k1, err := keyring.ParseStatic(keyEntry("k1"))
	if err != nil {
		t.Fatal(err)
	}
	s := postgres.New(pool, postgres.WithStoreOptions(store.WithKeyring(k1)))
	var ids []string
	for i := range 3 {
		c, _ := newCluster(t, s, store.ClusterReady, store.JobCreate)
		ids = append(ids, c.ID)
		o := &store.ClusterOutputs{ClusterID: c.ID, SAToken: ptrTo("sa"), DashboardToken: ptrTo("dash"), OCLoginCommand: ptrTo("oc")}
		w := s
		if i == 2 {
			w = store.Derive(s, store.WithKeyring(nil), store.WithPlaintextSecrets())
			o.DashboardToken, o.OCLoginCommand = nil, nil
		}
		if err := w.Outputs.Upsert(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"DATABASE_URL": db.URL}
	status := func(keys string) keysStatusJSON {
		t.Helper()
		var doc keysStatusJSON
		ocpstoreEnv(t, env, "keys", "status", "-json", "-keys", keys).decode(t, &doc)
		return doc
	}
	requireStatus := func(got keysStatusJSON, primary string, byKey map[string]int, plain int) {
		t.Helper()
		if got.Rows != 3 || got.Primary != primary || got.Plaintext != plain || got.Malformed != 0 || len(got.ByKey) != len(byKey) {
			t.Fatalf("status %+v, want primary %q, %v, %d plain", got, primary, byKey, plain)
		}
		for id, n := range byKey {
			if got.ByKey[id] != n {
				t.Fatalf("status %+v, want %v", got, byKey)
			}
		}
	}
	requireStatus(status(""), "", map[string]int{"k1": 6}, 1)
	table := ocpstoreEnv(t, env, "keys", "status", "-keys", keyEntry("k1")).ok(t)
	if !strings.Contains(table, "3 rows") || !strings.Contains(table, "primary") || !strings.Contains(table, "(plain-text)") {
		t.Fatalf("status table:\n%s", table)
	}

	r := ocpstoreEnv(t, env, "keys", "rotate")
	if r.code != exitUsage || !strings.Contains(r.stderr, keysEnv) {
		t.Fatalf("rotate without keys: exit %d, stderr %q", r.code, r.stderr)
	}

	both := keyEntry("k2") + "," + keyEntry("k1")
	var rot rotationJSON
	ocpstoreEnv(t, env, "keys", "rotate", "-json", "-batch", "2", "-keys", both).decode(t, &rot)
	if rot != (rotationJSON{Scanned: 3, Resealed: 2, Plaintext: 1}) {
		t.Fatalf("rotation to k2: %+v", rot)
	}
	requireStatus(status(both), "k2", map[string]int{"k2": 6}, 1)

	withKeys := map[string]string{"DATABASE_URL": db.URL, keysEnv: both}
	out := ocpstoreEnv(t, withKeys, "keys", "rotate", "-seal-plaintext").ok(t)
	if !strings.Contains(out, "resealed 1") {
		t.Fatalf("rotation sealing plain text: %s", out)
	}
	requireStatus(status(both), "k2", map[string]int{"k2": 7}, 0)

	ocpstoreEnv(t, withKeys, "keys", "rotate", "-json", "-primary", "k1").decode(t, &rot)
	if rot != (rotationJSON{Scanned: 3, Resealed: 3}) {
		t.Fatalf("rotation back to k1 with -primary: %+v", rot)
	}
	got, err := s.Outputs.Get(t.Context(), ids[2])
	if err != nil || *got.SAToken != "sa" {
		t.Fatalf("the plain-text row after rotations, read with k1 only: %+v, %v", got, err)
	}

	r = ocpstoreEnv(t, env, "keys", "rotate", "-keys", keyEntry("k3"))
	if r.code != exitError || !strings.Contains(r.stderr, `"k1"`) || !strings.Contains(r.stderr, "dashboard_token") {
		t.Fatalf("rotate without the values' key: exit %d, stderr %q", r.code, r.stderr)
	}
	r = ocpstoreEnv(t, env, "keys", "rotate", "-primary", "k9", "-keys", both)
	if r.code != exitUsage || !strings.Contains(r.stderr, "k9") {
		t.Fatalf("rotate with an unknown -primary: exit %d, stderr %q", r.code, r.stderr)
	}
	r = ocpstoreEnv(t, env, "keys", "status", "-keys", "k1:"+strings.Repeat("x", 43))
	if r.code != exitError || strings.Contains(r.stderr, "xxxx") {
		t.Fatalf("a malformed keyring: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, e := range []string{keyEntry("k1"), keyEntry("k2"), keyEntry("k3")} {
		secret := e[3:]
		for _, r := range []result{r, ocpstoreEnv(t, env, "keys", "rotate", "-keys", keyEntry("k3"))} {
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Fatalf("a secret was printed: %s%s", r.stdout, r.stderr)
			}
		}
	}
}

// ptrTo returns a pointer to v.
func ptrTo(v string) *string { return &v }
