package keyring_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ocpctl/ocpstore/store/keyring"
)

// The keyring specs of these examples hold fixed keys so their output is
// stable. A deployment reads its spec from a secret store or the
// environment and makes keys with `head -c 32 /dev/urandom | base64`.
const (
	specK1   = "k1:MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE="
	specK2K1 = "k2:MjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjI=," + specK1
)

// A value is sealed for the place it is stored in (table, row, field) and
// opens only there.
func ExampleSeal() {
	ctx := context.Background()
	kr, err := keyring.ParseStatic(specK1)
	if err != nil {
		fmt.Println(err)
		return
	}
	aad := keyring.AAD{Table: "cluster_outputs", Row: "clu_A", Field: "sa_token"}
	stored, err := keyring.Seal(ctx, kr, aad, "sha256~token")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.HasPrefix(stored, keyring.KeyPrefix("k1")), strings.Contains(stored, "sha256~token"))

	token, err := keyring.Open(ctx, kr, aad, stored)
	fmt.Println(token, err)

	_, err = keyring.Open(ctx, kr, keyring.AAD{Table: "cluster_outputs", Row: "clu_B", Field: "sa_token"}, stored)
	fmt.Println(errors.Is(err, keyring.ErrMisplaced), err)
	// Output:
	// true false
	// sha256~token <nil>
	// true keyring: open with key "k1": value was sealed for another table, row or field
}

// A rotation: k2 becomes the primary while k1 still opens; Reseal moves
// each old value to k2, after which k1 can be removed.
func ExampleReseal() {
	ctx := context.Background()
	aad := keyring.AAD{Table: "cluster_outputs", Row: "clu_A", Field: "dashboard_token"}
	before, _ := keyring.ParseStatic(specK1)
	stored, _ := keyring.Seal(ctx, before, aad, "dashboard-token")

	during, _ := keyring.ParseStatic(specK2K1) // k2 seals, k1 and k2 open
	resealed, changed, err := keyring.Reseal(ctx, during, aad, stored)
	id, _ := keyring.KeyID(resealed)
	fmt.Println(id, changed, err)
	_, changed, _ = keyring.Reseal(ctx, during, aad, resealed)
	fmt.Println("again:", changed)

	after, _ := keyring.ParseStatic(strings.Split(specK2K1, ",")[0]) // k1 removed
	token, err := keyring.Open(ctx, after, aad, resealed)
	fmt.Println(token, err)
	_, err = keyring.Open(ctx, after, aad, stored)
	fmt.Println(err)
	// Output:
	// k2 true <nil>
	// again: false
	// dashboard-token <nil>
	// keyring: open with key "k1": no key with this ID in the keyring
}

// Plain text written before encryption is refused with ErrNotSealed. A
// caller that has decided, by configuration and for a migration window
// only, to trust such rows uses the value as it is and seals it when it
// rotates.
func ExampleOpen_plainText() {
	ctx := context.Background()
	kr, _ := keyring.ParseStatic(specK1)
	aad := keyring.AAD{Table: "cluster_outputs", Row: "clu_A", Field: "oc_login_command"}
	const legacy = "oc login --token=sha256~old --server=https://api.a.example.com:6443"
	acceptPlainText := true // from the application's configuration

	value, err := keyring.Open(ctx, kr, aad, legacy)
	fmt.Println(err)
	if errors.Is(err, keyring.ErrNotSealed) && acceptPlainText {
		value = legacy
		resealed, err := keyring.Seal(ctx, kr, aad, legacy) // what a rotation writes back
		id, sealed := keyring.KeyID(resealed)
		fmt.Println(id, sealed, err)
	}
	fmt.Println(value == legacy)
	// Output:
	// keyring: open: value is not sealed (plain text)
	// k1 true <nil>
	// true
}
