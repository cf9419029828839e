package storetest

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Slots of the memory the processes of RunTortureProcesses share.
const (
	slotStamp   = iota // tortureRun.stamp: the logical time of calls and returns
	slotBudget         // tortureRun.budget: worker actions left in the round
	slotPastTTL        // tortureRun.pastTTL
	slotClock          // the sharedClock's microseconds
	sharedSlots
)

// sharedMemory is a file mapped MAP_SHARED by every process of a run, so
// that an atomic operation on one of its int64 slots is an atomic
// operation on the same memory in every process: one logical clock for
// the calls and returns of all of them (porcupine's Call and Return must
// be comparable across processes), one budget, one ManualClock reading.
type sharedMemory struct {
	mem []byte
}

// newSharedMemory creates (zeroed) or opens the file at path and maps it.
func newSharedMemory(path string, create bool) (*sharedMemory, error) {
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("torture: shared memory: %w", err)
	}
	defer f.Close() // the mapping outlives the descriptor
	size := os.Getpagesize()
	if create {
		if err := f.Truncate(int64(size)); err != nil {
			return nil, fmt.Errorf("torture: shared memory: %w", err)
		}
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("torture: map shared memory: %w", err)
	}
	return &sharedMemory{mem: mem}, nil
}

// slot returns slot i as an atomic.Int64 (the mapping is page-aligned, so
// every slot is 8-byte aligned).
func (m *sharedMemory) slot(i int) *atomic.Int64 {
	return (*atomic.Int64)(unsafe.Pointer(&m.mem[8*i]))
}

// close unmaps the memory; no slot may be used afterwards.
func (m *sharedMemory) close() error { return syscall.Munmap(m.mem) }
