package rootfs

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pythonNodes is a docker-export-like tree without the jail's additions:
// they are Import's job.
// As root it includes a file its owner cannot read, which must stay
// unreadable (a store not running as root could not digest it).
func pythonNodes() []node {
	nodes := []node{
		dir("usr", 0o755), dir("usr/local", 0o755), dir("usr/local/bin", 0o755), dir("usr/lib", 0o755),
		file("usr/local/bin/python3.12", 0o700, "#!python\n"),
		link("usr/local/bin/python3", "python3.12"),
		file("usr/lib/os.py", 0o600, "import sys\n"),
		dir("var", 0o755), dir("var/tmp", 0o1777),
	}
	if os.Geteuid() == 0 {
		nodes = append(nodes, file("usr/lib/private", 0o000, "secret"))
	}
	return nodes
}

func TestImportTarball(t *testing.T) {
	tests := []struct {
		name  string
		nodes []node
		gz    bool
		file  string // archive file name: content, not the extension, decides
		want  []string
	}{
		{"plain tar", pythonNodes(), false, "x.tar", nil},
		{"gzip named .tar", pythonNodes(), true, "x.tar", nil},
		{"plain named .tgz", pythonNodes(), false, "x.tgz", nil},
		{"gzip .tar.gz", pythonNodes(), true, "x.tar.gz", nil},
		{"dot-dot entry", append(pythonNodes(), file("../escape", 0o644, "x")), false, "x.tar",
			[]string{`../escape: path contains ".."`}},
		{"dot-dot inside entry", append(pythonNodes(), file("usr/../../escape", 0o644, "x")), false, "x.tar",
			[]string{`usr/../../escape: path contains ".."`}},
		{"absolute entry", append(pythonNodes(), file("/etc/cron.d/x", 0o644, "x")), false, "x.tar",
			[]string{"/etc/cron.d/x: absolute path in archive"}},
		{"hardlink outside", append(pythonNodes(), node{"usr/lib/shadow", 'h', 0o644, "../etc/shadow"}), false, "x.tar",
			[]string{`/usr/lib/shadow: hardlink to "../etc/shadow" points outside the root`}},
		{"hardlink absolute", append(pythonNodes(), node{"usr/lib/shadow", 'h', 0o644, "/etc/shadow"}), false, "x.tar",
			[]string{`/usr/lib/shadow: hardlink to "/etc/shadow" points outside the root`}},
		{"hardlink not yet seen", append(pythonNodes(), node{"usr/lib/a", 'h', 0o644, "usr/lib/b"}, file("usr/lib/b", 0o644, "")),
			false, "x.tar", []string{`/usr/lib/a: hardlink to not-yet-seen name "usr/lib/b"`}},
		{"escaping symlink", append(pythonNodes(), link("usr/lib/e", "../../..")), false, "x.tar",
			[]string{`/usr/lib/e: symlink to "../../.." escapes the root`}},
		{"write through symlink", append(pythonNodes(), link("usr/etc", "/etc"), file("usr/etc/passwd", 0o644, "x")),
			false, "x.tar", []string{"/usr/etc/passwd: path goes through symlink /usr/etc"}},
		{"write through in-root symlink", append(pythonNodes(), link("usr/l", "lib"), file("usr/l/x", 0o644, "x")),
			false, "x.tar", []string{"/usr/l/x: path goes through symlink /usr/l"}},
		{"setuid", append(pythonNodes(), file("usr/local/bin/su", 0o4755, "x")), true, "x.tgz",
			[]string{"/usr/local/bin/su: setuid/setgid file (mode 4755)"}},
		{"device", append(pythonNodes(), node{"dev/null", 'c', 0o666, ""}), false, "x.tar",
			[]string{"/dev/null: device node (char)"}},
		{"fifo", append(pythonNodes(), node{"run/f", 'p', 0o600, ""}), false, "x.tar", []string{"/run/f: fifo"}},
		{"no interpreter", []node{dir("etc", 0o755)}, false, "x.tar", []string{"missing interpreter"}},
		{"all listed", append(pythonNodes(), file("/a", 0o644, ""), file("../b", 0o644, ""), node{"c", 'p', 0o600, ""}),
			false, "x.tar", []string{"/a: absolute", "../b: path contains", "/c: fifo", "3 problem(s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			src := writeTemp(t, tt.file, makeTar(t, tt.nodes, tt.gz))
			img, err := s.Import(context.Background(), "py", Python, src, ImportOptions{})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Import = %v, want success", err)
				}
				checkImported(t, s, img, "/usr/local/bin/python3")
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) || !errors.Is(err, ErrBadTree) {
				t.Fatalf("Import = %v, want *CheckError wrapping ErrBadTree", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Import error\n%v\nwant it to contain %q", err, w)
				}
			}
			assertEmptyStore(t, s)
		})
	}
}

// checkImported asserts what every import adds and normalises.
func checkImported(t *testing.T, s *Store, img Image, interp string) {
	t.Helper()
	if img.Interpreter != interp || img.Language != Python || !strings.HasPrefix(img.Source, "import:") {
		t.Errorf("image = %+v, want interpreter %s, language python, source import:…", img, interp)
	}
	if err := CheckLanguage(img.Path, Python); err != nil {
		t.Errorf("stored tree fails Check: %v", err)
	}
	modes := map[string]os.FileMode{
		"tmp": os.ModeDir | os.ModeSticky | 0o777, "work": os.ModeDir | 0o755,
		"usr/local/bin/python3.12": 0o705, "usr/lib/os.py": 0o604,
		"var/tmp": os.ModeDir | os.ModeSticky | 0o777, "etc/passwd": 0o644,
		"etc/ssl/certs/ca-certificates.crt": 0o644,
	}
	if os.Geteuid() == 0 {
		modes["usr/lib/private"] = 0
	}
	for p, want := range modes {
		info, err := os.Lstat(filepath.Join(img.Path, p))
		if err != nil {
			t.Errorf("stored tree: %v", err)
			continue
		}
		if got := info.Mode(); got != want {
			t.Errorf("mode of /%s = %v, want %v", p, got, want)
		}
	}
	if err := s.Verify(img); err != nil {
		t.Errorf("Verify(fresh import) = %v", err)
	}
}

func assertEmptyStore(t *testing.T, s *Store) {
	t.Helper()
	des, _ := os.ReadDir(s.Dir)
	for _, de := range des {
		if de.Name() != ".lock" {
			t.Errorf("store not clean after a refused import: %s left", de.Name())
		}
	}
}

func TestImportDirectory(t *testing.T) {
	outside := makeTree(t, []node{file("secret", 0o644, "host secret")})
	src := makeTree(t, append(pythonNodes(),
		link("usr/lib/host", outside),               // absolute: copied as a link, not followed
		link("usr/lib/hostfile", outside+"/secret"), // ditto
		node{"usr/lib/hard", 'h', 0, "usr/lib/os.py"},
	))
	before := mustDigest(t, src)
	s := openStore(t)
	img, err := s.Import(context.Background(), "py", Python, src, ImportOptions{})
	if err != nil {
		t.Fatalf("Import(dir) = %v", err)
	}
	checkImported(t, s, img, "/usr/local/bin/python3")
	for _, p := range []string{"usr/lib/host", "usr/lib/hostfile"} {
		info, err := os.Lstat(filepath.Join(img.Path, p))
		if err != nil || info.Mode()&os.ModeSymlink == 0 {
			t.Errorf("/%s: %v, %v; want it copied as a symlink", p, info, err)
		}
	}
	if got, _ := os.Readlink(filepath.Join(img.Path, "usr/lib/host")); got != outside {
		t.Errorf("symlink copied as %q, want %q", got, outside)
	}
	if after := mustDigest(t, src); after != before {
		t.Errorf("Import modified its source: digest %s → %s", before, after)
	}
	// Importing the same content again, from a tarball, gives the same digest.
	img2, err := s.Import(context.Background(), "py", Python,
		writeTemp(t, "x.tar", makeTar(t, append(pythonNodes(),
			link("usr/lib/host", outside), link("usr/lib/hostfile", outside+"/secret"),
			file("usr/lib/hard", 0o600, "import sys\n")), true)), ImportOptions{})
	if err != nil {
		t.Fatalf("Import(tar) = %v", err)
	}
	if img2.Digest != img.Digest {
		t.Errorf("same content from dir and tar: digests %s and %s", img.Digest, img2.Digest)
	}
}

func TestImportDirectoryRefuses(t *testing.T) {
	src := makeTree(t, append(pythonNodes(),
		file("usr/local/bin/su", 0o4755, "x"),
		link("usr/lib/up", "../../../etc"),
		node{"usr/lib/fifo", 'p', 0o600, ""},
	))
	_, err := openStore(t).Import(context.Background(), "py", Python, src, ImportOptions{})
	for _, w := range []string{"/usr/local/bin/su: setuid", "/usr/lib/up: symlink", "/usr/lib/fifo: fifo"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Import = %v, want it to mention %q", err, w)
		}
	}
}

func TestImportStrip(t *testing.T) {
	nodes := append(pythonNodes(),
		file("usr/local/bin/su", 0o4755, "x"),
		file("usr/local/bin/wall", 0o2755, "x"),
		node{"usr/lib/fifo", 'p', 0o600, ""},
	)
	withDevice := append(append([]node{}, nodes...), dir("dev", 0o755), node{"dev/null", 'c', 0o666, ""})
	tests := []struct {
		name string
		src  func(t *testing.T) string
	}{
		{"tar", func(t *testing.T) string { return writeTemp(t, "x.tar", makeTar(t, withDevice, false)) }},
		{"dir", func(t *testing.T) string { return makeTree(t, nodes) }},
		{"dir with device", func(t *testing.T) string {
			requireRoot(t, "mknod")
			return makeTree(t, withDevice)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := openStore(t)
			img, err := s.Import(context.Background(), "py", Python, tt.src(t),
				ImportOptions{Strip: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatalf("Import(Strip) = %v", err)
			}
			for p, want := range map[string]os.FileMode{"usr/local/bin/su": 0o755, "usr/local/bin/wall": 0o755} {
				if info, err := os.Lstat(filepath.Join(img.Path, p)); err != nil || info.Mode() != want {
					t.Errorf("/%s: %v, %v; want mode %v", p, info.Mode(), err, want)
				}
			}
			for _, p := range []string{"usr/lib/fifo", "dev/null"} {
				if _, err := os.Lstat(filepath.Join(img.Path, p)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("/%s still there after Strip (err %v)", p, err)
				}
			}
			for _, w := range []string{"stripped setuid/setgid", "path=/usr/local/bin/su", "path=/usr/local/bin/wall",
				"skipped special file", "path=/usr/lib/fifo"} {
				if !strings.Contains(logs.String(), w) {
					t.Errorf("log does not mention %q:\n%s", w, logs.String())
				}
			}
		})
	}
}

func TestImportBadInput(t *testing.T) {
	tests := []struct {
		name, iname, lang string
		data              []byte
		want              string
	}{
		{"bad name", "../x", Python, makeTar(t, pythonNodes(), false), "bad name"},
		{"bad language", "py", "ruby", makeTar(t, pythonNodes(), false), "unknown language"},
		{"xz", "py", Python, []byte("\xfd7zXZ\x00rest"), "xz-compressed"},
		{"garbage", "py", Python, bytes.Repeat([]byte("garbage!"), 100), "invalid tar header"},
		{"tiny", "py", Python, []byte("hi"), "not a tar archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			_, err := s.Import(context.Background(), tt.iname, tt.lang, writeTemp(t, "x.tar", tt.data), ImportOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Import = %v, want an error containing %q", err, tt.want)
			}
			assertEmptyStore(t, s)
		})
	}
}

func TestImportGuessesLanguage(t *testing.T) {
	tests := []struct {
		name       string
		nodes      []node
		lang, want string
	}{
		{"python", pythonNodes(), "", Python},
		{"node", []node{dir("usr", 0o755), dir("usr/bin", 0o755), file("usr/bin/node", 0o755, "")}, "", Node},
		{"both, python first", append(pythonNodes(), dir("usr/bin", 0o755), file("usr/bin/node", 0o755, "")), "", Python},
		{"both, node asked", append(pythonNodes(), dir("usr/bin", 0o755), file("usr/bin/node", 0o755, "")), Node, Node},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := openStore(t).Import(context.Background(), "x", tt.lang, makeTree(t, tt.nodes), ImportOptions{})
			if err != nil || img.Language != tt.want {
				t.Errorf("Import(language %q) = %q, %v; want %q", tt.lang, img.Language, err, tt.want)
			}
		})
	}
}

func TestImportHiddenNames(t *testing.T) {
	src := writeTemp(t, "x.tar", makeTar(t, append(pythonNodes(),
		file(".hidden", 0o644, "x"), file("./usr/.profile", 0o644, "y"), node{".fifo", 'p', 0o600, ""}), false))
	_, err := openStore(t).Import(context.Background(), "py", Python, src, ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "/.fifo: fifo") {
		t.Errorf("Import = %v, want it to name /.fifo", err)
	}
	img, err := openStore(t).Import(context.Background(), "py", Python, src, ImportOptions{Strip: true})
	if err != nil {
		t.Fatalf("Import(Strip) = %v", err)
	}
	for _, p := range []string{".hidden", "usr/.profile"} {
		if _, err := os.Lstat(filepath.Join(img.Path, p)); err != nil {
			t.Errorf("stored tree: %v", err)
		}
	}
}
