package memory

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/keyring"
)

// sealingFixture is a Backend and a Store sealing with key k1, with two
// clusters whose outputs hold secrets.
type sealingFixture struct {
	b      *Backend
	s      *store.Store
	c1, c2 string
	ctx    context.Context
}

// testKeyring returns a static keyring of one key called id.
func testKeyring(t *testing.T, id string) *keyring.Static {
	t.Helper()
	secret := sha256.Sum256([]byte("memory test key " + id))
	k, err := keyring.NewKey(id, secret[:])
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.NewStatic(k)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func newSealingFixture(t *testing.T) *sealingFixture {
	t.Helper()
	b := NewBackend()
	f := &sealingFixture{b: b, s: store.New(b, store.WithKeyring(testKeyring(t, "k1"))), ctx: t.Context()}
	for i, id := range []*string{&f.c1, &f.c2} {
		c := &store.Cluster{Name: fmt.Sprint("sealing-", i), Platform: store.PlatformAWS, Version: "4.18.1",
			Profile: "aws-standard", Region: "us-east-1", Owner: "o", Team: "t", CostCenter: "cc", RequestedBy: "r", TTLHours: 1}
		if err := f.s.Clusters.Create(f.ctx, c); err != nil {
			t.Fatal(err)
		}
		*id = c.ID
		tag := "secret-of-" + c.ID
		err := f.s.Outputs.Upsert(f.ctx, &store.ClusterOutputs{ClusterID: c.ID, DashboardToken: strPtr("dash-" + tag),
			SAToken: strPtr("sa-" + tag), OCLoginCommand: strPtr("oc login --token=sa-" + tag)})
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// stored returns the committed row of cluster id, as the backend holds it.
func (f *sealingFixture) stored(id string) store.ClusterOutputs { return *f.b.db.outputs.rows[id] }

// put replaces the committed row of cluster id (rows are immutable: a new
// one is stored), as an attacker with access to the storage would.
func (f *sealingFixture) put(o store.ClusterOutputs) { f.b.db.outputs.rows[o.ClusterID] = &o }

// TestSealingStoresCiphertext checks that the backend's table holds only
// sealed values naming key k1, none containing its plain text.
func TestSealingStoresCiphertext(t *testing.T) {
	t.Parallel()
	f := newSealingFixture(t)
	for _, id := range []string{f.c1, f.c2} {
		o := f.stored(id)
		for _, v := range []*string{o.DashboardToken, o.SAToken, o.OCLoginCommand} {
			if v == nil || !strings.HasPrefix(*v, keyring.KeyPrefix("k1")) || strings.Contains(*v, "secret-of") {
				t.Fatalf("cluster %s stores %v, want a value sealed with k1", id, v)
			}
		}
	}
}

// TestSealingMisplaced swaps sealed values between two clusters' rows and
// between two fields of a row: reads fail with ErrMisplaced naming the
// field, instead of returning the other cluster's token.
func TestSealingMisplaced(t *testing.T) {
	t.Parallel()
	f := newSealingFixture(t)
	o1, o2 := f.stored(f.c1), f.stored(f.c2)
	o1.SAToken, o2.SAToken = o2.SAToken, o1.SAToken
	f.put(o1)
	f.put(o2)
	for _, id := range []string{f.c1, f.c2} {
		_, err := f.s.Outputs.Get(f.ctx, id)
		requireSealingErr(t, err, keyring.ErrMisplaced, "sa_token", `"k1"`, id)
	}

	f = newSealingFixture(t)
	o := f.stored(f.c1)
	o.DashboardToken = o.SAToken
	f.put(o)
	_, err := f.s.Outputs.Get(f.ctx, f.c1)
	requireSealingErr(t, err, keyring.ErrMisplaced, "dashboard_token", `"k1"`)
}

// TestSealingTampered flips one byte of a sealed value: the read fails
// with ErrTampered naming the field and key.
func TestSealingTampered(t *testing.T) {
	t.Parallel()
	f := newSealingFixture(t)
	o := f.stored(f.c1)
	tampered := flipByte(t, *o.OCLoginCommand, 30)
	o.OCLoginCommand = &tampered
	f.put(o)
	_, err := f.s.Outputs.Get(f.ctx, f.c1)
	requireSealingErr(t, err, keyring.ErrTampered, "oc_login_command", `"k1"`)
}

// TestSwapSecretsComparesOldValues checks the backend's compare-and-set:
// a swap whose Old no longer matches (a write came in after the rotation
// read the row) or whose row is gone changes nothing.
func TestSwapSecretsComparesOldValues(t *testing.T) {
	t.Parallel()
	f := newSealingFixture(t)
	x := f.b.Executor()
	read := f.stored(f.c1)
	old := store.OutputSecrets{DashboardToken: read.DashboardToken, SAToken: read.SAToken, OCLoginCommand: read.OCLoginCommand}
	if err := f.s.Outputs.Upsert(f.ctx, &store.ClusterOutputs{ClusterID: f.c1, SAToken: strPtr("newer")}); err != nil {
		t.Fatal(err)
	}
	n, err := x.OutputsSwapSecrets(f.ctx, []store.SecretsSwap{
		{ClusterID: f.c1, Old: old, New: store.OutputSecrets{SAToken: strPtr("stale")}},
		{ClusterID: "clu_gone", New: store.OutputSecrets{SAToken: strPtr("x")}},
	})
	if err != nil || n != 0 {
		t.Fatalf("stale swap: %d rows, %v; want 0", n, err)
	}
	got, err := f.s.Outputs.Get(f.ctx, f.c1)
	if err != nil || got.SAToken == nil || *got.SAToken != "newer" {
		t.Fatalf("after a stale swap: %+v, %v", got, err)
	}
	cur := f.stored(f.c1)
	n, err = x.OutputsSwapSecrets(f.ctx, []store.SecretsSwap{{ClusterID: f.c1,
		Old: store.OutputSecrets{SAToken: cur.SAToken}, New: store.OutputSecrets{SAToken: read.SAToken}}})
	if err != nil || n != 1 {
		t.Fatalf("current swap: %d rows, %v; want 1", n, err)
	}
}

// flipByte returns the sealed value v with byte i of its decoded payload
// flipped, re-encoded, so only the authentication can notice.
func flipByte(t *testing.T, v string, i int) string {
	t.Helper()
	cut := strings.LastIndexByte(v, ':')
	payload, err := base64.RawURLEncoding.DecodeString(v[cut+1:])
	if err != nil {
		t.Fatal(err)
	}
	payload[i] ^= 0x01
	return v[:cut+1] + base64.RawURLEncoding.EncodeToString(payload)
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

// strPtr returns a pointer to v.
func strPtr(v string) *string { return &v }

// TestNewPassesStoreOptions checks that New hands WithStoreOptions to the
// Store: with a keyring a secret is written, without one it is refused.
func TestNewPassesStoreOptions(t *testing.T) {
	t.Parallel()
	for _, withKeyring := range []bool{true, false} {
		var opts []Option
		if withKeyring {
			opts = append(opts, WithStoreOptions(store.WithKeyring(testKeyring(t, "k1"))))
		}
		s := New(opts...)
		c := &store.Cluster{Name: "opts", Platform: store.PlatformAWS, Version: "4.18.1",
			Profile: "aws-standard", Region: "us-east-1", Owner: "o", Team: "t", CostCenter: "cc", RequestedBy: "r", TTLHours: 1}
		if err := s.Clusters.Create(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		err := s.Outputs.Upsert(t.Context(), &store.ClusterOutputs{ClusterID: c.ID, SAToken: strPtr("sa")})
		if withKeyring && err != nil || !withKeyring && !errors.Is(err, store.ErrNoKeyring) {
			t.Fatalf("keyring %v: Upsert of a token: %v", withKeyring, err)
		}
	}
}
