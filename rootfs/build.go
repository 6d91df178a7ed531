package rootfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// BuildOptions tune Build.
type BuildOptions struct {
	Logger *slog.Logger // nil discards
	// Packages replaces the language's default package set (python:
	// python3, node: nodejs). Entries are Debian package names with an
	// optional :arch and =version; apt adds their dependency closure.
	Packages []string
	// DebCache, if set, is a directory where downloaded .debs are kept and
	// reused (apt checks each against the signed index first). The mirror
	// is not a snapshot: rebuilding the same digest later needs these files
	// or pinned versions.
	DebCache string
}

// defaultPackages per language. python3 (not python3-minimal) because jails
// need the full standard library: json, sqlite3, ssl, asyncio, ctypes…
var defaultPackages = map[string][]string{
	Python: {"python3"},
	Node:   {"nodejs"},
}

// mergedUsr are the symlinks Debian's merged /usr layout has; packages that
// still ship /bin or /lib paths extract through them.
var mergedUsr = []struct{ link, target string }{
	{"bin", "usr/bin"}, {"sbin", "usr/sbin"}, {"lib", "usr/lib"}, {"lib64", "usr/lib64"},
}

// trimmed are removed after extraction: documentation, translations and
// package-manager state that no script in a jail reads.
// /usr/share/doc/*/copyright files stay: they are the licence notices.
var trimmed = []string{
	"usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian",
	"usr/share/linda", "usr/share/bug", "usr/share/doc-base", "usr/share/menu",
	"var/cache", "var/lib/dpkg", "var/lib/apt", "var/log",
	"etc/cron.daily", "etc/logrotate.d",
}

// Build makes the image named language from Debian packages and makes it
// the current one of that name. apt resolves the full dependency closure
// against an empty dpkg status, using the host's package lists (it runs
// apt-get update only if there are none) and private caches; each .deb's
// data is unpacked with dpkg-deb | tar and no maintainer script runs. If
// the result has the digest of a stored image, that image is reused.
// Errors from apt wrap ErrFetch.
func (s *Store) Build(ctx context.Context, language string, opts BuildOptions) (Image, error) {
	log := discardLogger(opts.Logger).With("rootfs", language)
	start := time.Now()
	pkgs, err := buildPackages(language, opts.Packages)
	if err != nil {
		return Image{}, fmt.Errorf("build %s: %w", language, err)
	}
	work, err := os.MkdirTemp(s.Dir, ".build-"+language+"-")
	if err != nil {
		return Image{}, fmt.Errorf("build %s: %w", language, err)
	}
	defer s.discard(work)
	root := filepath.Join(work, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return Image{}, fmt.Errorf("build %s: %w", language, err)
	}
	closure, release, err := s.fetch(ctx, log, pkgs, opts.DebCache)
	if err != nil {
		return Image{}, fmt.Errorf("build %s: %w", language, err)
	}
	fetched := time.Now()
	err = populate(ctx, root, closure)
	release()
	if err != nil {
		return Image{}, fmt.Errorf("build %s: %w", language, err)
	}
	extracted := time.Now()
	interp, err := finishBuild(ctx, log, root, language)
	if err != nil {
		return Image{}, fmt.Errorf("build %s: %w", language, err)
	}
	img := Image{Name: language, Language: language, Interpreter: interp,
		Source: "build", Created: start.UTC()}
	for _, p := range closure {
		img.Packages = append(img.Packages, p.String())
	}
	img, err = s.publish(log, root, img)
	if err != nil {
		return Image{}, fmt.Errorf("build %s: %w", language, err)
	}
	log.Info("built rootfs", "ref", img.Ref(), "packages", len(closure),
		"size_bytes", img.SizeBytes, "files", img.Files,
		"fetch_seconds", fetched.Sub(start).Seconds(),
		"extract_seconds", extracted.Sub(fetched).Seconds(),
		"seconds", time.Since(start).Seconds())
	return img, nil
}

func buildPackages(language string, override []string) ([]string, error) {
	if err := validLanguage(language); err != nil {
		return nil, err
	}
	pkgs := defaultPackages[language]
	if len(override) > 0 {
		pkgs = override
	}
	for _, p := range pkgs {
		if !pkgRE.MatchString(p) {
			return nil, fmt.Errorf("bad package name %q", p)
		}
	}
	return pkgs, nil
}

// fetch resolves and downloads the closure of pkgs; apt's failures wrap
// ErrFetch. The func it returns removes the temporary download directory
// (DebCache unset) or unlocks DebCache, once the .debs are unpacked.
func (s *Store) fetch(ctx context.Context, log *slog.Logger, pkgs []string, debCache string) ([]debPackage, func(), error) {
	aptDir := filepath.Join(s.Dir, ".apt")
	if err := os.MkdirAll(aptDir, 0o755); err != nil {
		return nil, nil, err
	}
	unlock, err := lockFile(filepath.Join(aptDir, "lock"))
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	if err := ensureLists(ctx, log); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	a := aptRun{log: log, cache: aptDir, status: filepath.Join(aptDir, "status")}
	if err := emptyStatus(a.status); err != nil {
		return nil, nil, err
	}
	archives, rel, err := archiveDir(aptDir, debCache)
	if err != nil {
		return nil, nil, err
	}
	a.archives = archives
	closure, err := a.resolve(ctx, pkgs)
	if err == nil {
		err = a.download(ctx, pkgs, closure)
	}
	if err != nil {
		rel()
		return nil, nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	log.Debug("fetched packages", "packages", len(closure), "archives", a.archives)
	return closure, rel, nil
}

// archiveDir returns where apt downloads .debs. The directory is 0755 so
// that apt's download methods can run as the unprivileged _apt user (its
// sandbox) instead of as root.
func archiveDir(aptDir, debCache string) (string, func(), error) {
	if debCache != "" {
		dir, err := filepath.Abs(debCache)
		if err != nil {
			return "", nil, err
		}
		if err := os.MkdirAll(filepath.Join(dir, "partial"), 0o755); err != nil {
			return "", nil, err
		}
		// apt's own archive lock is off (Debug::NoLocking), so share ours.
		unlock, err := lockFile(filepath.Join(dir, ".jaild.lock"))
		return dir, unlock, err
	}
	dir, err := os.MkdirTemp(aptDir, "dl-")
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err == nil {
		err = os.Mkdir(filepath.Join(dir, "partial"), 0o755)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// populate lays out merged /usr and unpacks every package, in name order so
// that the (rare) file shipped by two packages always comes from the same one.
func populate(ctx context.Context, root string, closure []debPackage) error {
	for _, m := range mergedUsr {
		if err := os.MkdirAll(filepath.Join(root, m.target), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(m.target, filepath.Join(root, m.link)); err != nil {
			return err
		}
	}
	for _, p := range closure {
		if err := extractDeb(ctx, p.File, root); err != nil {
			return err
		}
	}
	return nil
}

// finishBuild trims an unpacked tree, adds what a jail needs, byte-compiles
// python's modules, normalises modes and owners and checks the result.
func finishBuild(ctx context.Context, log *slog.Logger, root, language string) (string, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return "", err
	}
	defer r.Close()
	if err := trim(r); err != nil {
		return "", err
	}
	if err := addSkeleton(r, log, true); err != nil {
		return "", err
	}
	if language == Python {
		interp, err := findInterpreter(root, language)
		if err != nil {
			return "", err
		}
		if err := precompilePython(ctx, log, root, interp); err != nil {
			return "", err
		}
	}
	if err := normalise(r, log); err != nil {
		return "", err
	}
	return check(root, language)
}

// trim removes the trimmed paths and everything in /usr/share/doc but the
// copyright files. os.Root keeps a symlink in the tree from steering a
// removal outside it.
func trim(r *os.Root) error {
	for _, p := range trimmed {
		if err := r.RemoveAll(p); err != nil {
			return fmt.Errorf("trim %s: %w", p, err)
		}
	}
	const doc = "usr/share/doc"
	pkgs, err := fs.ReadDir(r.FS(), doc)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("trim %s: %w", doc, err)
	}
	for _, pkg := range pkgs {
		if !pkg.IsDir() {
			continue
		}
		files, err := fs.ReadDir(r.FS(), doc+"/"+pkg.Name())
		if err != nil {
			return fmt.Errorf("trim %s: %w", doc, err)
		}
		for _, f := range files {
			if f.Name() != "copyright" {
				if err := r.RemoveAll(doc + "/" + pkg.Name() + "/" + f.Name()); err != nil {
					return fmt.Errorf("trim %s: %w", doc, err)
				}
			}
		}
	}
	return nil
}
