//go:build !race

package fleet_test

// raceEnabled: the test binary has no race detector (see race_test.go).
const raceEnabled = false
