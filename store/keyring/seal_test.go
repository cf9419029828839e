package keyring_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ocpctl/ocpstore/store/keyring"
)

// TestSealOpenRoundTrip: Open returns what Seal sealed, for plain texts of
// every shape; the sealed value names the primary, holds no plain text,
// has the documented size, and differs every time.
func TestSealOpenRoundTrip(t *testing.T) {
	ctx := context.Background()
	kr := newStatic(t, newKey(t, "k1", newSecret()))
	aad := outputs("clu_A", "sa_token")
	for _, plaintext := range []string{"", "x", "oc login --token=sha256~secret-token --server=https://api.example.com:6443",
		strings.Repeat("eyJhbGciOiJSUzI1NiJ9.", 48), "ünïcødé ✓", "nul\x00byte", "colon:separated:value", "\xff\xfe not utf-8"} {
		sealed := seal(t, kr, aad, plaintext)
		if !strings.HasPrefix(sealed, keyring.KeyPrefix("k1")) {
			t.Errorf("sealed value %q does not start with %q", sealed, keyring.KeyPrefix("k1"))
		}
		if id, ok := keyring.KeyID(sealed); id != "k1" || !ok {
			t.Errorf("KeyID = %q, %v; want k1, true", id, ok)
		}
		if len(plaintext) >= 4 && strings.Contains(sealed, plaintext) {
			t.Errorf("sealed value contains the plain text %q", plaintext)
		}
		// 16 (ocpstore:enc:v1:) + ID + 1 + base64 of 8+12+16 bytes and the plain text.
		if want := 16 + 2 + 1 + (4*(36+len(plaintext))+2)/3; len(sealed) != want {
			t.Errorf("len(sealed) = %d for %d bytes of plain text, want %d", len(sealed), len(plaintext), want)
		}
		if again := seal(t, kr, aad, plaintext); again == sealed {
			t.Errorf("sealing %q twice gave the same value", plaintext)
		}
		got, err := keyring.Open(ctx, kr, aad, sealed)
		if err != nil || got != plaintext {
			t.Errorf("Open = %q, %v; want %q", got, err, plaintext)
		}
	}
}

// TestOpenDetectsEveryByteChange: replacing any single byte of a sealed
// value with any other byte, cutting it at any length, or inserting bytes
// anywhere in its payload is refused with one of the sentinels, and no
// value is returned. The plain texts give payloads of every length modulo
// 3, so the last base64 character carries 0, 2 or 4 unused bits. Every
// region of the value is reached: the marker (ErrNotSealed), the version
// and separators (ErrMalformed), the key ID (ErrKeyNotFound), the payload
// (ErrTampered, and ErrMisplaced, ErrWrongKey for its digest and check).
func TestOpenDetectsEveryByteChange(t *testing.T) {
	ctx := context.Background()
	kr := newStatic(t, newKey(t, "k1", newSecret()))
	aad := outputs("clu_A", "sa_token")
	bySentinel := map[error]int{}
	check := func(mutated, what string) {
		got, err := keyring.Open(ctx, kr, aad, mutated)
		if err == nil || got != "" {
			t.Fatalf("%s: Open = %q, %v; want an error", what, got, err)
		}
		s, why := sentinelOf(err)
		if why != nil {
			t.Fatalf("%s: %v", what, why)
		}
		bySentinel[s]++
	}
	for _, plaintext := range []string{"sha256~token", "sha256~token1", "sha256~token12"} {
		sealed := seal(t, kr, aad, plaintext)
		for i := 0; i < len(sealed); i++ {
			for b := 0; b < 256; b++ {
				if byte(b) != sealed[i] {
					check(sealed[:i]+string([]byte{byte(b)})+sealed[i+1:], fmt.Sprintf("%q: byte %d set to %#x", sealed, i, b))
				}
			}
			check(sealed[:i], fmt.Sprintf("%q cut at %d", sealed, i))
		}
		for _, extra := range []string{"A", "AA", "AAAA", "=", "\n", "\r\n", " "} {
			for i := len(keyring.KeyPrefix("k1")); i <= len(sealed); i++ {
				check(sealed[:i]+extra+sealed[i:], fmt.Sprintf("%q with %q inserted at %d", sealed, extra, i))
			}
		}
	}
	for _, s := range openSentinels {
		if bySentinel[s] == 0 {
			t.Errorf("no change was reported as %v; the test no longer reaches that region", s)
		}
	}
	t.Logf("refusals by sentinel: %v", bySentinel)
}

// TestOpenRefusesOtherRowsAndFields: a value opens only in the table, row
// and field it was sealed for; two values swapped between rows or fields
// both fail with ErrMisplaced naming the key. The AAD's encoding is
// unambiguous: parts that join to the same text still differ.
func TestOpenRefusesOtherRowsAndFields(t *testing.T) {
	kr := newStatic(t, newKey(t, "k1", newSecret()))
	tokenA := seal(t, kr, outputs("clu_A", "sa_token"), "token of A")
	tokenB := seal(t, kr, outputs("clu_B", "sa_token"), "token of B")
	dashA := seal(t, kr, outputs("clu_A", "dashboard_token"), "dashboard of A")
	requireOpenFails(t, kr, outputs("clu_B", "sa_token"), tokenA, keyring.ErrMisplaced, "k1")
	requireOpenFails(t, kr, outputs("clu_A", "sa_token"), tokenB, keyring.ErrMisplaced, "k1")
	requireOpenFails(t, kr, outputs("clu_A", "dashboard_token"), tokenA, keyring.ErrMisplaced, "k1")
	requireOpenFails(t, kr, outputs("clu_A", "sa_token"), dashA, keyring.ErrMisplaced, "k1")
	requireOpenFails(t, kr, keyring.AAD{Table: "clusters", Row: "clu_A", Field: "sa_token"}, tokenA, keyring.ErrMisplaced, "k1")
	requireOpenFails(t, kr, outputs("clu_A ", "sa_token"), tokenA, keyring.ErrMisplaced, "k1")

	joined := seal(t, kr, keyring.AAD{Table: "t", Row: "a:b", Field: "c"}, "v")
	requireOpenFails(t, kr, keyring.AAD{Table: "t", Row: "a", Field: "b:c"}, joined, keyring.ErrMisplaced, "k1")
	requireOpenFails(t, kr, keyring.AAD{Table: "t:a", Row: "b", Field: "c"}, joined, keyring.ErrMisplaced, "k1")
}

// TestOpenKeyErrors: a value opened with a keyring whose key under its ID
// is another key fails with ErrWrongKey, and with a keyring that lacks its
// ID with ErrKeyNotFound; both name the ID and carry no key material.
func TestOpenKeyErrors(t *testing.T) {
	secret, other := newSecret(), newSecret()
	aad := outputs("clu_A", "oc_login_command")
	sealed := seal(t, newStatic(t, newKey(t, "k1", secret)), aad, "oc login --token=x")
	requireOpenFails(t, newStatic(t, newKey(t, "k1", other)), aad, sealed, keyring.ErrWrongKey, "k1", secret, other)
	requireOpenFails(t, newStatic(t, newKey(t, "k2", secret)), aad, sealed, keyring.ErrKeyNotFound, "k1", secret)
}

// TestSeveralKeysOpenOneSeals walks a rotation: k1 seals; k2 becomes the
// primary with k1 kept, so old values still open while new ones name k2;
// Reseal moves old values to k2 and leaves k2 values alone; once k1 is
// removed, only values still naming it fail, with ErrKeyNotFound naming k1.
func TestSeveralKeysOpenOneSeals(t *testing.T) {
	ctx := context.Background()
	k1, k2 := newKey(t, "k1", newSecret()), newKey(t, "k2", newSecret())
	aad := outputs("clu_A", "sa_token")
	old := seal(t, newStatic(t, k1), aad, "old token")

	both := newStatic(t, k2, k1)
	if got, err := keyring.Open(ctx, both, aad, old); err != nil || got != "old token" {
		t.Fatalf("Open of a k1 value with k2 primary = %q, %v", got, err)
	}
	fresh := seal(t, both, aad, "new token")
	if id, _ := keyring.KeyID(fresh); id != "k2" {
		t.Fatalf("new value names %q, want k2", id)
	}
	resealed, changed, err := keyring.Reseal(ctx, both, aad, old)
	if err != nil || !changed || !strings.HasPrefix(resealed, keyring.KeyPrefix("k2")) {
		t.Fatalf("Reseal of a k1 value = %q, %v, %v; want a k2 value, true", resealed, changed, err)
	}
	same, changed, err := keyring.Reseal(ctx, both, aad, fresh)
	if err != nil || changed || same != fresh {
		t.Fatalf("Reseal of a k2 value = %q, %v, %v; want it unchanged", same, changed, err)
	}

	only2 := newStatic(t, k2)
	for value, want := range map[string]string{resealed: "old token", fresh: "new token"} {
		if got, err := keyring.Open(ctx, only2, aad, value); err != nil || got != want {
			t.Errorf("Open without k1 = %q, %v; want %q", got, err, want)
		}
	}
	requireOpenFails(t, only2, aad, old, keyring.ErrKeyNotFound, "k1")
	if _, _, err := keyring.Reseal(ctx, only2, aad, old); !errors.Is(err, keyring.ErrKeyNotFound) {
		t.Errorf("Reseal of a value of a removed key: %v, want ErrKeyNotFound", err)
	}
}

// TestPlainTextIsRefused: a value written before encryption is neither
// opened nor resealed; the error does not repeat it. Reseal refuses a
// tampered value too rather than sealing what it could not open.
func TestPlainTextIsRefused(t *testing.T) {
	ctx := context.Background()
	kr := newStatic(t, newKey(t, "k1", newSecret()))
	aad := outputs("clu_A", "oc_login_command")
	const legacy = "oc login --token=sha256~legacy --server=https://api.evil.example:6443"
	requireOpenFails(t, kr, aad, legacy, keyring.ErrNotSealed, "")
	_, err := keyring.Open(ctx, kr, aad, legacy)
	if strings.Contains(err.Error(), "sha256~legacy") {
		t.Errorf("error %q repeats the plain text", err)
	}
	if v, changed, err := keyring.Reseal(ctx, kr, aad, legacy); !errors.Is(err, keyring.ErrNotSealed) || v != "" || changed {
		t.Errorf("Reseal of plain text = %q, %v, %v; want ErrNotSealed", v, changed, err)
	}
	sealed := seal(t, kr, aad, "oc login --token=x")
	if v, _, err := keyring.Reseal(ctx, kr, aad, flip(sealed, len(sealed)-2)); !errors.Is(err, keyring.ErrTampered) || v != "" {
		t.Errorf("Reseal of a tampered value = %q, %v; want an error", v, err)
	}
	if id, ok := keyring.KeyID(legacy); id != "" || ok {
		t.Errorf("KeyID(plain text) = %q, %v; want \"\", false", id, ok)
	}
}

// TestSealRefusesBadInput: an AAD with an empty part, and a plain text
// that is already sealed, are refused with ErrInvalidArgument.
func TestSealRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	kr := newStatic(t, newKey(t, "k1", newSecret()))
	for _, aad := range []keyring.AAD{{}, {Row: "r", Field: "f"}, {Table: "t", Field: "f"}, {Table: "t", Row: "r"}} {
		if v, err := keyring.Seal(ctx, kr, aad, "x"); !errors.Is(err, keyring.ErrInvalidArgument) || v != "" {
			t.Errorf("Seal with AAD %+v = %q, %v; want ErrInvalidArgument", aad, v, err)
		}
		if v, err := keyring.Open(ctx, kr, aad, "x"); !errors.Is(err, keyring.ErrInvalidArgument) || v != "" {
			t.Errorf("Open with AAD %+v = %q, %v; want ErrInvalidArgument", aad, v, err)
		}
	}
	sealed := seal(t, kr, outputs("clu_A", "sa_token"), "x")
	if v, err := keyring.Seal(ctx, kr, outputs("clu_A", "sa_token"), sealed); !errors.Is(err, keyring.ErrInvalidArgument) || v != "" {
		t.Errorf("Seal of a sealed value = %q, %v; want ErrInvalidArgument", v, err)
	}
}

// TestKeyID reads the key ID of sealed values without a keyring, and
// tells sealed from plain text by Marker alone.
func TestKeyID(t *testing.T) {
	sealed := seal(t, newStatic(t, newKey(t, "2026-07_a.b", newSecret())), outputs("clu_A", "sa_token"), "x")
	for _, c := range []struct {
		stored, id string
		sealed     bool
	}{
		{sealed, "2026-07_a.b", true},
		{"eyJhbGciOiJSUzI1NiJ9.payload.sig", "", false},
		{"", "", false},
		{keyring.Marker, "", true},
		{keyring.Marker + "v9:k1:AAAA", "", true},
		{keyring.Marker + "v1:k 1:AAAA", "", true},
		{keyring.KeyPrefix("k1") + "not base64!", "k1", true},
	} {
		if id, ok := keyring.KeyID(c.stored); id != c.id || ok != c.sealed {
			t.Errorf("KeyID(%q) = %q, %v; want %q, %v", c.stored, id, ok, c.id, c.sealed)
		}
	}
}
