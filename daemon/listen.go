package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// ListenUnix opens the API socket at path safely:
//   - its directory is created 0755 (root-owned) if missing;
//   - a socket already at path is replaced only when no live daemon answers
//     on it, so a second daemon cannot steal a running one's socket;
//   - the socket is bound inside a fresh 0700 directory, given its final
//     mode (0660 with group `group` when that group exists, else 0600) and
//     only then renamed into place, so there is no moment at which a
//     wider-permission socket is reachable.
func ListenUnix(path, group string) (*net.UnixListener, error) {
	dir := filepath.Dir(path)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create socket directory: %w", err)
		}
		// The umask (systemd's UMask=, a root shell's 077) may have
		// narrowed it, locking the socket group out.
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, fmt.Errorf("set socket directory mode: %w", err)
		}
	}
	// Two daemons starting at once must not both find no live socket and
	// both rename theirs into place: the check and the replacement happen
	// under an flock on the directory itself (no lock file to leave behind).
	// A winner already listens when it unlocks, so the loser's check sees it.
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := clearStale(path); err != nil {
		return nil, err
	}
	tmpDir, err := os.MkdirTemp(dir, ".jaild-sock-")
	if err != nil {
		return nil, fmt.Errorf("create private socket directory: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("bind socket: %w", err)
	}
	// We remove the socket ourselves: the listener only knows the temp name.
	ln.SetUnlinkOnClose(false)
	mode, gid := os.FileMode(0o600), -1
	if g, err := user.LookupGroup(group); err == nil {
		if gid, err = strconv.Atoi(g.Gid); err == nil {
			mode = 0o660
		}
	}
	if err := setSocketMode(tmp, mode, gid); err != nil {
		ln.Close()
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		return nil, fmt.Errorf("move socket into place: %w", err)
	}
	return ln, nil
}

func setSocketMode(p string, mode os.FileMode, gid int) error {
	if gid >= 0 {
		if err := os.Lchown(p, 0, gid); err != nil {
			return fmt.Errorf("set socket group: %w", err)
		}
	}
	if err := os.Chmod(p, mode); err != nil {
		return fmt.Errorf("set socket mode: %w", err)
	}
	return nil
}

// clearStale removes a socket left by a dead daemon and refuses to touch
// one a live daemon answers on, or anything that is not a socket.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check socket path: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("socket path %s exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("another daemon is listening on %s", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}

// ListenTCP opens the optional loopback TCP listener; any other address is
// refused.
func ListenTCP(addr string) (net.Listener, error) {
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	// "localhost" is resolved by the system: refuse a hosts file that maps
	// it anywhere but loopback.
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("listen_tcp %q bound %v, which is not a loopback address", addr, ln.Addr())
	}
	return ln, nil
}

// lockDir takes an exclusive flock on directory dir, waiting for it.
func lockDir(dir string) (func(), error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open socket directory: %w", err)
	}
	for {
		err = unix.Flock(int(d.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("lock socket directory: %w", err)
	}
	return func() { d.Close() }, nil
}
