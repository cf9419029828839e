package memory_test

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/keyring"
	"github.com/ocpctl/ocpstore/store/memory"
)

// BenchmarkOutputsUpsertGet writes and reads back the outputs of one of
// 100 clusters per op, with the secret fields in plain text
// (sub-benchmark "plaintext") and sealed ("sealed"). With no database in
// the way, this is the upper bound of encryption's relative cost; see the
// postgres package's benchmark of the same name for the cost in service.
func BenchmarkOutputsUpsertGet(b *testing.B) {
	secret := sha256.Sum256([]byte("bench key"))
	k, err := keyring.NewKey("k1", secret[:])
	if err != nil {
		b.Fatal(err)
	}
	kr, err := keyring.NewStatic(k)
	if err != nil {
		b.Fatal(err)
	}
	jwt := "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ." + strings.Repeat("c2VydmljZWFjY291bnQ", 48) + ".sig"
	dash, oc := strings.Repeat("d", 40), "oc login --token="+jwt+" --server=https://api.c.example.com:6443"
	run := func(opt store.Option) func(b *testing.B) {
		return func(b *testing.B) {
			ctx := context.Background()
			s := memory.New(memory.WithStoreOptions(opt))
			cs := benchClusters(b, s, 100)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				id := cs[i%len(cs)].ID
				o := &store.ClusterOutputs{ClusterID: id, DashboardToken: &dash, SAToken: &jwt, OCLoginCommand: &oc}
				if err := s.Outputs.Upsert(ctx, o); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Outputs.Get(ctx, id); err != nil {
					b.Fatal(err)
				}
				i++
			}
		}
	}
	b.Run("plaintext", run(store.WithPlaintextSecrets()))
	b.Run("sealed", run(store.WithKeyring(kr)))
}
