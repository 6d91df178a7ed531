package rootfs

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"slices"
	"strings"
)

type entryKind int

const (
	kindNone entryKind = iota // dropped by Strip
	kindFile
	kindDir
	kindSymlink
	kindHardlink
	kindChar
	kindBlock
	kindFifo
	kindSocket
	kindOther
)

var kindNames = map[entryKind]string{
	kindChar: "device node (char)", kindBlock: "device node (block)",
	kindFifo: "fifo", kindSocket: "socket",
}

// entry is one member of an import source, tar header or directory entry.
type entry struct {
	name string // as the source spells it
	kind entryKind
	perm uint32 // low 12 mode bits
	size int64
	link string                        // symlink target or hardlink target name
	open func() (io.ReadCloser, error) // content of a kindFile
	desc string                        // what a kindOther is
}

// extractor writes entries into a new tree, refusing (and listing in ce)
// anything a jail must not get. Every write goes through os.Root, so no
// name or symlink in the source can make it touch anything outside the
// tree; on top of that it refuses names that pass through a symlink it
// created, so entries land exactly where their names say.
type extractor struct {
	r     *os.Root
	log   *slog.Logger
	strip bool
	ce    *CheckError
	kinds map[string]entryKind // every name created so far
	dirs  map[string]uint32    // final modes of directories, applied last
}

func newExtractor(r *os.Root, log *slog.Logger, strip bool, source string) *extractor {
	return &extractor{r: r, log: log, strip: strip, ce: &CheckError{Source: source},
		kinds: map[string]entryKind{}, dirs: map[string]uint32{}}
}

// cleanName turns an archive name into a clean relative path ("." for the
// root itself), or says why it is refused.
func cleanName(name string) (string, string) {
	if strings.HasPrefix(name, "/") {
		return "", "absolute path in archive"
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", "path contains \"..\""
		}
	}
	return path.Clean(name), ""
}

// add places one entry. It returns an error only when the tree cannot be
// written; refusals are collected in x.ce and the entry is skipped.
func (x *extractor) add(e entry) error {
	name, why := cleanName(e.name)
	if why != "" {
		x.ce.add(e.name, "%s", why)
		return nil
	}
	if name == "." {
		if e.kind != kindDir {
			x.ce.add("/", "root entry is not a directory")
		}
		return nil // the store fixes the root's mode
	}
	shown := "/" + name
	if why := x.refuse(name, &e); why != "" {
		x.ce.add(shown, "%s", why)
		return nil
	}
	if e.kind == kindNone {
		return nil // stripped
	}
	if old, ok := x.kinds[name]; ok {
		if old == kindDir && e.kind == kindDir {
			x.dirs[name] = e.perm
			return nil
		}
		if old == kindDir || e.kind == kindDir {
			x.ce.add(shown, "duplicate entry changes a directory into something else")
			return nil
		}
		// A later member replaces an earlier one, as tar does.
		if err := x.r.Remove(name); err != nil {
			return fmt.Errorf("replace %s: %w", shown, err)
		}
		delete(x.kinds, name)
	}
	if err := x.mkdirAll(path.Dir(name)); err != nil {
		return err
	}
	if err := x.create(name, e); err != nil {
		return fmt.Errorf("create %s: %w", shown, err)
	}
	return nil
}

// refuse returns why e must not be extracted at name, or "". With strip it
// clears setuid/setgid bits and turns special files into kindNone instead.
func (x *extractor) refuse(name string, e *entry) string {
	for p := path.Dir(name); p != "."; p = path.Dir(p) {
		switch k, ok := x.kinds[p]; {
		case ok && k == kindSymlink:
			return fmt.Sprintf("path goes through symlink /%s", p)
		case ok && k != kindDir:
			return fmt.Sprintf("parent /%s is not a directory", p)
		}
	}
	switch e.kind {
	case kindChar, kindBlock, kindFifo, kindSocket:
		if !x.strip {
			return kindNames[e.kind]
		}
		x.log.Info("skipped special file", "path", "/"+name, "type", kindNames[e.kind])
		e.kind = kindNone
		return ""
	case kindOther:
		return "unsupported entry type " + e.desc
	case kindSymlink:
		if escapes(name, e.link) {
			return fmt.Sprintf("symlink to %q escapes the root", e.link)
		}
	case kindHardlink:
		target, why := cleanName(e.link)
		if why != "" || target == "." {
			return fmt.Sprintf("hardlink to %q points outside the root", e.link)
		}
		if k, ok := x.kinds[target]; !ok || k != kindFile {
			return fmt.Sprintf("hardlink to not-yet-seen name %q", e.link)
		}
		e.link = target
	}
	if e.kind != kindDir && e.perm&0o6000 != 0 {
		if !x.strip {
			return fmt.Sprintf("setuid/setgid file (mode %04o)", e.perm)
		}
		x.log.Info("stripped setuid/setgid", "path", "/"+name, "mode", fmt.Sprintf("%04o", e.perm))
		e.perm &^= 0o6000
	}
	return ""
}

// mkdirAll creates the missing parents of an entry (archives may omit
// them), 0700 for now like every directory, 0755 at the end.
func (x *extractor) mkdirAll(dir string) error {
	if dir == "." {
		return nil
	}
	if _, ok := x.kinds[dir]; ok {
		return nil // refuse made sure it is a directory
	}
	if err := x.mkdirAll(path.Dir(dir)); err != nil {
		return err
	}
	if err := x.r.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("create /%s: %w", dir, err)
	}
	x.kinds[dir], x.dirs[dir] = kindDir, 0o755
	return nil
}

func (x *extractor) create(name string, e entry) error {
	switch e.kind {
	case kindDir:
		// 0700 until finish: an archive may list a read-only directory
		// before its contents.
		if err := x.r.Mkdir(name, 0o700); err != nil {
			return err
		}
		x.dirs[name] = e.perm
	case kindSymlink:
		if err := x.r.Symlink(e.link, name); err != nil {
			return err
		}
	case kindHardlink:
		if err := x.r.Link(e.link, name); err != nil {
			return err
		}
		e.kind = kindFile
	case kindFile:
		if err := x.writeFile(name, e); err != nil {
			return err
		}
	}
	x.kinds[name] = e.kind
	return nil
}

// writeFile copies exactly e.size bytes into a file created with O_EXCL
// (and, by os.Root, O_NOFOLLOW).
func (x *extractor) writeFile(name string, e entry) error {
	src, err := e.open()
	if err != nil {
		return err
	}
	defer src.Close()
	f, err := x.r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.CopyN(f, src, e.size)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err == nil {
		err = f.Chmod(fileMode(normalMode(e.perm, false)))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// finish gives directories their final (normalised) modes, deepest first,
// now that nothing more is written into them.
func (x *extractor) finish() error {
	dirs := make([]string, 0, len(x.dirs))
	for d := range x.dirs {
		dirs = append(dirs, d)
	}
	slices.SortFunc(dirs, func(a, b string) int {
		return cmp.Compare(strings.Count(b, "/"), strings.Count(a, "/"))
	})
	for _, d := range dirs {
		if err := x.r.Chmod(d, fileMode(normalMode(x.dirs[d], true))); err != nil {
			return fmt.Errorf("chmod /%s: %w", d, err)
		}
	}
	return nil
}
