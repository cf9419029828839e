package postgres_test

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/keyring"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// benchSecrets are secret fields of realistic sizes: a service account
// token is a JWT of about 1 KB, the oc login command embeds it.
func benchSecrets(clusterID string) *store.ClusterOutputs {
	jwt := "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ." + strings.Repeat("c2VydmljZWFjY291bnQ", 48) + ".sig"
	return &store.ClusterOutputs{ClusterID: clusterID, APIURL: new("https://api.c.example.com:6443"),
		DashboardToken: new(strings.Repeat("d", 40)), SAToken: &jwt,
		OCLoginCommand: new("oc login --token=" + jwt + " --server=https://api.c.example.com:6443")}
}

// benchKeyring is a static keyring of one key.
func benchKeyring(b *testing.B) keyring.Keyring {
	secret := sha256.Sum256([]byte("bench key"))
	k, err := keyring.NewKey("k1", secret[:])
	if err != nil {
		b.Fatal(err)
	}
	kr, err := keyring.NewStatic(k)
	if err != nil {
		b.Fatal(err)
	}
	return kr
}

// BenchmarkOutputsUpsertGet writes and reads back the outputs of one of
// 100 clusters per op, with the secret fields in plain text
// (sub-benchmark "plaintext", store.WithPlaintextSecrets) and sealed
// ("sealed", store.WithKeyring), each reporting the client's CPU time per
// op next to the wall time; "paired" alternates the two in one loop and
// reports the ratio of their medians (sealed/plaintext), the figure a
// shared, noisy machine blurs least (see comparePaired). The README's figure:
//
//	go test -run '^$' -bench OutputsUpsertGet -count 5 ./store/postgres/ | tee /tmp/seal.txt
//	grep -v /sealed /tmp/seal.txt | sed 's,/plaintext,,' > /tmp/plain.txt
//	grep -v /plaintext /tmp/seal.txt | sed 's,/sealed,,' > /tmp/sealed.txt
//	benchstat /tmp/plain.txt /tmp/sealed.txt; benchstat -filter '/paired' /tmp/seal.txt
func BenchmarkOutputsUpsertGet(b *testing.B) {
	e := newBenchEnv(b)
	ids := e.copyClusters(b, 100, func(int) store.ClusterStatus { return store.ClusterReady })
	op := func(s *store.Store) func(i int) error {
		return func(i int) error {
			id := ids[i%len(ids)]
			if err := s.Outputs.Upsert(e.ctx, benchSecrets(id)); err != nil {
				return err
			}
			_, err := s.Outputs.Get(e.ctx, id)
			return err
		}
	}
	plain := op(postgres.New(e.pool, postgres.WithStoreOptions(store.WithPlaintextSecrets())))
	sealed := op(postgres.New(e.pool, postgres.WithStoreOptions(store.WithKeyring(benchKeyring(b)))))
	comparePaired(b, nil, "sealed", sealed, "plaintext", plain)
}
