#!/usr/bin/env bash
# What a consumer of ocpstore pays: builds a minimal service module outside
# the repository that imports store/postgres (DefaultConfig, NewPool, Migrate,
# New) with a replace onto a checkout of ocpstore, and prints
#   - the modules linked into its binary (go version -m) and, for each, the
#     import chain that brings it in (go mod why -vendor -m),
#   - the binary's size, not stripped and stripped (-ldflags=-s -w),
#   - the number of edges of its go mod graph, and the edges that lead to a
#     container or Docker module (testcontainers, docker, moby, containerd).
#
#   scripts/consumer/measure.sh [OCPSTORE_CHECKOUT]   (default: this repository)
#
# Needs the Go module proxy (go mod tidy resolves the consumer's graph).
# Nothing is written into the checkout; the consumer lives in a temporary
# directory removed at exit.
set -euo pipefail
repo=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/go.mod" <<MOD
module example.com/consumer

go 1.26.0

require github.com/ocpctl/ocpstore v0.0.0-00010101000000-000000000000

replace github.com/ocpctl/ocpstore => $repo
MOD
cat >"$work/main.go" <<'GO'
// Command consumer is the smallest service that uses ocpstore on PostgreSQL.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/ocpctl/ocpstore/store/postgres"
)

func main() {
	ctx := context.Background()
	cfg, err := postgres.DefaultConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pool, err := postgres.NewPool(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := postgres.New(pool)
	_, err = s.Clusters.GetByID(ctx, "clu_x")
	fmt.Println(err)
}
GO

cd "$work"
go mod tidy >/dev/null 2>&1 || go mod tidy
go build -trimpath -o consumer .
go build -trimpath -ldflags='-s -w' -o consumer.stripped .

echo "ocpstore checkout: $repo ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout'))"
echo "$(go version)"
echo
mods=$(go version -m consumer | awk '$1 == "dep" {print $2}')
echo "modules linked into the binary: $(echo "$mods" | grep -c .) (main module excluded)"
for m in $mods; do
  # -vendor: the chain through the packages linked, not through the
  # tests of dependencies.
  chain=$(go mod why -vendor -m "$m" | sed 1d | paste -sd'>' | sed 's/>/ > /g')
  printf '  %-45s %s\n' "$m" "$chain"
done
echo
printf 'binary size: %d bytes (%.1f MB) not stripped, %d bytes (%.1f MB) stripped\n' \
  "$(stat -c %s consumer)" "$(echo "$(stat -c %s consumer) / 1048576" | bc -l)" \
  "$(stat -c %s consumer.stripped)" "$(echo "$(stat -c %s consumer.stripped) / 1048576" | bc -l)"
edges=$(go mod graph)
echo "go mod graph edges: $(echo "$edges" | grep -c .)"
docker=$(echo "$edges" | grep -Ei 'testcontainers|docker|moby|containerd' || true)
echo "  of which to or from a container/Docker module: $(echo "$docker" | grep -c . || true)"
echo "  modules in the graph: $(echo "$edges" | tr ' ' '\n' | sed 's/@.*//' | sort -u | grep -c .)"
