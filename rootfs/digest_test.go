package rootfs

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustDigest(t *testing.T, root string) string {
	t.Helper()
	d, err := Digest(root)
	if err != nil {
		t.Fatalf("Digest(%s): %v", root, err)
	}
	return d
}

func TestDigestFormat(t *testing.T) {
	d := mustDigest(t, makeTree(t, goodNodes()))
	if !digestRE().MatchString(d) {
		t.Errorf("Digest = %q, want sha256:<64 hex>", d)
	}
	// The empty tree is the sha256 of the header alone.
	if got, want := mustDigest(t, t.TempDir()),
		"sha256:"+sha256Hex(digestHeader); got != want {
		t.Errorf("empty tree digest = %s, want %s", got, want)
	}
}

// TestDigestStable: two trees with the same content made at different
// times, in a different order, digest the same.
func TestDigestStable(t *testing.T) {
	a := makeTree(t, goodNodes())
	// Same content, created in another order: directories first, then
	// everything else backwards.
	var dirs, rest []node
	for _, n := range goodNodes() {
		if n.kind == 'd' {
			dirs = append(dirs, n)
		} else {
			rest = append([]node{n}, rest...)
		}
	}
	b := makeTree(t, append(dirs, rest...))
	if ga, gb := mustDigest(t, a), mustDigest(t, b); ga != gb {
		t.Errorf("same content, digests differ: %s vs %s", ga, gb)
	}
	if ga, ga2 := mustDigest(t, a), mustDigest(t, a); ga != ga2 {
		t.Errorf("same tree, digests differ: %s vs %s", ga, ga2)
	}
}

// TestDigestSensitivity: content, mode and link targets change the digest;
// mtimes and owners do not.
func TestDigestSensitivity(t *testing.T) {
	tests := []struct {
		name    string
		change  func(t *testing.T, root string)
		changes bool
		root    bool // needs root
	}{
		{"file content", func(t *testing.T, r string) { write(t, r, "usr/lib/data.txt", "hellO") }, true, false},
		{"file size", func(t *testing.T, r string) { write(t, r, "usr/lib/data.txt", "hello!") }, true, false},
		{"file mode", func(t *testing.T, r string) { chmod(t, r, "usr/lib/data.txt", 0o640) }, true, false},
		{"setuid bit", func(t *testing.T, r string) { chmod(t, r, "usr/bin/python3.11", 0o4755) }, true, false},
		{"sticky bit", func(t *testing.T, r string) { chmod(t, r, "tmp", 0o777) }, true, false},
		{"dir mode", func(t *testing.T, r string) { chmod(t, r, "usr/lib", 0o750) }, true, false},
		{"symlink target", func(t *testing.T, r string) { relink(t, r, "usr/bin/python3", "./python3.11") }, true, false},
		{"new empty file", func(t *testing.T, r string) { write(t, r, "etc/new", "") }, true, false},
		{"new empty dir", func(t *testing.T, r string) { mkdir(t, r, "etc/new") }, true, false},
		{"file becomes dir", func(t *testing.T, r string) {
			os.Remove(filepath.Join(r, "usr/lib/data.txt"))
			mkdir(t, r, "usr/lib/data.txt")
		}, true, false},
		{"rename", func(t *testing.T, r string) {
			os.Rename(filepath.Join(r, "usr/lib/data.txt"), filepath.Join(r, "usr/lib/data.txu"))
		}, true, false},
		{"mtime", func(t *testing.T, r string) {
			old := time.Unix(1e9, 0)
			for _, p := range []string{"usr/lib/data.txt", "usr/lib", "."} {
				if err := os.Chtimes(filepath.Join(r, p), old, old); err != nil {
					t.Fatal(err)
				}
			}
		}, false, false},
		{"root dir mode", func(t *testing.T, r string) { chmod(t, r, ".", 0o700) }, false, false},
		{"owner", func(t *testing.T, r string) {
			for _, p := range []string{"usr/lib/data.txt", "usr/lib", "usr/bin/python3"} {
				if err := os.Lchown(filepath.Join(r, p), 1234, 5678); err != nil {
					t.Fatal(err)
				}
			}
		}, false, true},
	}
	base := mustDigest(t, makeTree(t, goodNodes()))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root {
				requireRoot(t, "chown")
			}
			r := makeTree(t, goodNodes())
			tt.change(t, r)
			got := mustDigest(t, r)
			if changed := got != base; changed != tt.changes {
				t.Errorf("digest changed = %v, want %v (base %s, got %s)", changed, tt.changes, base, got)
			}
		})
	}
}

// TestDigestNoFollow: a symlink to a directory outside the tree is
// recorded as a link, not walked.
func TestDigestNoFollow(t *testing.T) {
	outside := makeTree(t, []node{file("secret", 0o644, "x")})
	a := makeTree(t, []node{link("out", outside)})
	b := makeTree(t, []node{link("out", outside)})
	write(t, outside, "secret", "changed")
	if ga, gb := mustDigest(t, a), mustDigest(t, b); ga != gb {
		t.Errorf("digest depends on what a symlink points at: %s vs %s", ga, gb)
	}
}

func TestDigestRecord(t *testing.T) {
	root := makeTree(t, []node{dir("d", 0o755), file("d/f", 0o4755, "abc"), link("l", "/x y")})
	entries, err := listTree(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := hashFiles(root, entries); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		var b strings.Builder
		writeRecord(&b, e)
		got = append(got, strings.ReplaceAll(b.String(), "\x00", "|"))
	}
	want := []string{
		"d|0755|d||",
		"f|4755|d/f|3:" + sha256Hex("abc") + "|",
		"l|0777|l|/x y|",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func write(t *testing.T, root, p, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, root, p string, mode uint32) {
	t.Helper()
	if err := os.Chmod(filepath.Join(root, p), fileMode(mode)); err != nil {
		t.Fatal(err)
	}
}

func relink(t *testing.T, root, p, target string) {
	t.Helper()
	os.Remove(filepath.Join(root, p))
	if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, root, p string) {
	t.Helper()
	if err := os.Mkdir(filepath.Join(root, p), 0o755); err != nil {
		t.Fatal(err)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
