package keyring_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ocpctl/ocpstore/store/keyring"
)

// funcKeyring is a Keyring made of two functions, to play a misbehaving
// or unreachable key service.
type funcKeyring struct {
	primary func() (*keyring.Key, error)
	key     func(id string) (*keyring.Key, error)
}

func (f funcKeyring) Primary(context.Context) (*keyring.Key, error)          { return f.primary() }
func (f funcKeyring) Key(_ context.Context, id string) (*keyring.Key, error) { return f.key(id) }

// errKMSDown plays a key service that cannot be reached.
var errKMSDown = errors.New("kms: connection refused")

// TestKeyringErrorsReachTheCaller: a keyring's own error is passed on
// (errors.Is finds it) with the key ID; a keyring that returns no key, or
// a key with another ID than asked for, is reported as ErrKeyNotFound and
// nothing is sealed or opened.
func TestKeyringErrorsReachTheCaller(t *testing.T) {
	ctx := context.Background()
	k1, k2 := newKey(t, "k1", newSecret()), newKey(t, "k2", newSecret())
	aad := outputs("clu_A", "sa_token")
	sealed := seal(t, newStatic(t, k1), aad, "token")
	for _, c := range []struct {
		name string
		kr   funcKeyring
		want error
	}{
		{"unreachable", funcKeyring{func() (*keyring.Key, error) { return nil, errKMSDown },
			func(string) (*keyring.Key, error) { return nil, errKMSDown }}, errKMSDown},
		{"no key", funcKeyring{func() (*keyring.Key, error) { return nil, nil },
			func(string) (*keyring.Key, error) { return nil, nil }}, keyring.ErrKeyNotFound},
		{"zero key", funcKeyring{func() (*keyring.Key, error) { return &keyring.Key{}, nil },
			func(string) (*keyring.Key, error) { return &keyring.Key{}, nil }}, keyring.ErrKeyNotFound},
		// Primary fails too, so this case checks only Open.
		{"another key", funcKeyring{func() (*keyring.Key, error) { return nil, keyring.ErrKeyNotFound },
			func(string) (*keyring.Key, error) { return k2, nil }}, keyring.ErrKeyNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			if v, err := keyring.Seal(ctx, c.kr, aad, "token"); v != "" || !errors.Is(err, c.want) {
				t.Errorf("Seal = %q, %v; want %v", v, err, c.want)
			}
			v, err := keyring.Open(ctx, c.kr, aad, sealed)
			if v != "" || !errors.Is(err, c.want) {
				t.Fatalf("Open = %q, %v; want %v", v, err, c.want)
			}
			if !strings.Contains(err.Error(), `key "k1"`) {
				t.Errorf("Open error %q does not name key k1", err)
			}
		})
	}
}

// TestConcurrentSealOpen: goroutines sealing and opening through one
// keyring at once (run with -race) all get their own values back, open
// each other's, and never produce the same sealed value twice.
func TestConcurrentSealOpen(t *testing.T) {
	ctx := context.Background()
	old := newKey(t, "k1", newSecret())
	kr := newStatic(t, newKey(t, "k2", newSecret()), old)
	const workers, perWorker = 8, 200
	shared := seal(t, newStatic(t, old), outputs("clu_shared", "sa_token"), "shared token")
	sealed := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				aad := outputs(fmt.Sprintf("clu_%d_%d", w, i), "sa_token")
				v, err := keyring.Seal(ctx, kr, aad, fmt.Sprintf("token %d/%d", w, i))
				if err != nil {
					t.Errorf("Seal: %v", err)
					return
				}
				got, err := keyring.Open(ctx, kr, aad, v)
				if err != nil || got != fmt.Sprintf("token %d/%d", w, i) {
					t.Errorf("Open = %q, %v", got, err)
					return
				}
				if got, err := keyring.Open(ctx, kr, outputs("clu_shared", "sa_token"), shared); err != nil || got != "shared token" {
					t.Errorf("Open of the shared value = %q, %v", got, err)
					return
				}
				sealed[w] = append(sealed[w], v)
			}
		})
	}
	wg.Wait()
	distinct := map[string]bool{}
	for w, values := range sealed {
		for i, v := range values {
			distinct[v] = true
			other := (w + 1) % workers
			if got, err := keyring.Open(ctx, kr, outputs(fmt.Sprintf("clu_%d_%d", w, i), "sa_token"), v); err != nil ||
				got != fmt.Sprintf("token %d/%d", w, i) {
				t.Fatalf("Open after the run = %q, %v", got, err)
			}
			requireOpenFails(t, kr, outputs(fmt.Sprintf("clu_%d_%d", other, i), "sa_token"), v, keyring.ErrMisplaced, "k2")
		}
	}
	if len(distinct) != workers*perWorker {
		t.Fatalf("%d distinct sealed values, want %d", len(distinct), workers*perWorker)
	}
}
