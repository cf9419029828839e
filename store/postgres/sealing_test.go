package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/keyring"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// sealingDB is a fresh database, a Store on it sealing with key k1, and
// two clusters whose outputs hold secrets containing "secret-of".
type sealingDB struct {
	pool   *pgxpool.Pool
	s      *store.Store
	c1, c2 string
	ctx    context.Context
}

func newSealingDB(t *testing.T) *sealingDB {
	t.Helper()
	secret := sha256.Sum256([]byte("postgres test key k1"))
	k, err := keyring.NewKey("k1", secret[:])
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.NewStatic(k)
	if err != nil {
		t.Fatal(err)
	}
	pool := postgrestest.New(t).Pool(t)
	d := &sealingDB{pool: pool, s: postgres.New(pool, postgres.WithStoreOptions(store.WithKeyring(kr))), ctx: t.Context()}
	for i, id := range []*string{&d.c1, &d.c2} {
		c := &store.Cluster{Name: fmt.Sprint("sealing-", i), Platform: store.PlatformAWS, Version: "4.18.1",
			Profile: "aws-standard", Region: "us-east-1", Owner: "o", Team: "t", CostCenter: "cc", RequestedBy: "r", TTLHours: 1}
		if err := d.s.Clusters.Create(d.ctx, c); err != nil {
			t.Fatal(err)
		}
		*id = c.ID
		tag := "secret-of-" + c.ID
		dash, sa, oc := "dash-"+tag, "sa-"+tag, "oc login --token=sa-"+tag
		if err := d.s.Outputs.Upsert(d.ctx, &store.ClusterOutputs{ClusterID: c.ID, DashboardToken: &dash,
			SAToken: &sa, OCLoginCommand: &oc}); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// exec runs raw SQL, as someone with access to the database would.
func (d *sealingDB) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := d.pool.Exec(d.ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestSealingNoPlaintextInDatabase reads cluster_outputs with raw SQL:
// the secret columns hold values sealed with k1, and no column of any row
// contains the plain text.
func TestSealingNoPlaintextInDatabase(t *testing.T) {
	t.Parallel()
	d := newSealingDB(t)
	rows, err := d.pool.Query(d.ctx, "SELECT row_to_json(o)::text, dashboard_token, sa_token, oc_login_command FROM cluster_outputs o")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var whole string
		var secrets [3]string
		if err := rows.Scan(&whole, &secrets[0], &secrets[1], &secrets[2]); err != nil {
			t.Fatal(err)
		}
		n++
		if strings.Contains(whole, "secret-of") {
			t.Fatalf("row holds plain text: %s", whole)
		}
		for _, v := range secrets {
			if !strings.HasPrefix(v, keyring.KeyPrefix("k1")) {
				t.Fatalf("secret column holds %q, want a value sealed with k1", v)
			}
		}
	}
	if err := rows.Err(); err != nil || n != 2 {
		t.Fatalf("read %d rows, %v; want 2", n, err)
	}
}

// TestSealingSwappedRows swaps the sealed tokens of two clusters' rows,
// and moves a value into another column, with raw SQL: reads fail with
// ErrMisplaced naming the field, never returning the other's token.
func TestSealingSwappedRows(t *testing.T) {
	t.Parallel()
	d := newSealingDB(t)
	d.exec(t, `UPDATE cluster_outputs o SET sa_token = other.sa_token
		FROM cluster_outputs other WHERE o.cluster_id IN ($1, $2) AND other.cluster_id IN ($1, $2)
		AND other.cluster_id <> o.cluster_id`, d.c1, d.c2)
	for _, id := range []string{d.c1, d.c2} {
		_, err := d.s.Outputs.Get(d.ctx, id)
		requireSealingErr(t, err, keyring.ErrMisplaced, "sa_token", `"k1"`, id)
	}
	d.exec(t, "UPDATE cluster_outputs SET dashboard_token = oc_login_command, sa_token = NULL WHERE cluster_id = $1", d.c1)
	_, err := d.s.Outputs.Get(d.ctx, d.c1)
	requireSealingErr(t, err, keyring.ErrMisplaced, "dashboard_token", `"k1"`)
}

// TestSealingTamperedByte flips one byte of a sealed value with raw SQL:
// the read fails with ErrTampered naming the field and key.
func TestSealingTamperedByte(t *testing.T) {
	t.Parallel()
	d := newSealingDB(t)
	var v string
	if err := d.pool.QueryRow(d.ctx, "SELECT sa_token FROM cluster_outputs WHERE cluster_id = $1", d.c1).Scan(&v); err != nil {
		t.Fatal(err)
	}
	cut := strings.LastIndexByte(v, ':')
	payload, err := base64.RawURLEncoding.DecodeString(v[cut+1:])
	if err != nil {
		t.Fatal(err)
	}
	payload[len(payload)-20] ^= 0x80
	d.exec(t, "UPDATE cluster_outputs SET sa_token = $2 WHERE cluster_id = $1", d.c1,
		v[:cut+1]+base64.RawURLEncoding.EncodeToString(payload))
	_, err = d.s.Outputs.Get(d.ctx, d.c1)
	requireSealingErr(t, err, keyring.ErrTampered, "sa_token", `"k1"`)
	if _, err := d.s.Outputs.Get(d.ctx, d.c2); err != nil {
		t.Fatalf("the other cluster's outputs: %v", err)
	}
}

// TestSwapSecretsComparesOldValues checks the executor's compare-and-set:
// a swap whose Old no longer matches the row (an Upsert came in after the
// rotation read it), or whose row is gone, changes nothing; one that
// matches replaces the secrets and leaves updated_at alone.
func TestSwapSecretsComparesOldValues(t *testing.T) {
	t.Parallel()
	d := newSealingDB(t)
	x := postgres.NewBackend(d.pool).Executor()
	read, err := x.OutputsGet(d.ctx, d.c1)
	if err != nil {
		t.Fatal(err)
	}
	old := store.OutputSecrets{DashboardToken: read.DashboardToken, SAToken: read.SAToken, OCLoginCommand: read.OCLoginCommand}
	newer := "newer"
	if err := d.s.Outputs.Upsert(d.ctx, &store.ClusterOutputs{ClusterID: d.c1, SAToken: &newer}); err != nil {
		t.Fatal(err)
	}
	stale := "stale"
	n, err := x.OutputsSwapSecrets(d.ctx, []store.SecretsSwap{
		{ClusterID: d.c1, Old: old, New: store.OutputSecrets{SAToken: &stale}},
		{ClusterID: "clu_gone", New: store.OutputSecrets{SAToken: &stale}},
	})
	if err != nil || n != 0 {
		t.Fatalf("stale swap: %d rows, %v; want 0", n, err)
	}
	got, err := d.s.Outputs.Get(d.ctx, d.c1)
	if err != nil || got.SAToken == nil || *got.SAToken != newer {
		t.Fatalf("after a stale swap: %+v, %v", got, err)
	}
	cur, err := x.OutputsGet(d.ctx, d.c1)
	if err != nil {
		t.Fatal(err)
	}
	n, err = x.OutputsSwapSecrets(d.ctx, []store.SecretsSwap{{ClusterID: d.c1,
		Old: store.OutputSecrets{SAToken: cur.SAToken}, New: store.OutputSecrets{SAToken: read.SAToken}}})
	if err != nil || n != 1 {
		t.Fatalf("current swap: %d rows, %v; want 1", n, err)
	}
	after, err := x.OutputsGet(d.ctx, d.c1)
	if err != nil || !after.UpdatedAt.Equal(cur.UpdatedAt) || *after.SAToken != *read.SAToken {
		t.Fatalf("after the swap: %+v, %v (updated_at was %v)", after, err, cur.UpdatedAt)
	}
}

// requireSealingErr fails unless err matches target and names every part.
func requireSealingErr(t *testing.T, err, target error, parts ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got %v, want an error matching %v", err, target)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not name %s", err, p)
		}
	}
}
