//go:build race

package fleet_test

// raceEnabled: the test binary has the race detector, so the fleet it
// builds gets it too.
const raceEnabled = true
