package memory_test

import (
	"context"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/keyring"
	"github.com/ocpctl/ocpstore/store/memory"
)

// BenchmarkOutputsUpsertGet writes and reads back the outputs of one of
// 100 clusters per op, with the secret fields in plain text
// (sub-benchmark "plaintext") and sealed ("sealed"), and both alternating
// ("paired", reporting sealed/plaintext). With no database in
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
	op := func(opt store.Option) func(i int) error {
		ctx := context.Background()
		s := memory.New(memory.WithStoreOptions(opt))
		cs := benchClusters(b, s, 100)
		return func(i int) error {
			id := cs[i%len(cs)].ID
			o := &store.ClusterOutputs{ClusterID: id, DashboardToken: &dash, SAToken: &jwt, OCLoginCommand: &oc}
			if err := s.Outputs.Upsert(ctx, o); err != nil {
				return err
			}
			_, err := s.Outputs.Get(ctx, id)
			return err
		}
	}
	plain, sealed := op(store.WithPlaintextSecrets()), op(store.WithKeyring(kr))
	single := func(op func(int) error) func(*testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := op(i); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("plaintext", single(plain))
	b.Run("sealed", single(sealed))
	// paired alternates the two in one loop and reports the ratio of their
	// medians, which a shared machine's load blurs least.
	b.Run("paired", func(b *testing.B) {
		var inSealed, inPlain []time.Duration
		for i := 0; b.Loop(); i++ {
			first, second, dFirst, dSecond := sealed, plain, &inSealed, &inPlain
			if i%2 == 1 {
				first, second, dFirst, dSecond = plain, sealed, &inPlain, &inSealed
			}
			t0 := time.Now()
			if err := first(i); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := second(i); err != nil {
				b.Fatal(err)
			}
			*dFirst = append(*dFirst, t1.Sub(t0))
			*dSecond = append(*dSecond, time.Since(t1))
		}
		slices.Sort(inSealed)
		slices.Sort(inPlain)
		ms, mp := inSealed[len(inSealed)/2], inPlain[len(inPlain)/2]
		b.ReportMetric(float64(ms), "sealed-p50-ns")
		b.ReportMetric(float64(mp), "plaintext-p50-ns")
		b.ReportMetric(float64(ms)/float64(mp), "sealed/plaintext")
	})
}
