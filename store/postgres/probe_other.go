//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package postgres

// peekEnded cannot peek at a socket on this platform: a connection is
// presumed alive, and a dead one fails its first statement, reported as
// store.ErrUnavailable.
func peekEnded(uintptr) bool { return false }
