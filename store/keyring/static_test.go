package keyring_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/ocpctl/ocpstore/store/keyring"
)

// b64 is the standard base64 encoding of b, as a keyring spec holds it.
func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestParseStatic: the first entry seals, every entry opens, and spaces
// and newlines around entries are ignored.
func TestParseStatic(t *testing.T) {
	ctx := context.Background()
	s1, s2 := newSecret(), newSecret()
	aad := outputs("clu_A", "sa_token")
	old := seal(t, newStatic(t, newKey(t, "k1", s1)), aad, "old")
	kr, err := keyring.ParseStatic(" k2:" + b64(s2) + " ,\n k1 : " + b64(s1) + "\n")
	if err != nil {
		t.Fatalf("ParseStatic: %v", err)
	}
	if p, _ := kr.Primary(ctx); p.ID() != "k2" {
		t.Fatalf("primary is %v, want k2", p)
	}
	if id, _ := keyring.KeyID(seal(t, kr, aad, "new")); id != "k2" {
		t.Errorf("a new value names %q, want k2", id)
	}
	if got, err := keyring.Open(ctx, kr, aad, old); err != nil || got != "old" {
		t.Errorf("Open of a k1 value = %q, %v", got, err)
	}
	if _, err := kr.Key(ctx, "k3"); !errors.Is(err, keyring.ErrKeyNotFound) {
		t.Errorf("Key(k3): %v, want ErrKeyNotFound", err)
	}
	if got := kr.String(); got != "keyring.Static(primary k2; k1 k2)" {
		t.Errorf("String = %q", got)
	}
}

// TestParseStaticRefuses: every malformed spec is refused with
// ErrInvalidArgument, and the error never repeats a secret, not even when
// the key and its ID are swapped.
func TestParseStaticRefuses(t *testing.T) {
	secret := newSecret()
	good := "k1:" + b64(secret)
	for name, spec := range map[string]string{
		"empty":           "",
		"no colon":        "k1" + b64(secret),
		"no secret":       "k1:",
		"no ID":           ":" + b64(secret),
		"swapped":         b64(secret) + ":k1",
		"swapped rawurl":  base64.RawURLEncoding.EncodeToString(secret) + ":k1",
		"bad ID char":     "k 1:" + b64(secret),
		"ID too long":     strings.Repeat("k", keyring.MaxKeyIDLen+1) + ":" + b64(secret),
		"not base64":      "k1:" + b64(secret)[:20] + "!" + b64(secret)[21:],
		"unpadded":        "k1:" + base64.RawStdEncoding.EncodeToString(secret),
		"AES-128 size":    "k1:" + b64(secret[:16]),
		"31 bytes":        "k1:" + b64(secret[:31]),
		"33 bytes":        "k1:" + b64(append(secret[:32:32], 7)),
		"all zero":        "k1:" + b64(make([]byte, 32)),
		"duplicate ID":    good + ",k1:" + b64(newSecret()),
		"trailing comma":  good + ",",
		"empty entry":     good + ",,k2:" + b64(newSecret()),
		"second bad":      good + ",k2:" + b64(secret[:16]),
		"semicolon list":  good + ";k2:" + b64(newSecret()),
		"secret with ws":  "k1:" + b64(secret)[:10] + " " + b64(secret)[10:],
		"ID is hex":       strings.Repeat("ab", 32) + ":" + b64(secret),
		"key ID with '/'": "a/b:" + b64(secret),
	} {
		kr, err := keyring.ParseStatic(spec)
		if !errors.Is(err, keyring.ErrInvalidArgument) || kr != nil {
			t.Errorf("%s: ParseStatic = %v, %v; want ErrInvalidArgument", name, kr, err)
			continue
		}
		requireNoKeyMaterial(t, err.Error(), secret)
	}
}

// TestNewKeyAndNewStaticRefuse: secrets of any size but SecretSize, bad
// IDs, nil and zero keys and duplicate IDs are refused.
func TestNewKeyAndNewStaticRefuse(t *testing.T) {
	for _, size := range []int{0, 1, 16, 24, 31, 33, 64} {
		if k, err := keyring.NewKey("k1", make([]byte, size)); !errors.Is(err, keyring.ErrInvalidArgument) || k != nil {
			t.Errorf("NewKey with %d bytes = %v, %v; want ErrInvalidArgument", size, k, err)
		}
	}
	for _, id := range []string{"", "k:1", "k 1", "ключ", strings.Repeat("k", keyring.MaxKeyIDLen+1), "k\n"} {
		if k, err := keyring.NewKey(id, newSecret()); !errors.Is(err, keyring.ErrInvalidArgument) || k != nil {
			t.Errorf("NewKey(%q) = %v, %v; want ErrInvalidArgument", id, k, err)
		}
	}
	if _, err := keyring.NewKey(strings.Repeat("k", keyring.MaxKeyIDLen), newSecret()); err != nil {
		t.Errorf("NewKey with a %d-character ID: %v", keyring.MaxKeyIDLen, err)
	}
	k1 := newKey(t, "k1", newSecret())
	for name, others := range map[string][]*keyring.Key{
		"nil":       {nil},
		"zero":      {{}},
		"duplicate": {newKey(t, "k1", newSecret())},
	} {
		if kr, err := keyring.NewStatic(k1, others...); !errors.Is(err, keyring.ErrInvalidArgument) || kr != nil {
			t.Errorf("NewStatic with a %s key = %v, %v; want ErrInvalidArgument", name, kr, err)
		}
	}
	if kr, err := keyring.NewStatic(nil); !errors.Is(err, keyring.ErrInvalidArgument) || kr != nil {
		t.Errorf("NewStatic(nil) = %v, %v; want ErrInvalidArgument", kr, err)
	}
}
