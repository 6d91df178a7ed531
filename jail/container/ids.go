package container

import (
	"errors"
	"fmt"
	"sync"
)

// ErrNoIDs means every host uid of the configured range is in use.
var ErrNoIDs = errors.New("no free host uid for a jail")

// idAllocator hands out host uids from [base, base+count) so that no two
// concurrent jails share one: a jail's root maps to a host uid that owns
// nothing on the host and that no other live jail uses, so even a kernel
// bug that leaked a process out of its namespaces would not let it signal,
// ptrace or read the files of another jail.
type idAllocator struct {
	mu    sync.Mutex
	base  uint32
	count uint32
	next  uint32
	used  map[uint32]bool
}

func newIDAllocator(base, count uint32) (*idAllocator, error) {
	if count == 0 || base == 0 || uint64(base)+uint64(count) > 1<<32-2 {
		return nil, fmt.Errorf("invalid host uid range %d+%d", base, count)
	}
	return &idAllocator{base: base, count: count, used: make(map[uint32]bool)}, nil
}

// get returns a uid not in use; rotating through the range keeps a just
// released uid from being reused at once.
func (a *idAllocator) get() (uint32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := uint32(0); i < a.count; i++ {
		id := a.base + (a.next+i)%a.count
		if !a.used[id] {
			a.used[id] = true
			a.next = (a.next + i + 1) % a.count
			return id, nil
		}
	}
	return 0, ErrNoIDs
}

func (a *idAllocator) put(id uint32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.used, id)
}
