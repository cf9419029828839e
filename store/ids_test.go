package store

import (
	"strings"
	"sync"
	"testing"
)

func TestNewIDIsPrefixedAndIncreasing(t *testing.T) {
	t.Parallel()
	prev := NewID(PrefixCluster)
	for range 10000 {
		id := NewID(PrefixCluster)
		if !strings.HasPrefix(id, PrefixCluster) || len(id) != len(PrefixCluster)+26 {
			t.Fatalf("malformed id %q", id)
		}
		if id <= prev {
			t.Fatalf("ids not increasing: %q then %q", prev, id)
		}
		prev = id
	}
}

func TestNewIDUniqueUnderConcurrency(t *testing.T) {
	t.Parallel()
	const workers, each = 8, 2000
	var mu sync.Mutex
	seen := make(map[string]bool, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			ids := make([]string, each)
			for i := range ids {
				ids[i] = NewID(PrefixJob)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				if seen[id] {
					t.Errorf("duplicate id %q", id)
				}
				seen[id] = true
			}
		})
	}
	wg.Wait()
}
