package keyring_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ocpctl/ocpstore/store/keyring"
)

// benchSizes are plain text sizes: a short dashboard token, and a service
// account token (a JWT of about 1 KB), the size the store's Upsert/Get
// benchmarks will seal three times per row.
var benchSizes = []int{64, 1024}

// BenchmarkSeal measures Seal of one value with a Static keyring.
func BenchmarkSeal(b *testing.B) {
	kr := newStatic(b, newKey(b, "k1", newSecret()))
	aad := outputs("clu_0123456789abcdef", "sa_token")
	for _, size := range benchSizes {
		plaintext := strings.Repeat("t", size)
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := keyring.Seal(ctx, kr, aad, plaintext); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpen measures Open of one value with a Static keyring.
func BenchmarkOpen(b *testing.B) {
	kr := newStatic(b, newKey(b, "k1", newSecret()))
	aad := outputs("clu_0123456789abcdef", "sa_token")
	for _, size := range benchSizes {
		stored := seal(b, kr, aad, strings.Repeat("t", size))
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := keyring.Open(ctx, kr, aad, stored); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReseal measures one rotation step (Open with the old key, Seal
// with the new) of a 1 KB value.
func BenchmarkReseal(b *testing.B) {
	old := newKey(b, "k1", newSecret())
	kr := newStatic(b, newKey(b, "k2", newSecret()), old)
	aad := outputs("clu_0123456789abcdef", "sa_token")
	stored := seal(b, newStatic(b, old), aad, strings.Repeat("t", 1024))
	ctx := context.Background()
	b.SetBytes(1024)
	b.ReportAllocs()
	for b.Loop() {
		if _, changed, err := keyring.Reseal(ctx, kr, aad, stored); err != nil || !changed {
			b.Fatal(changed, err)
		}
	}
}
