package rootfs

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzEscapes compares escapes with a component-by-component walk: a
// relative symlink target escapes when following it from the link's
// directory climbs above the root at any point.
func FuzzEscapes(f *testing.F) {
	f.Fuzz(func(t *testing.T, rel, target string) {
		rel = path.Clean(rel)
		if rel == "." || path.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
			return // WalkDir only yields clean paths below the root
		}
		want := false
		if !path.IsAbs(target) {
			depth := 0
			for _, c := range strings.Split(path.Dir(rel)+"/"+target, "/") {
				switch c {
				case "", ".":
				case "..":
					depth--
				default:
					depth++
				}
				if depth < 0 {
					want = true
					break
				}
			}
		}
		if got := escapes(rel, target); got != want {
			t.Fatalf("escapes(%q, %q) = %v, want %v", rel, target, got, want)
		}
	})
}

// FuzzResolveIn builds a small tree with two fuzzed symlinks and checks
// resolveIn against the kernel itself: openat2(RESOLVE_IN_ROOT) resolves a
// path the way a process chrooted at the root would, which is exactly what
// resolveIn promises.
func FuzzResolveIn(f *testing.F) {
	f.Fuzz(func(t *testing.T, link1, link2, query string) {
		if strings.ContainsRune(link1+link2+query, 0) || link1 == "" || link2 == "" || len(query) > 512 {
			return
		}
		root := t.TempDir()
		for _, d := range []string{"usr/bin", "a/b"} {
			if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(root, "usr/bin/python3"), nil, 0o755); err != nil {
			t.Fatal(err)
		}
		if os.Symlink(link1, filepath.Join(root, "a/l1")) != nil || os.Symlink(link2, filepath.Join(root, "l2")) != nil {
			return // e.g. a target longer than the kernel accepts
		}
		q := "/" + strings.TrimLeft(query, "/")
		got, gerr := resolveIn(root, q)
		want, kerr := kernelResolve(t, root, q)
		switch {
		case errors.Is(gerr, unix.ELOOP) || errors.Is(kerr, unix.ELOOP) ||
			errors.Is(kerr, unix.ENAMETOOLONG) || errors.Is(kerr, unix.EXDEV):
			return // hop limits and path length limits differ; neither leaves the root
		case (gerr == nil) != (kerr == nil):
			t.Fatalf("resolveIn(%q) = %q, %v; kernel: %q, %v (l1 -> %q, l2 -> %q)", q, got, gerr, want, kerr, link1, link2)
		case gerr == nil && got != want:
			t.Fatalf("resolveIn(%q) = %q, kernel resolves %q (l1 -> %q, l2 -> %q)", q, got, want, link1, link2)
		}
		if gerr == nil && (!path.IsAbs(got) || path.Clean(got) != got) {
			t.Fatalf("resolveIn(%q) = %q, not a clean absolute path", q, got)
		}
	})
}

func kernelResolve(t *testing.T, root, p string) (string, error) {
	t.Helper()
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rfd)
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT}
	fd, err := unix.Openat2(rfd, p, how)
	// EAGAIN: a ".." raced with a mount or rename somewhere on the host
	// (jails mount all the time); openat2(2) says to retry.
	for i := 0; i < 100 && errors.Is(err, unix.EAGAIN); i++ {
		fd, err = unix.Openat2(rfd, p, how)
	}
	if errors.Is(err, unix.ENOSYS) {
		t.Skip("SKIP: openat2 not available on this kernel")
	}
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	host, err := os.Readlink("/proc/self/fd/" + itoa(fd))
	if err != nil {
		t.Fatal(err)
	}
	realRoot, _ := filepath.EvalSymlinks(root)
	rel, err := filepath.Rel(realRoot, host)
	if err != nil || strings.HasPrefix(rel, "..") {
		t.Fatalf("kernel resolved %q outside the root: %q", p, host)
	}
	return path.Clean("/" + filepath.ToSlash(rel)), nil
}

func itoa(n int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}
