package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/jaild/jaild/jail"
)

// makeWorkDir mounts a size-capped tmpfs at dir owned by the jail's host
// uid, creates work/ and tmp/ in it and writes the run's files into work/.
// Everything is created by the runner (host root) before any jail code runs,
// with O_EXCL|O_NOFOLLOW, so names in the spec cannot redirect a write.
func makeWorkDir(dir string, hostID uint32, size int64, files []jail.File) (err error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("create work dir: %w", err)
	}
	// mode=0700: only the jail's own uid (and root) may enter. The path is
	// no secret (/proc/mounts lists it to every local user), so a wider mode
	// let any host user read a run's code in /work and its /tmp while it ran
	// (found by the hostile suite's host-user check).
	data := fmt.Sprintf("size=%d,nr_inodes=%d,mode=0700,uid=%d,gid=%d", size, inodeCap(size), hostID, hostID)
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, data); err != nil {
		return fmt.Errorf("mount work tmpfs: %w", err)
	}
	defer func() {
		if err != nil {
			_ = removeWorkDir(dir)
		}
	}()
	for _, d := range []struct {
		name string
		mode os.FileMode
	}{{"work", 0o755}, {"tmp", 0o777 | os.ModeSticky}} { // 0o1777 is not sticky in Go's FileMode
		p := filepath.Join(dir, d.name)
		if err := os.Mkdir(p, d.mode); err != nil {
			return fmt.Errorf("create %s: %w", d.name, err)
		}
		if err := os.Chmod(p, d.mode); err != nil { // umask may have cleared bits
			return fmt.Errorf("chmod %s: %w", d.name, err)
		}
		if err := os.Lchown(p, int(hostID), int(hostID)); err != nil {
			return fmt.Errorf("chown %s: %w", d.name, err)
		}
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, "work"), f, hostID); err != nil {
			return err
		}
	}
	return nil
}

// inodeCap bounds inodes so an inode-fill attack is capped too: one inode
// per 4 KiB of allowed size, at least 1024.
func inodeCap(size int64) int64 {
	return max(size/4096, 1024)
}

func writeFile(root string, f jail.File, hostID uint32) error {
	if err := jail.ValidFileName(f.Name); err != nil {
		return err
	}
	// Create parent directories one component at a time, never following a
	// symlink (there are none yet: only the runner has written here).
	dir := root
	if parent := path.Dir(f.Name); parent != "." {
		for _, part := range splitPath(parent) {
			dir = filepath.Join(dir, part)
			if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("create directory for %q: %w", f.Name, err)
			}
			if err := os.Lchown(dir, int(hostID), int(hostID)); err != nil {
				return fmt.Errorf("chown directory for %q: %w", f.Name, err)
			}
		}
	}
	p := filepath.Join(root, filepath.FromSlash(f.Name))
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("create file %q: %w", f.Name, err)
	}
	file := os.NewFile(uintptr(fd), p)
	defer file.Close()
	if _, err := file.Write(f.Content); err != nil {
		return fmt.Errorf("write file %q: %w", f.Name, err)
	}
	if err := file.Chown(int(hostID), int(hostID)); err != nil {
		return fmt.Errorf("chown file %q: %w", f.Name, err)
	}
	return nil
}

func splitPath(p string) []string {
	var parts []string
	for p != "." && p != "/" && p != "" {
		parts = append([]string{path.Base(p)}, parts...)
		p = path.Dir(p)
	}
	return parts
}

// removeWorkDir detaches the tmpfs (freeing its memory) and removes dir.
// It is idempotent so the reaper can call it on half-made state.
func removeWorkDir(dir string) error {
	err := unix.Unmount(dir, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount work tmpfs: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove work dir: %w", err)
	}
	return nil
}
