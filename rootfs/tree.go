package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
)

// Minimal account databases: libc, python's getpass/pwd and node's
// os.userInfo() look the jail's uid up here. 65534 is what an unmapped or
// "nobody" uid shows as inside a user namespace.
const (
	passwdFile = "root:x:0:0:root:/root:/usr/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	groupFile = "root:x:0:\nnogroup:x:65534:\n"
)

// addSkeleton adds the mount points, /etc/passwd, /etc/group and an empty
// CA bundle (node warns at every start-up without one). overwrite replaces
// existing account files (Build); imports keep their own. Existing mount
// points that are not directories are left for Check to report.
func addSkeleton(r *os.Root, log *slog.Logger, overwrite bool) error {
	for _, mp := range mountPoints {
		_, err := r.Lstat(mp.name)
		if err == nil {
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("add mount point /%s: %w", mp.name, err)
		}
		if err := r.Mkdir(mp.name, 0o755); err != nil {
			return fmt.Errorf("add mount point /%s: %w", mp.name, err)
		}
		// Mkdir is subject to the umask; the sticky /tmp needs an explicit chmod.
		if err := r.Chmod(mp.name, fileMode(mp.perm)); err != nil {
			return fmt.Errorf("add mount point /%s: %w", mp.name, err)
		}
	}
	if err := r.MkdirAll("etc", 0o755); err != nil {
		return fmt.Errorf("add /etc: %w", err)
	}
	if err := writeFileIn(r, "etc/passwd", passwdFile, overwrite); err != nil {
		return err
	}
	if err := writeFileIn(r, "etc/group", groupFile, overwrite); err != nil {
		return err
	}
	const ca = "etc/ssl/certs/ca-certificates.crt"
	err := r.MkdirAll(path.Dir(ca), 0o755)
	if err == nil {
		err = writeFileIn(r, ca, "", false)
	}
	if err != nil {
		// Cosmetic (a warning from node), so an odd /etc/ssl, say an
		// absolute symlink os.Root will not follow, does not fail the tree.
		log.Warn("cannot add empty CA bundle", "path", "/"+ca, "err", err)
	}
	return nil
}

// writeFileIn creates name in r with O_EXCL (os.Root adds O_NOFOLLOW and
// keeps every component inside the tree), replacing an existing entry only
// if overwrite is set.
func writeFileIn(r *os.Root, name, content string, overwrite bool) error {
	_, err := r.Lstat(name)
	switch {
	case err == nil && !overwrite:
		return nil
	case err == nil:
		if err := r.Remove(name); err != nil {
			return fmt.Errorf("replace /%s: %w", name, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("write /%s: %w", name, err)
	}
	f, err := r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write /%s: %w", name, err)
	}
	_, err = f.WriteString(content)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write /%s: %w", name, err)
	}
	return nil
}

// normalMode is the mode an entry gets in a stored tree:
//   - directories: r-x for everyone, so the jail's unprivileged uid can
//     look things up; no setuid/setgid bits (meaningless on a read-only
//     root); no group/other write unless sticky (/tmp stays 1777);
//   - files: other gets the owner's r and x ("readable where meant to
//     be": a file its owner cannot read stays unreadable); setuid/setgid
//     cleared (Check refuses them; Build and Strip drop them); no
//     group/other write, so other host users cannot change a tree the
//     store handed to jails.
func normalMode(perm uint32, dir bool) uint32 {
	if dir {
		perm = (perm | 0o555) &^ 0o6000
		if perm&0o1000 == 0 {
			perm &^= 0o022
		}
		return perm
	}
	return (perm | (perm&0o500)>>6) &^ 0o6022
}

// normalise gives every entry below r its normalMode and, when running as
// root, root:root ownership. chown(2) clears setuid bits, so it goes first.
func normalise(r *os.Root, log *slog.Logger) error {
	asRoot := os.Geteuid() == 0
	return fs.WalkDir(r.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("normalise /%s: %w", p, err)
		}
		if p == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("normalise /%s: %w", p, err)
		}
		if asRoot {
			if err := r.Lchown(p, 0, 0); err != nil {
				return fmt.Errorf("normalise /%s: %w", p, err)
			}
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			return nil
		}
		old := unixPerm(info)
		want := normalMode(old, d.IsDir())
		if !d.IsDir() && old&0o6000 != 0 {
			log.Info("stripped setuid/setgid", "path", "/"+p, "mode", fmt.Sprintf("%04o", old))
		}
		// want differs from old whenever chown could have changed the mode
		// (it only clears setuid/setgid), so comparing with old suffices.
		if want != old {
			if err := r.Chmod(p, fileMode(want)); err != nil {
				return fmt.Errorf("normalise /%s: %w", p, err)
			}
		}
		return nil
	})
}
