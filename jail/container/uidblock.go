package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Host uids are a host-wide resource: several daemons, `jaild run` next to
// a daemon, and test binaries in parallel all map jail root into the same
// range. A per-process allocator alone would hand the same host uid to two
// processes' jails, and then one jail could signal, ptrace or read the
// other's files should anything leak out of its namespaces. So the range is
// cut into fixed blocks of uidBlockSize uids; a Runner claims whole blocks
// by flock(2) on one lock file per block in a host-wide directory and keeps
// the lock for its lifetime; within its blocks its own allocator hands out
// ids. The kernel drops the lock when the process dies however it dies, so
// a SIGKILLed daemon's blocks are claimable again; but its orphaned jails
// keep their uids until they are reaped, so a claim also checks /proc that
// no live process holds an id of the block. The scan runs once per claim,
// never per jail.

// uidBlockSize is how many host uids one lock file guards. Blocks are
// aligned to multiples of it from uid 0, so every process on the host
// agrees on which file guards which uid whatever range it is configured
// with.
const uidBlockSize = 1024

// DefaultUIDLockDir is where the block lock files live: under /run, a
// tmpfs, so they vanish at boot together with every jail.
const DefaultUIDLockDir = "/run/jaild/uid-blocks"

// uidPool is the set of blocks one Runner holds.
type uidPool struct {
	dir      string
	first, n uint32 // block numbers [first, first+n) are configured
	procDir  string // "/proc"; a fake tree in tests
	mu       sync.Mutex
	held     map[uint32]*os.File // block number → its locked file
}

func newUIDPool(dir string, base, count uint32, procDir string) (*uidPool, error) {
	switch {
	case base == 0 || count == 0 || uint64(base)+uint64(count) > 1<<32-2:
		return nil, fmt.Errorf("invalid host uid range %d+%d", base, count)
	case base%uidBlockSize != 0 || count%uidBlockSize != 0:
		return nil, fmt.Errorf("host uid range %d+%d is not aligned to blocks of %d", base, count, uidBlockSize)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create uid lock directory: %w", err)
	}
	return &uidPool{dir: dir, first: base / uidBlockSize, n: count / uidBlockSize,
		procDir: procDir, held: map[uint32]*os.File{}}, nil
}

func (p *uidPool) lockPath(block uint32) string {
	return filepath.Join(p.dir, strconv.FormatUint(uint64(block)*uidBlockSize, 10))
}

// claim locks one more free block and returns its first uid.
func (p *uidPool) claim() (uint32, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var busy []string
	for b := p.first; b < p.first+p.n; b++ {
		if p.held[b] != nil {
			continue
		}
		f, err := tryLock(p.lockPath(b))
		if err != nil {
			return 0, err
		}
		if f == nil {
			continue // another live Runner holds it
		}
		// Locked: only jails of a dead holder can still use its ids.
		lo := b * uidBlockSize
		pid, err := idsInUse(p.procDir, lo, lo+uidBlockSize)
		if err != nil {
			f.Close()
			return 0, err
		}
		if pid != "" {
			f.Close()
			busy = append(busy, fmt.Sprintf("uids %d+%d used by pid %s", lo, uidBlockSize, pid))
			continue
		}
		p.held[b] = f
		return lo, nil
	}
	if len(busy) > 0 {
		return 0, fmt.Errorf("%w: every block is locked or in use (%s)", ErrNoIDs, strings.Join(busy, "; "))
	}
	return 0, fmt.Errorf("%w: all %d blocks of %d are held by other jaild processes", ErrNoIDs, p.n, uidBlockSize)
}

// owns reports whether this pool holds the block of uid.
func (p *uidPool) owns(uid uint32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held[uid/uidBlockSize] != nil
}

// heldElsewhere reports whether another live process holds uid's block.
func (p *uidPool) heldElsewhere(uid uint32) bool {
	if p.owns(uid) {
		return false
	}
	f, err := tryLock(p.lockPath(uid / uidBlockSize))
	if err != nil {
		return false
	}
	if f == nil {
		return true
	}
	f.Close()
	return false
}

// ranges lists the [lo, hi) uid ranges held.
func (p *uidPool) ranges() [][2]uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out [][2]uint32
	for b := range p.held {
		out = append(out, [2]uint32{b * uidBlockSize, (b + 1) * uidBlockSize})
	}
	return out
}

// close releases every block.
func (p *uidPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for b, f := range p.held {
		f.Close()
		delete(p.held, b)
	}
}

// tryLock opens path (never following a symlink) and takes an exclusive
// flock without waiting; it returns nil, nil when another open file holds
// the lock. The descriptor is close-on-exec, so no jail inherits it.
func tryLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open uid block lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, unix.EWOULDBLOCK):
		f.Close()
		return nil, nil
	}
	f.Close()
	return nil, fmt.Errorf("lock %s: %w", path, err)
}

// idsInUse returns the pid of a process under procDir whose real,
// effective, saved or filesystem uid or gid lies in [lo, hi), or "".
// Processes that exit while being read are skipped.
func idsInUse(procDir string, lo, hi uint32) (string, error) {
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return "", fmt.Errorf("list processes: %w", err)
	}
	for _, e := range entries {
		if _, err := strconv.ParseUint(e.Name(), 10, 32); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procDir, e.Name(), "status"))
		if err != nil {
			continue
		}
		if statusIDsIn(string(b), lo, hi) {
			return e.Name(), nil
		}
	}
	return "", nil
}

// statusIDsIn parses the Uid: and Gid: lines of /proc/PID/status.
func statusIDsIn(status string, lo, hi uint32) bool {
	for _, line := range strings.Split(status, "\n") {
		rest, ok := strings.CutPrefix(line, "Uid:")
		if !ok {
			rest, ok = strings.CutPrefix(line, "Gid:")
		}
		if !ok {
			continue
		}
		for _, f := range strings.Fields(rest) {
			if n, err := strconv.ParseUint(f, 10, 32); err == nil && uint32(n) >= lo && uint32(n) < hi {
				return true
			}
		}
	}
	return false
}
