package rootfs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
)

// hostLists is where apt keeps the host's package lists; builds reuse them.
const hostLists = "/var/lib/apt/lists"

// debPackage is one package of a build's dependency closure.
type debPackage struct {
	Name, Version, Arch string
	File                string // the downloaded .deb
}

func (p debPackage) String() string { return p.Name + "=" + p.Version }

// aptRun is the apt configuration of one build: the host's sources and
// package lists, an EMPTY dpkg status so apt resolves the full dependency
// closure as if installing into an empty root, and private caches so that
// neither the host's dpkg state nor its apt cache is read or written.
type aptRun struct {
	log      *slog.Logger
	cache    string // Dir::Cache: apt's binary caches, kept between builds
	status   string // an empty file standing in for /var/lib/dpkg/status
	archives string // where .debs land; DebCache or a temp dir
}

func (a aptRun) args(sub string, extra ...string) []string {
	args := []string{sub, "-q", "-y", "--no-install-recommends",
		"-o", "Dir::State::status=" + a.status,
		"-o", "Dir::Cache=" + a.cache,
		// Debian's docker images disable both caches (docker-clean); an
		// empty status makes them valid across builds, saving ~1 s per call.
		"-o", "Dir::Cache::srcpkgcache=srcpkgcache.bin",
		"-o", "Dir::Cache::pkgcache=pkgcache.bin",
		"-o", "Dir::Cache::archives=" + a.archives,
		// apt's locks guard the host's dpkg database, which we never
		// touch; Store serialises its own apt runs with an flock.
		"-o", "Debug::NoLocking=1",
	}
	return append(append(args, extra...), "--")
}

func (a aptRun) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("apt-get %s: %w: %s", args[0], err, tail(stderr.String(), 2048))
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(line, "W: ") {
			a.log.Warn("apt-get warning", "msg", strings.TrimPrefix(line, "W: "))
		}
	}
	return out, nil
}

// ensureLists runs apt-get update only if the host has no package lists at
// all (a fresh container image); otherwise the host's lists are used as
// they are, so a build never changes what the host's apt sees.
func ensureLists(ctx context.Context, log *slog.Logger) error {
	lists, _ := filepath.Glob(filepath.Join(hostLists, "*_Packages*"))
	if len(lists) > 0 {
		return nil
	}
	log.Warn("host apt package lists are empty, running apt-get update", "dir", hostLists)
	cmd := exec.CommandContext(ctx, "apt-get", "update", "-q")
	cmd.Env = append(os.Environ(), "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get update: %w: %s", err, tail(string(out), 2048))
	}
	return nil
}

// instRE matches apt-get -s lines such as
// "Inst libc6 (2.36-9+deb12u14 Debian:12.15/oldstable [amd64]) []".
var instRE = regexp.MustCompile(`^Inst (\S+) (?:\[\S+\] )?\((\S+) [^\[]*\[([^\]]+)\]\)`)

// resolve returns the dependency closure of pkgs, sorted by name.
func (a aptRun) resolve(ctx context.Context, pkgs []string) ([]debPackage, error) {
	out, err := a.run(ctx, append(a.args("install", "-s"), pkgs...)...)
	if err != nil {
		return nil, err
	}
	var closure []debPackage
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := instRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		name, _, _ := strings.Cut(m[1], ":")
		closure = append(closure, debPackage{Name: name, Version: m[2], Arch: m[3]})
	}
	if len(closure) == 0 {
		return nil, fmt.Errorf("resolve %v: apt-get -s listed no packages", pkgs)
	}
	slices.SortFunc(closure, func(x, y debPackage) int { return strings.Compare(x.Name, y.Name) })
	return closure, nil
}

// download fetches the closure into a.archives (apt verifies each file
// against the signed index, and reuses valid files already there) and
// records where each .deb is.
func (a aptRun) download(ctx context.Context, pkgs []string, closure []debPackage) error {
	if _, err := a.run(ctx, append(a.args("install", "--download-only"), pkgs...)...); err != nil {
		return err
	}
	for i := range closure {
		p := &closure[i]
		p.File = filepath.Join(a.archives, debFileName(*p))
		if _, err := os.Stat(p.File); err != nil {
			return fmt.Errorf("find %s: %w", p, err)
		}
	}
	return nil
}

// debFileName is apt's name for a downloaded package: name_version_arch.deb
// with apt's QuoteString escaping ("1:1.2" becomes "1%3a1.2").
func debFileName(p debPackage) string {
	return quote(p.Name, "_:") + "_" + quote(p.Version, "_:") + "_" + quote(p.Arch, "_:.") + ".deb"
}

func quote(s, bad string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(bad, c) >= 0 || c == '%' || c <= 0x20 || c >= 0x7f {
			fmt.Fprintf(&b, "%%%02x", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// pkgRE is what Build accepts as a package: a Debian package name with an
// optional :arch and =version. It keeps "-o…" from reaching apt as an option.
var pkgRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?(=[A-Za-z0-9.+~:-]+)?$`)

// extractDeb unpacks the data part of deb into root. No maintainer script
// runs. --keep-directory-symlink makes "./bin/x" land in usr/bin through
// the merged-usr symlink; --no-same-owner --same-permissions give the
// package's modes exactly, owned by us, whatever the umask.
func extractDeb(ctx context.Context, deb, root string) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("extract %s: %w", filepath.Base(deb), err)
	}
	var dpkgErr, tarErr bytes.Buffer
	dpkg := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	dpkg.Stdout, dpkg.Stderr = w, &dpkgErr
	tar := exec.CommandContext(ctx, "tar", "-x", "--keep-directory-symlink",
		"--no-same-owner", "--same-permissions", "-C", root, "-f", "-")
	tar.Stdin, tar.Stderr = r, &tarErr
	if err := dpkg.Start(); err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("extract %s: %w", filepath.Base(deb), err)
	}
	w.Close()
	terr := tar.Run()
	r.Close()
	derr := dpkg.Wait()
	if derr != nil {
		return fmt.Errorf("extract %s: dpkg-deb: %w: %s", filepath.Base(deb), derr, tail(dpkgErr.String(), 1024))
	}
	if terr != nil {
		return fmt.Errorf("extract %s: tar: %w: %s", filepath.Base(deb), terr, tail(tarErr.String(), 1024))
	}
	return nil
}

// lockFile takes an exclusive flock on path (created 0600 if missing).
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// emptyStatus makes sure path is an empty regular file, leaving it (and its
// mtime, which apt's cache validation looks at) alone if it already is.
func emptyStatus(path string) error {
	info, err := os.Lstat(path)
	if err == nil && info.Mode().IsRegular() && info.Size() == 0 {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if err == nil {
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("reset %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return f.Close()
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
