package keyring_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ocpctl/ocpstore/store/keyring"
)

// FuzzOpen feeds Open arbitrary stored values and rows. It must never
// panic, and it may return a value only for a (value, row) pair sealed
// here, and then exactly its plain text. Every refusal returns "" and an
// *Error matching one sentinel (ErrInvalidArgument for an empty row), and
// KeyID agrees with Open on what is sealed.
func FuzzOpen(f *testing.F) {
	ctx := context.Background()
	k1, k2 := newKey(f, "k1", newSecret()), newKey(f, "k2", newSecret())
	kr := newStatic(f, k2, k1)
	type place struct{ stored, row string }
	sealed := map[place]string{}
	for _, c := range []struct {
		kr             keyring.Keyring
		row, plaintext string
		opens          bool // with kr
	}{
		{kr, "clu_A", "sha256~token-of-A", true},
		{kr, "clu_B", "", true},
		{newStatic(f, k1), "clu_A", "oc login --token=sha256~x --server=https://api.example.com:6443", true},
		{newStatic(f, newKey(f, "k3", newSecret())), "clu_A", "sealed with a key kr lacks", false},
		{newStatic(f, newKey(f, "k1", newSecret())), "clu_A", "sealed with another k1", false},
	} {
		v := seal(f, c.kr, outputs(c.row, "sa_token"), c.plaintext)
		if c.opens {
			sealed[place{v, c.row}] = c.plaintext
		}
		f.Add(v, c.row)
		f.Add(v, "clu_B")
		f.Add(v[:len(v)-1], c.row)
		f.Add(strings.Replace(v, "k", "K", 1), c.row)
	}
	for _, seed := range []string{"", "plain token", keyring.Marker, keyring.Marker + "v1:", keyring.Marker + "v1:k1:",
		keyring.Marker + "v1:k1:====", keyring.Marker + "v2:k1:AAAA", keyring.KeyPrefix("k2") + strings.Repeat("A", 48),
		keyring.KeyPrefix("k2") + "\n" + strings.Repeat("A", 48)} {
		f.Add(seed, "clu_A")
	}
	f.Fuzz(func(t *testing.T, stored, row string) {
		got, err := keyring.Open(ctx, kr, outputs(row, "sa_token"), stored)
		_, isSealed := keyring.KeyID(stored)
		if err == nil {
			want, ok := sealed[place{stored, row}]
			if !ok || got != want {
				t.Fatalf("Open(%q, row %q) = %q; that value was not sealed for that row", stored, row, got)
			}
			if !isSealed {
				t.Fatalf("Open accepted %q, which KeyID calls plain text", stored)
			}
			return
		}
		if got != "" {
			t.Fatalf("Open(%q) = %q with error %v", stored, got, err)
		}
		if row == "" {
			if !errors.Is(err, keyring.ErrInvalidArgument) {
				t.Fatalf("Open with an empty row: %v, want ErrInvalidArgument", err)
			}
			return
		}
		if _, why := sentinelOf(err); why != nil {
			t.Fatal(why)
		}
		if errors.Is(err, keyring.ErrNotSealed) == isSealed {
			t.Fatalf("Open(%q): %v, but KeyID says sealed=%v", stored, err, isSealed)
		}
	})
}
