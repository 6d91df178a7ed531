package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrStateDirBusy means another live daemon serves the state directory.
var ErrStateDirBusy = errors.New("state directory in use by another jaild")

// LockStateDir takes an exclusive flock on <dir>/daemon.lock for the
// daemon's lifetime. Start-up reaps jails, marks in-flight runs aborted and
// prunes history: all of that is only right when no other daemon is alive
// on the same state dir, and a second daemon would otherwise do it to the
// first's live runs before finding out (from the socket) that it is not
// alone. The kernel drops the lock when the process dies, however it dies.
func LockStateDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	p := filepath.Join(dir, "daemon.lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open state dir lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s (another daemon holds %s)", ErrStateDirBusy, dir, p)
		}
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	return func() { f.Close() }, nil
}
