package keyring_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/ocpctl/ocpstore/store/keyring"
)

// fakeKMS stands in for a key service's Decrypt call (AWS KMS, Google
// Cloud KMS, Vault transit): it counts calls and derives a data key from
// the wrapped one, as only the service could.
type fakeKMS struct{ calls int }

func (k *fakeKMS) Unwrap(_ context.Context, wrapped []byte) ([]byte, error) {
	k.calls++
	sum := sha256.Sum256(wrapped)
	return sum[:], nil
}

// kmsKeyring is a Keyring over wrapped data keys: its configuration holds
// each data key as the key service wrapped it; the first use of a key
// unwraps it and keeps the Key, so the service is asked once per key, not
// once per field of every row.
type kmsKeyring struct {
	kms     *fakeKMS
	primary string
	wrapped map[string][]byte // key ID → wrapped data key

	mu   sync.Mutex // guards keys, and serialises unwrapping
	keys map[string]*keyring.Key
}

func (r *kmsKeyring) Primary(ctx context.Context) (*keyring.Key, error) { return r.Key(ctx, r.primary) }

func (r *kmsKeyring) Key(ctx context.Context, id string) (*keyring.Key, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if k, ok := r.keys[id]; ok {
		return k, nil
	}
	wrapped, ok := r.wrapped[id]
	if !ok {
		return nil, keyring.ErrKeyNotFound
	}
	dataKey, err := r.kms.Unwrap(ctx, wrapped)
	if err != nil {
		return nil, fmt.Errorf("unwrap data key %q: %w", id, err)
	}
	defer clear(dataKey)
	k, err := keyring.NewKey(id, dataKey)
	if err != nil {
		return nil, err
	}
	r.keys[id] = k
	return k, nil
}

// A Keyring over a key service: thirty fields sealed and opened cost one
// call to the service.
func ExampleKeyring() {
	ctx := context.Background()
	kms := &fakeKMS{}
	kr := &kmsKeyring{kms: kms, primary: "2026-07", keys: map[string]*keyring.Key{},
		wrapped: map[string][]byte{"2026-07": []byte("wrapped data key from the configuration")}}
	opened := 0
	for row := range 10 {
		for _, field := range []string{"sa_token", "dashboard_token", "oc_login_command"} {
			aad := keyring.AAD{Table: "cluster_outputs", Row: fmt.Sprintf("clu_%d", row), Field: field}
			stored, err := keyring.Seal(ctx, kr, aad, "secret "+field)
			if err != nil {
				fmt.Println(err)
				return
			}
			if v, err := keyring.Open(ctx, kr, aad, stored); err == nil && v == "secret "+field {
				opened++
			}
		}
	}
	fmt.Println("opened:", opened, "service calls:", kms.calls)
	// Output: opened: 30 service calls: 1
}
