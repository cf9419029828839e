package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/keyring"
)

// The suite's keys: every Store of the suite seals with testKey1 (see
// sealed); the sealing cases rotate to testKey2. Their secrets are fixed
// so a failure can be reproduced; they protect nothing.
var (
	testKey1      = testKey("k1", "storetest key one")
	testKey2      = testKey("k2", "storetest key two")
	testKey1Other = testKey("k1", "another key called k1")
	suiteKeyring  = staticKeyring(testKey1)
)

// testKey returns the key called id made from the SHA-256 of seed.
func testKey(id, seed string) *keyring.Key {
	secret := sha256.Sum256([]byte(seed))
	k, err := keyring.NewKey(id, secret[:])
	if err != nil {
		panic(err)
	}
	return k
}

// staticKeyring returns the keyring sealing with primary, opening with
// every key given.
func staticKeyring(primary *keyring.Key, others ...*keyring.Key) *keyring.Static {
	kr, err := keyring.NewStatic(primary, others...)
	if err != nil {
		panic(err)
	}
	return kr
}

// sealed returns s sealing secret fields with the suite's keyring.
func sealed(s *store.Store) *store.Store { return store.Derive(s, store.WithKeyring(suiteKeyring)) }

// secretOutputs returns outputs of cluster id with every secret field set
// to a value naming tag, and a few plain fields.
func secretOutputs(id, tag string) *store.ClusterOutputs {
	return &store.ClusterOutputs{ClusterID: id, APIURL: ptr("https://api." + tag + ".example.com:6443"),
		DashboardToken: ptr("dash-" + tag), SAToken: ptr("sa-" + tag),
		OCLoginCommand: ptr("oc login --token=sa-" + tag + " --server=https://api." + tag + ".example.com:6443")}
}

// requireSecrets fails unless o's secret fields are those of
// secretOutputs(o.ClusterID, tag).
func requireSecrets(t *testing.T, o *store.ClusterOutputs, tag, what string) {
	t.Helper()
	want := secretOutputs(o.ClusterID, tag)
	requireEqual(t, secretTexts(want), secretTexts(o), what)
}

// secretTexts returns o's secret fields as text, "<nil>" for nil, to compare.
func secretTexts(o *store.ClusterOutputs) [3]string {
	var out [3]string
	for i, p := range [...]*string{o.DashboardToken, o.SAToken, o.OCLoginCommand} {
		out[i] = "<nil>"
		if p != nil {
			out[i] = fmt.Sprintf("%q", *p)
		}
	}
	return out
}

// requireErrNames fails unless err matches target and its message names
// every one of parts (a field, a key ID).
func requireErrNames(t *testing.T, err, target error, what string, parts ...string) {
	t.Helper()
	requireErrIs(t, err, target, what)
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("%s: error %q does not name %s", what, err, p)
		}
	}
}

// testSealing covers the sealing of secret output fields: the round trip,
// the refusals without a keyring, the errors of a missing or wrong key,
// the plain-text window, and rotation, alone and under concurrent reads
// and writes. Ciphertext in storage, and misplaced or tampered values,
// need raw access to storage: each backend tests them itself.
func testSealing(t *testing.T, setup setupFunc) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		o := secretOutputs(c.ID, "rt")
		requireNoErr(t, b.s.Outputs.Upsert(b.ctx, o), "upsert")
		requireSecrets(t, o, "rt", "the caller's outputs after Upsert (still plain text)")
		got, err := b.s2.Outputs.Get(b.ctx, c.ID)
		requireNoErr(t, err, "get")
		requireSecrets(t, got, "rt", "outputs read back")
		empty := &store.ClusterOutputs{ClusterID: c.ID, SAToken: ptr("")}
		requireNoErr(t, b.s.Outputs.Upsert(b.ctx, empty), "upsert an empty token")
		got, err = b.s2.Outputs.Get(b.ctx, c.ID)
		requireNoErr(t, err, "get")
		if got.SAToken == nil || *got.SAToken != "" || got.DashboardToken != nil {
			t.Fatalf("empty token read back as %v, dashboard token %v", got.SAToken, got.DashboardToken)
		}
	})

	t.Run("MarkerRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		for _, plain := range []bool{false, true} {
			s := b.s
			if plain {
				s = store.Derive(b.s, store.WithKeyring(nil), store.WithPlaintextSecrets())
			}
			o := &store.ClusterOutputs{ClusterID: c.ID, SAToken: ptr(keyring.KeyPrefix("k1") + "AAAA")}
			err := s.Outputs.Upsert(b.ctx, o)
			requireErrNames(t, err, store.ErrInvalidArgument, fmt.Sprintf("a token that looks sealed (plain text store %v)", plain), "sa_token")
		}
	})

	t.Run("NoKeyring", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		bare := store.Derive(b.s, store.WithKeyring(nil))
		for _, f := range []func(*store.ClusterOutputs){
			func(o *store.ClusterOutputs) { o.DashboardToken = ptr("d") },
			func(o *store.ClusterOutputs) { o.SAToken = ptr("s") },
			func(o *store.ClusterOutputs) { o.OCLoginCommand = ptr("oc") },
		} {
			o := &store.ClusterOutputs{ClusterID: c.ID}
			f(o)
			requireErrIs(t, bare.Outputs.Upsert(b.ctx, o), store.ErrNoKeyring, "a secret without a keyring")
		}
		_, err := bare.Outputs.Get(b.ctx, c.ID)
		requireErrIs(t, err, store.ErrNotFound, "nothing was written")
		requireNoErr(t, bare.Outputs.Upsert(b.ctx, &store.ClusterOutputs{ClusterID: c.ID, APIURL: ptr("https://a")}),
			"outputs without secrets need no keyring")

		requireNoErr(t, b.s.Outputs.Upsert(b.ctx, secretOutputs(c.ID, "nk")), "upsert sealed")
		_, err = bare.Outputs.Get(b.ctx, c.ID)
		requireErrNames(t, err, store.ErrNoKeyring, "a sealed value read without a keyring", "dashboard_token", `"k1"`)
		requireErrIs(t, err, keyring.ErrKeyNotFound, "a sealed value read without a keyring")
		_, err = store.Derive(bare, store.WithPlaintextSecrets()).Outputs.Get(b.ctx, c.ID)
		requireErrNames(t, err, store.ErrNoKeyring, "a sealed value read by a plain-text store", "dashboard_token", `"k1"`)
	})

	t.Run("WrongOrMissingKey", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		requireNoErr(t, b.s.Outputs.Upsert(b.ctx, &store.ClusterOutputs{ClusterID: c.ID, SAToken: ptr("sa")}), "upsert")
		_, err := store.Derive(b.s2, store.WithKeyring(staticKeyring(testKey2))).Outputs.Get(b.ctx, c.ID)
		requireErrNames(t, err, keyring.ErrKeyNotFound, "a keyring without the value's key", "sa_token", `"k1"`, c.ID)
		_, err = store.Derive(b.s2, store.WithKeyring(staticKeyring(testKey1Other))).Outputs.Get(b.ctx, c.ID)
		requireErrNames(t, err, keyring.ErrWrongKey, "another key with the value's key ID", "sa_token", `"k1"`)
		if strings.Contains(err.Error(), "sa\"") || strings.Contains(err.Error(), keyring.Marker) {
			t.Fatalf("error %q carries a value", err)
		}
	})

	t.Run("PlaintextWindow", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		legacy := store.Derive(b.s, store.WithKeyring(nil), store.WithPlaintextSecrets())
		c1, c2 := b.readyCluster(t), b.readyCluster(t)
		requireNoErr(t, legacy.Outputs.Upsert(b.ctx, secretOutputs(c1.ID, "old")), "upsert in plain text")
		requireNoErr(t, b.s.Outputs.Upsert(b.ctx, secretOutputs(c2.ID, "new")), "upsert sealed")
		got, err := legacy.Outputs.Get(b.ctx, c1.ID)
		requireNoErr(t, err, "plain text read by the plain-text store")
		requireSecrets(t, got, "old", "plain text read back")

		_, err = b.s2.Outputs.Get(b.ctx, c1.ID)
		requireErrNames(t, err, keyring.ErrNotSealed, "plain text read by a sealing store", "dashboard_token", c1.ID)
		window := store.Derive(b.s2, store.WithPlaintextSecrets())
		got, err = window.Outputs.Get(b.ctx, c1.ID)
		requireNoErr(t, err, "plain text read in the window")
		requireSecrets(t, got, "old", "plain text read in the window")

		st, err := b.s.Outputs.KeyStatus(b.ctx, 10)
		requireNoErr(t, err, "key status")
		requireEqual(t, store.SecretsStatus{Rows: 2, Primary: "k1", ByKey: map[string]int{"k1": 3}, Plaintext: 3}, st, "key status")

		res, err := b.s.Outputs.Rotate(b.ctx, 10)
		requireNoErr(t, err, "rotate outside the window")
		requireEqual(t, store.RotationResult{Scanned: 2, Plaintext: 1}, res, "rotation leaving plain text alone")
		res, err = window.Outputs.Rotate(b.ctx, 10)
		requireNoErr(t, err, "rotate in the window")
		requireEqual(t, store.RotationResult{Scanned: 2, Resealed: 1}, res, "rotation sealing plain text")
		got, err = b.s.Outputs.Get(b.ctx, c1.ID)
		requireNoErr(t, err, "sealed legacy row read outside the window")
		requireSecrets(t, got, "old", "sealed legacy row")
		st, err = b.s.Outputs.KeyStatus(b.ctx, 1)
		requireNoErr(t, err, "key status")
		requireEqual(t, store.SecretsStatus{Rows: 2, Primary: "k1", ByKey: map[string]int{"k1": 6}}, st, "key status after sealing")
	})

	t.Run("Rotate", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		const n = 7
		ids := make([]string, n)
		for i := range ids {
			ids[i] = b.readyCluster(t).ID
			o := secretOutputs(ids[i], fmt.Sprint("r", i))
			if i == 3 {
				o.DashboardToken, o.OCLoginCommand = nil, nil
			}
			requireNoErr(t, b.s.Outputs.Upsert(b.ctx, o), "upsert")
		}
		noSecrets := b.readyCluster(t).ID
		requireNoErr(t, b.s.Outputs.Upsert(b.ctx, &store.ClusterOutputs{ClusterID: noSecrets, APIURL: ptr("https://a")}), "upsert")
		before, err := b.s.Outputs.Get(b.ctx, ids[0])
		requireNoErr(t, err, "get")

		b.clock.Advance(1)
		rotating := store.Derive(b.s, store.WithKeyring(staticKeyring(testKey2, testKey1)))
		_, err = rotating.Outputs.Rotate(b.ctx, 0)
		requireErrIs(t, err, store.ErrInvalidArgument, "batch size 0")
		_, err = store.Derive(b.s, store.WithKeyring(nil)).Outputs.Rotate(b.ctx, 10)
		requireErrIs(t, err, store.ErrNoKeyring, "rotate without a keyring")
		res, err := rotating.Outputs.Rotate(b.ctx, 3)
		requireNoErr(t, err, "rotate")
		requireEqual(t, store.RotationResult{Scanned: n + 1, Resealed: n}, res, "rotation")
		res, err = rotating.Outputs.Rotate(b.ctx, 3)
		requireNoErr(t, err, "rotate again")
		requireEqual(t, store.RotationResult{Scanned: n + 1}, res, "second rotation (nothing to do)")
		st, err := rotating.Outputs.KeyStatus(b.ctx, 2)
		requireNoErr(t, err, "key status")
		requireEqual(t, store.SecretsStatus{Rows: n + 1, Primary: "k2", ByKey: map[string]int{"k2": 3*n - 2}}, st, "key status")

		onlyNew := store.Derive(b.s2, store.WithKeyring(staticKeyring(testKey2)))
		for i, id := range ids {
			got, err := onlyNew.Outputs.Get(b.ctx, id)
			requireNoErr(t, err, "get with the new key only")
			want := secretOutputs(id, fmt.Sprint("r", i))
			if i == 3 {
				want.DashboardToken, want.OCLoginCommand = nil, nil
			}
			requireEqual(t, secretTexts(want), secretTexts(got), "secrets after rotation")
			if i == 0 {
				requireEqual(t, before.UpdatedAt, got.UpdatedAt, "UpdatedAt (rotation is not an update)")
			}
		}
		_, err = b.s.Outputs.Get(b.ctx, ids[0])
		requireErrNames(t, err, keyring.ErrKeyNotFound, "the old keyring after rotation", `"k2"`)
	})

	t.Run("RotateUnderLoad", func(t *testing.T) { t.Parallel(); testRotateUnderLoad(t, setup(t)) })
}

// testRotateUnderLoad rotates from k1 to k2 while writers (with k2
// primary, as after step 2 of a rotation) upsert and readers get every
// row: no read fails or sees a value never written, no write is lost
// (each writer owns its clusters and checks, before each write, that its
// previous one is still there), and every row ends under k2.
func testRotateUnderLoad(t *testing.T, b *bundle) {
	const clusters, writers, minRounds = 24, 4, 5
	ids := make([]string, clusters)
	for i := range ids {
		ids[i] = b.readyCluster(t).ID
		requireNoErr(t, b.handle(i).Outputs.Upsert(b.ctx, secretOutputs(ids[i], "v0")), "upsert")
	}
	kr := store.WithKeyring(staticKeyring(testKey2, testKey1))
	s, s2 := store.Derive(b.s, kr), store.Derive(b.s2, kr)
	last := make([]int, clusters) // last version written per cluster; writer w owns clusters i%writers == w
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []error
	)
	fail := func(err error) {
		mu.Lock()
		failures = append(failures, err)
		mu.Unlock()
	}
	done := make(chan struct{})
	stopped := func(round int) bool {
		if round < minRounds {
			return false
		}
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	for w := range writers {
		wg.Go(func() {
			h := s
			if w%2 == 1 {
				h = s2
			}
			for round := 1; !stopped(round); round++ {
				for i := w; i < clusters; i += writers {
					// Only this writer writes cluster i: anything but its
					// last write is a write lost to the rotation.
					o, err := h.Outputs.Get(b.ctx, ids[i])
					if err != nil {
						fail(fmt.Errorf("writer %d: %w", w, err))
						return
					}
					if want := fmt.Sprint("sa-v", last[i]); o.SAToken == nil || *o.SAToken != want {
						fail(fmt.Errorf("writer %d: cluster %s holds %v, want %s (a write was lost)", w, ids[i], o.SAToken, want))
						return
					}
					if err := h.Outputs.Upsert(b.ctx, secretOutputs(ids[i], fmt.Sprint("v", round))); err != nil {
						fail(fmt.Errorf("writer %d: %w", w, err))
						return
					}
					last[i] = round
				}
			}
		})
		wg.Go(func() {
			h := s2
			if w%2 == 1 {
				h = s
			}
			for round := 1; !stopped(round); round++ {
				for i := w; i < clusters; i += writers {
					o, err := h.Outputs.Get(b.ctx, ids[i])
					if err != nil {
						fail(fmt.Errorf("reader %d: %w", w, err))
						return
					}
					if o.SAToken == nil || !strings.HasPrefix(*o.SAToken, "sa-v") || o.OCLoginCommand == nil ||
						!strings.Contains(*o.OCLoginCommand, *o.SAToken+" ") {
						fail(fmt.Errorf("reader %d: cluster %s read %v / %v", w, ids[i], o.SAToken, o.OCLoginCommand))
						return
					}
				}
			}
		})
	}
	var res store.RotationResult
	var rotErr error
	wg.Go(func() {
		defer close(done)
		res, rotErr = s.Outputs.Rotate(b.ctx, 5)
	})
	wg.Wait()
	requireNoErr(t, errors.Join(failures...), "concurrent readers and writers")
	requireNoErr(t, rotErr, "rotate")
	if res.Scanned != clusters || res.Resealed+res.Changed > clusters {
		t.Fatalf("rotation result %+v for %d rows", res, clusters)
	}
	t.Logf("rotation under load: %+v", res)
	for i, id := range ids {
		o, err := s.Outputs.Get(b.ctx, id)
		requireNoErr(t, err, "get after the load")
		requireSecrets(t, o, fmt.Sprint("v", last[i]), "last write of cluster "+id)
	}
	st, err := s.Outputs.KeyStatus(b.ctx, 7)
	requireNoErr(t, err, "key status")
	requireEqual(t, store.SecretsStatus{Rows: clusters, Primary: "k2", ByKey: map[string]int{"k2": 3 * clusters}}, st,
		"every value under the primary after the rotation")
}
