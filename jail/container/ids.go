package container

import (
	"errors"
	"fmt"
	"sync"
)

// ErrNoIDs means every host uid of the configured range is in use.
var ErrNoIDs = errors.New("no free host uid for a jail")

// idAllocator hands out host uids so that no two concurrent jails share
// one: a jail's root maps to a host uid that owns nothing on the host and
// that no other live jail uses, so even a kernel bug that leaked a process
// out of its namespaces would not let it signal, ptrace or read the files
// of another jail. It hands out ids from the ranges it holds and, when all
// are taken, asks grow for another (a uid block claimed host-wide, see
// uidblock.go); grow is nil for a fixed range.
type idAllocator struct {
	mu     sync.Mutex
	ranges [][2]uint32 // [lo, hi)
	count  uint32      // ids in all ranges
	next   uint32      // rotating index into the concatenated ranges
	used   map[uint32]bool
	grow   func() (uint32, error) // first uid of one more block of uidBlockSize
}

func newIDAllocator(base, count uint32) (*idAllocator, error) {
	if count == 0 || base == 0 || uint64(base)+uint64(count) > 1<<32-2 {
		return nil, fmt.Errorf("invalid host uid range %d+%d", base, count)
	}
	return &idAllocator{ranges: [][2]uint32{{base, base + count}}, count: count, used: make(map[uint32]bool)}, nil
}

// newGrowingAllocator starts with one block from grow and claims more as
// jails need them.
func newGrowingAllocator(grow func() (uint32, error)) (*idAllocator, error) {
	lo, err := grow()
	if err != nil {
		return nil, err
	}
	a, err := newIDAllocator(lo, uidBlockSize)
	if err != nil {
		return nil, err
	}
	a.grow = grow
	return a, nil
}

// at maps an index of the concatenated ranges to a uid.
func (a *idAllocator) at(i uint32) uint32 {
	for _, r := range a.ranges {
		if n := r[1] - r[0]; i < n {
			return r[0] + i
		} else {
			i -= n
		}
	}
	panic("idAllocator: index out of range")
}

// get returns a uid not in use; rotating through the range keeps a just
// released uid from being reused at once.
func (a *idAllocator) get() (uint32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := uint32(0); i < a.count; i++ {
		k := (a.next + i) % a.count
		if id := a.at(k); !a.used[id] {
			a.used[id] = true
			a.next = (k + 1) % a.count
			return id, nil
		}
	}
	if a.grow == nil {
		return 0, ErrNoIDs
	}
	lo, err := a.grow()
	if err != nil {
		return 0, err
	}
	a.next = a.count + 1
	a.ranges = append(a.ranges, [2]uint32{lo, lo + uidBlockSize})
	a.count += uidBlockSize
	a.used[lo] = true
	return lo, nil
}

func (a *idAllocator) put(id uint32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.used, id)
}
