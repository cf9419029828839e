package keyring_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ocpctl/ocpstore/store/keyring"
)

// outputs returns the AAD of field in the cluster_outputs row of cluster.
func outputs(cluster, field string) keyring.AAD {
	return keyring.AAD{Table: "cluster_outputs", Row: cluster, Field: field}
}

// newSecret returns SecretSize random bytes.
func newSecret() []byte {
	b := make([]byte, keyring.SecretSize)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return b
}

// newKey returns the key called id made from secret.
func newKey(t testing.TB, id string, secret []byte) *keyring.Key {
	t.Helper()
	k, err := keyring.NewKey(id, secret)
	if err != nil {
		t.Fatalf("NewKey(%q): %v", id, err)
	}
	return k
}

// newStatic returns a Static keyring of the given keys, the first primary.
func newStatic(t testing.TB, keys ...*keyring.Key) *keyring.Static {
	t.Helper()
	s, err := keyring.NewStatic(keys[0], keys[1:]...)
	if err != nil {
		t.Fatalf("NewStatic: %v", err)
	}
	return s
}

// seal seals plaintext for aad or fails t.
func seal(t testing.TB, kr keyring.Keyring, aad keyring.AAD, plaintext string) string {
	t.Helper()
	v, err := keyring.Seal(context.Background(), kr, aad, plaintext)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return v
}

// openSentinels are the sentinels an Open of bad input may match.
var openSentinels = []error{keyring.ErrNotSealed, keyring.ErrMalformed, keyring.ErrKeyNotFound,
	keyring.ErrWrongKey, keyring.ErrMisplaced, keyring.ErrTampered}

// sentinelOf returns the one sentinel of openSentinels err matches, or an
// error saying why there is not exactly one.
func sentinelOf(err error) (error, error) {
	var found []error
	for _, s := range openSentinels {
		if errors.Is(err, s) {
			found = append(found, s)
		}
	}
	var ke *keyring.Error
	if !errors.As(err, &ke) {
		return nil, fmt.Errorf("%v is not a *keyring.Error", err)
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("%v matches %d sentinels, want 1", err, len(found))
	}
	return found[0], nil
}

// requireOpenFails fails t unless Open of stored for aad fails with want,
// returns "", names keyID (when not "") and carries no text of secrets.
func requireOpenFails(t *testing.T, kr keyring.Keyring, aad keyring.AAD, stored string, want error, keyID string, secrets ...[]byte) {
	t.Helper()
	got, err := keyring.Open(context.Background(), kr, aad, stored)
	if err == nil || got != "" {
		t.Fatalf("Open = %q, %v; want %v", got, err, want)
	}
	if s, why := sentinelOf(err); why != nil || s != want {
		t.Fatalf("Open error %v; want it to match %v (%v)", err, want, why)
	}
	if keyID != "" && !strings.Contains(err.Error(), `key "`+keyID+`"`) {
		t.Errorf("error %q does not name key %q", err, keyID)
	}
	requireNoKeyMaterial(t, err.Error(), secrets...)
}

// requireNoKeyMaterial fails t if text holds any 12 consecutive
// characters of any of secrets raw, in hex, in base64 or as fmt prints a
// byte slice.
func requireNoKeyMaterial(t *testing.T, text string, secrets ...[]byte) {
	t.Helper()
	const window = 12
	for _, s := range secrets {
		for _, form := range []string{string(s), hex.EncodeToString(s), strings.ToUpper(hex.EncodeToString(s)),
			base64.StdEncoding.EncodeToString(s), base64.RawURLEncoding.EncodeToString(s), fmt.Sprint(s)} {
			for i := 0; i+window <= len(form); i++ {
				if strings.Contains(text, form[i:i+window]) {
					t.Fatalf("%q contains key material", text)
				}
			}
		}
	}
}

// flip returns s with its byte i replaced by another base64url character.
func flip(s string, i int) string {
	c := byte('A')
	if s[i] == c {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}
