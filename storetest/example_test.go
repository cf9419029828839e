package storetest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
	"github.com/ocpctl/ocpstore/storetest"
)

// Torture hammers a backend's locks from many goroutines over two Stores
// (two handles, as two worker processes would have) and checks every
// cluster's history against a sequential model of the lock contract. A
// backend's tests run it with RunTorture; it is also callable on its own,
// as here on the memory backend, with a fixed seed.
func ExampleTorture() {
	ctx := context.Background()
	clock := store.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := memory.NewBackend(memory.WithClock(clock))
	result, err := storetest.Torture(ctx, store.New(b), store.New(b), clock,
		storetest.TortureConfig{Workers: 4, Clusters: 2, Ops: 400, Seed: 42})
	if err != nil {
		fmt.Println(err) // errors.Is(err, storetest.ErrTortureViolation) when the contract broke
		return
	}
	fmt.Println("rounds:", result.Rounds, "seed:", result.Seed, "operations checked:", result.Ops > 0, "locks granted:", result.Grants > 0)
	// Output:
	// rounds: 1 seed: 42 operations checked: true locks granted: true
}
