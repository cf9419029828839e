//go:build !race

package readme

// raceEnabled reports whether this test binary was built with -race.
const raceEnabled = false
