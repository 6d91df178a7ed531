package rootfs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jaild/jaild/jail"
)

// Image describes one stored root filesystem.
type Image struct {
	Name        string        `json:"name"`               // "python", "node", or an imported name ([a-z0-9][a-z0-9._-]{0,63})
	Language    string        `json:"language"`           // "python" or "node"
	Digest      string        `json:"digest"`             // "sha256:<64 hex>"
	Path        string        `json:"-"`                  // absolute path of the tree: <store dir>/<name>@sha256:<hex>
	Interpreter string        `json:"interpreter"`        // absolute path inside the root, e.g. /usr/bin/python3
	SizeBytes   int64         `json:"size_bytes"`         // sum of regular file sizes
	Files       int           `json:"files"`              // number of regular files
	Packages    []string      `json:"packages,omitempty"` // name=version of each .deb used (build only)
	Source      string        `json:"source"`             // "build" or "import:<path>"
	Created     time.Time     `json:"created"`
	BuildTime   time.Duration `json:"build_ns"`
}

// Ref returns "name@sha256:<hex>", the image's unique name in its store.
func (i Image) Ref() string { return i.Name + "@" + i.Digest }

// Rootfs returns what a jail.Spec needs to run on the image.
func (i Image) Rootfs() jail.Rootfs {
	return jail.Rootfs{Name: i.Name, Digest: i.Digest, Path: i.Path}
}

// Compiled on first use, not at package init: a counted repetition such
// as {0,127} compiles to hundreds of instructions (0.15–0.5 ms each here),
// and package init runs in every process of the jaild binary, each jail's
// init (runc re-executes the binary) included.
var (
	nameRE   = lazyRegexp(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	digestRE = lazyRegexp(`^sha256:[0-9a-f]{64}$`)
)

func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}

// parseRef splits "name" or "name@sha256:<hex>"; digest is "" for a name.
func parseRef(ref string) (name, digest string, err error) {
	name, digest, _ = strings.Cut(ref, "@")
	if !nameRE().MatchString(name) {
		return "", "", fmt.Errorf("%w: bad name %q", ErrInvalidRef, name)
	}
	if strings.Contains(ref, "@") && !digestRE().MatchString(digest) {
		return "", "", fmt.Errorf("%w: bad digest %q", ErrInvalidRef, digest)
	}
	return name, digest, nil
}

// Store is a directory of images. Its methods are safe for concurrent use,
// also by several processes: mutations hold an flock on <Dir>/.lock.
type Store struct {
	Dir string // absolute
}

// Open returns the store at dir (normally <state dir>/rootfs), creating the
// directory 0755 if missing: jails reach trees through it as an
// unprivileged uid, so it must be searchable by others.
func Open(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("open store %s: %w", dir, syscall.ENOTDIR)
	}
	// Image paths must be free of symlinks: libcontainer refuses a rootfs
	// path that resolves elsewhere, and a symlinked state dir is common.
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	s := &Store{Dir: abs}
	s.removeStale(staleAfter)
	return s, nil
}

// staleAfter is when work left in the store is surely abandoned: builds
// take seconds, imports of a few hundred MB a minute.
const staleAfter = 6 * time.Hour

// removeStale deletes what crashed builds, imports and removals left
// behind, best effort: work directories, trash, temporary metadata and
// links. Young ones may belong to another process at work.
func (s *Store) removeStale(age time.Duration) {
	des, err := os.ReadDir(s.Dir)
	if err != nil {
		return
	}
	for _, de := range des {
		name := de.Name()
		stale := false
		for _, prefix := range []string{".build-", ".import-", ".trash-", ".meta-", ".link-"} {
			stale = stale || strings.HasPrefix(name, prefix)
		}
		if info, err := de.Info(); stale && err == nil && time.Since(info.ModTime()) > age {
			s.discard(filepath.Join(s.Dir, name))
		}
	}
}

// Lookup finds an image: "python" is the current image of that name,
// "python@sha256:<hex>" exactly that one. It returns an error wrapping
// ErrNotFound if there is none, ErrInvalidRef if ref is malformed.
func (s *Store) Lookup(ref string) (Image, error) {
	name, digest, err := parseRef(ref)
	if err != nil {
		return Image{}, fmt.Errorf("lookup %q: %w", ref, err)
	}
	if digest == "" {
		target, err := os.Readlink(filepath.Join(s.Dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return Image{}, fmt.Errorf("lookup %q: %w", ref, ErrNotFound)
		}
		if err != nil {
			return Image{}, fmt.Errorf("lookup %q: %w", ref, err)
		}
		tname, tdigest, err := parseRef(target)
		if err != nil || tname != name || tdigest == "" {
			return Image{}, fmt.Errorf("lookup %q: name points at %q: %w", ref, target, ErrInvalidRef)
		}
		digest = tdigest
	}
	img, err := s.load(name, digest)
	if err != nil {
		return Image{}, fmt.Errorf("lookup %q: %w", ref, err)
	}
	return img, nil
}

// load reads the metadata of name@digest and checks the tree is there.
func (s *Store) load(name, digest string) (Image, error) {
	ref := name + "@" + digest
	var img Image
	b, err := os.ReadFile(filepath.Join(s.Dir, ref+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return img, fmt.Errorf("read metadata of %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return img, fmt.Errorf("read metadata of %s: %w", ref, err)
	}
	if err := json.Unmarshal(b, &img); err != nil {
		return img, fmt.Errorf("decode metadata of %s: %w", ref, err)
	}
	if img.Name != name || img.Digest != digest {
		return img, fmt.Errorf("decode metadata of %s: it describes %s", ref, img.Ref())
	}
	img.Path = filepath.Join(s.Dir, ref)
	info, err := os.Lstat(img.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return img, fmt.Errorf("stat tree of %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return img, fmt.Errorf("stat tree of %s: %w", ref, err)
	}
	if !info.IsDir() {
		return img, fmt.Errorf("stat tree of %s: %w", ref, syscall.ENOTDIR)
	}
	return img, nil
}

// List returns every complete image, sorted by name and then creation time.
// Metadata that cannot be read is reported in the error, joined, alongside
// the images that could be read; half-published images are skipped.
func (s *Store) List() ([]Image, error) {
	des, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var imgs []Image
	var errs []error
	for _, de := range des {
		ref, ok := strings.CutSuffix(de.Name(), ".json")
		if !ok {
			continue
		}
		name, digest, err := parseRef(ref)
		if err != nil || digest == "" {
			continue
		}
		img, err := s.load(name, digest)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			errs = append(errs, err)
		default:
			imgs = append(imgs, img)
		}
	}
	slices.SortFunc(imgs, func(a, b Image) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return a.Created.Compare(b.Created)
	})
	if err := errors.Join(errs...); err != nil {
		return imgs, fmt.Errorf("list images: %w", err)
	}
	return imgs, nil
}

// Verify recomputes the digest of img's tree and compares it with
// img.Digest; a difference is ErrDigestMismatch.
func (s *Store) Verify(img Image) error {
	p := img.Path
	if p == "" {
		p = filepath.Join(s.Dir, img.Ref())
	}
	got, err := Digest(p)
	if err != nil {
		return fmt.Errorf("verify %s: %w", img.Ref(), err)
	}
	if got != img.Digest {
		return fmt.Errorf("verify %s: tree digests to %s: %w", img.Ref(), got, ErrDigestMismatch)
	}
	return nil
}

// Prober runs an image's interpreter in a real jail (say, a one-line
// script) and returns an error if it does not work. It lives outside this
// package: rootfs does not run jails.
type Prober func(ctx context.Context, img Image) error

// Probe runs p against img and names the image in its error.
func (s *Store) Probe(ctx context.Context, img Image, p Prober) error {
	if err := p(ctx, img); err != nil {
		return fmt.Errorf("probe %s: %w", img.Ref(), err)
	}
	return nil
}

// Remove deletes the image ref names ("name" resolves to the current one)
// and, if the name points at it, the name. The caller must make sure no
// jail is running on it: the tree's files disappear under running jails.
func (s *Store) Remove(ref string) error {
	unlock, err := s.lock()
	if err != nil {
		return fmt.Errorf("remove %q: %w", ref, err)
	}
	defer unlock()
	img, err := s.Lookup(ref)
	if err != nil {
		return fmt.Errorf("remove %q: %w", ref, err)
	}
	link := filepath.Join(s.Dir, img.Name)
	if target, err := os.Readlink(link); err == nil && target == img.Ref() {
		if err := os.Remove(link); err != nil {
			return fmt.Errorf("remove %q: %w", ref, err)
		}
	}
	if err := os.Remove(img.Path + ".json"); err != nil {
		return fmt.Errorf("remove %q: %w", ref, err)
	}
	if err := s.discard(img.Path); err != nil {
		return fmt.Errorf("remove %q: %w", ref, err)
	}
	return nil
}

// lock takes the store's flock, so that two processes publishing or
// removing images do not interleave their renames.
func (s *Store) lock() (func(), error) {
	return lockFile(filepath.Join(s.Dir, ".lock"))
}

func discardLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
