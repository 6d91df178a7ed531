package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Languages this package builds and imports images for.
const (
	Python = "python"
	Node   = "node"
)

// interpreters lists, per language, where the interpreter is looked for;
// the first that resolves to an executable file wins. /usr/local comes
// first because a docker python:3.12-slim export has /usr/local/bin/python3
// and may also carry an unrelated Debian /usr/bin/python3.
var interpreters = map[string][]string{
	Python: {"/usr/local/bin/python3", "/usr/bin/python3"},
	Node:   {"/usr/local/bin/node", "/usr/bin/node"},
}

// mountPoints must exist as real directories: with a user namespace the
// jail's init cannot create them on the read-only root, and a symlink there
// would redirect a mount to wherever it points.
var mountPoints = []struct {
	name string
	perm uint32
}{
	{"dev", 0o755}, {"proc", 0o755}, {"sys", 0o755}, {"tmp", 0o1777}, {"work", 0o755},
}

// maxSymlinkHops bounds interpreter resolution, like the kernel's 40.
const maxSymlinkHops = 40

func validLanguage(language string) error {
	if _, ok := interpreters[language]; !ok {
		return fmt.Errorf("unknown language %q (want %q or %q)", language, Python, Node)
	}
	return nil
}

// Check refuses a tree a jail must not run on. It returns a *CheckError
// (unwrapping to ErrBadTree) listing every problem, capped at 50: device
// nodes, fifos, sockets, setuid or setgid files, relative symlinks that
// climb above root, missing or non-directory mount points, and no
// interpreter for any language. Absolute symlink targets are fine: inside
// the jail they resolve against the jail's root.
func Check(root string) error {
	_, err := check(root, "")
	return err
}

// CheckLanguage is Check requiring the interpreter of language.
func CheckLanguage(root, language string) error {
	if err := validLanguage(language); err != nil {
		return fmt.Errorf("check %s: %w", root, err)
	}
	_, err := check(root, language)
	return err
}

// check walks root and returns the interpreter found (an absolute path
// inside root) along with any problems. language "" accepts any language.
func check(root, language string) (string, error) {
	ce := &CheckError{Source: root}
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("check %s: %w", ce.Source, err)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if reason := checkEntry(p, rel, info); reason != "" {
			ce.add("/"+rel, "%s", reason)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("check %s: %w", root, err)
	}
	for _, mp := range mountPoints {
		info, err := os.Lstat(filepath.Join(root, mp.name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			ce.add("/"+mp.name, "missing mount point")
		case err != nil:
			return "", fmt.Errorf("check %s: %w", root, err)
		case !info.IsDir():
			ce.add("/"+mp.name, "mount point is not a directory but a %s", typeName(info.Mode()))
		}
	}
	interp, err := findInterpreter(root, language)
	if err != nil {
		ce.add("/", "%v", err)
	}
	return interp, ce.orNil()
}

// checkEntry returns why one entry is refused, or "".
func checkEntry(p, rel string, info fs.FileInfo) string {
	m := info.Mode()
	switch {
	case m&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return fmt.Sprintf("unreadable symlink: %v", err)
		}
		if escapes(rel, target) {
			return fmt.Sprintf("symlink to %q escapes the root", target)
		}
	case m&fs.ModeDevice != 0:
		return "device node"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m.IsRegular() && unixPerm(info)&0o6000 != 0:
		return fmt.Sprintf("setuid/setgid file (mode %04o)", unixPerm(info))
	case !m.IsRegular() && !m.IsDir():
		return "unsupported file type " + typeName(m)
	}
	return ""
}

// escapes reports whether a symlink at rel (relative to the root) with the
// given target points above the root. Absolute targets never do: the jail
// resolves them against its own root. Relative ones are judged lexically,
// the way a host-side tool that follows them from rel would go.
func escapes(rel, target string) bool {
	if path.IsAbs(target) {
		return false
	}
	j := path.Join(path.Dir(rel), target)
	return j == ".." || strings.HasPrefix(j, "../")
}

// FindInterpreter returns the absolute path inside root of language's
// interpreter (e.g. "/usr/bin/python3"), resolving symlinks inside root the
// way the kernel would inside the jail. The file it resolves to must be a
// regular file executable by an unprivileged uid (o+x).
func FindInterpreter(root, language string) (string, error) {
	if err := validLanguage(language); err != nil {
		return "", fmt.Errorf("find interpreter in %s: %w", root, err)
	}
	return findInterpreter(root, language)
}

// languageOf returns the language whose interpreter list holds interp.
func languageOf(interp string) string {
	for _, l := range []string{Python, Node} {
		if slices.Contains(interpreters[l], interp) {
			return l
		}
	}
	return ""
}

func findInterpreter(root, language string) (string, error) {
	candidates := interpreters[language]
	if language == "" {
		candidates = append(append([]string{}, interpreters[Python]...), interpreters[Node]...)
	}
	var reasons []string
	for _, c := range candidates {
		err := executableIn(root, c)
		if err == nil {
			return c, nil
		}
		reasons = append(reasons, fmt.Sprintf("%s: %v", c, err))
	}
	return "", fmt.Errorf("missing interpreter: %s", strings.Join(reasons, ", "))
}

func executableIn(root, p string) error {
	resolved, err := resolveIn(root, p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errors.New("not found")
		}
		return err
	}
	info, err := os.Lstat(filepath.Join(root, resolved))
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is a %s, not a regular file", resolved, typeName(info.Mode()))
	}
	if unixPerm(info)&0o001 == 0 {
		return fmt.Errorf("%s is not executable by an unprivileged uid (mode %04o)", resolved, unixPerm(info))
	}
	return nil
}

// resolveIn follows p (absolute, inside root) component by component as a
// process chrooted at root would: absolute link targets restart at root and
// ".." stops at root. It never looks outside root: every prefix it lstat()s
// is a directory it has already resolved.
func resolveIn(root, p string) (string, error) {
	todo := strings.Split(p, "/")
	cur, hops := "/", 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		host := filepath.Join(root, filepath.FromSlash(next))
		info, err := os.Lstat(host)
		if err != nil {
			return "", err
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			if hops++; hops > maxSymlinkHops {
				return "", fmt.Errorf("resolve %s: %w", p, syscall.ELOOP)
			}
			target, err := os.Readlink(host)
			if err != nil {
				return "", err
			}
			if path.IsAbs(target) {
				cur = "/"
			}
			todo = append(strings.Split(target, "/"), todo...)
			continue
		}
		if len(todo) > 0 && !info.IsDir() {
			return "", fmt.Errorf("resolve %s: %s: %w", p, next, syscall.ENOTDIR)
		}
		cur = next
	}
	return cur, nil
}

func typeName(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "regular file"
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeCharDevice != 0:
		return "char device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return m.Type().String()
}
