//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package postgres

import (
	"errors"
	"syscall"
)

// peekEnded peeks at socket fd without waiting and without consuming
// anything: true when a byte is there or the peer closed it (end of file,
// or an error such as a reset), false when nothing is readable yet.
func peekEnded(fd uintptr) bool {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	switch {
	case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EWOULDBLOCK), errors.Is(err, syscall.EINTR):
		return false
	case err != nil:
		return true
	}
	return n >= 0 // a byte (n == 1) or end of file (n == 0)
}
